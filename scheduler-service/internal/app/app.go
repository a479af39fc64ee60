// Package app is scheduler-service's composition root: it re-enqueues due
// retries, sweeps for lost work, reconciles stored events with the queue and
// enforces retention, and runs the key rotations asked for, until the
// context ends.
package app

import (
	"context"
	"fmt"
	"os"
	"time"

	"convoy/core/ops"
	"convoy/core/queue"
	"convoy/core/service"
	"convoy/scheduler-service/internal/config"
	"convoy/scheduler-service/internal/reconcile"
	"convoy/scheduler-service/internal/retention"
	"convoy/scheduler-service/internal/retry"
	"convoy/scheduler-service/internal/rotation"
	"convoy/scheduler-service/internal/sweep"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Run schedules until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	b, err := service.Connect(ctx, cfg.Common, "scheduler-service", log)
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	st, js, reg := b.Store, b.JS, b.Registry

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.ServeOps(gctx) })

	var (
		cons   jetstream.Consumer
		leases jetstream.KeyValue
	)
	err = b.Prepare(gctx, func(ctx context.Context) error {
		var err error
		if cons, err = retry.EnsureConsumer(ctx, js); err != nil {
			return err
		}
		leases, err = rotation.EnsureBucket(ctx, js, cfg.NATSReplicas)
		return err
	})
	if err != nil && gctx.Err() == nil {
		return err // the store's secrets cannot be read with the configured keys
	}
	if err != nil {
		return g.Wait() // ctx ended before the dependencies answered
	}
	g.Go(func() error {
		return b.KeepPrepared(gctx, func(ctx context.Context) error {
			if _, err := retry.EnsureConsumer(ctx, js); err != nil {
				return err
			}
			_, err := rotation.EnsureBucket(ctx, js, cfg.NATSReplicas)
			return err
		})
	})

	pub := queue.NewPublisher(js)
	sched := retry.New(pub, reg, log.Named("retry"))
	sweeper := sweep.New(st, pub, sweep.Options{Interval: cfg.SweepInterval, Grace: cfg.SweepGrace, Batch: 1000}, reg, log.Named("sweep"))
	reconciler := reconcile.New(st, pub, reconcile.Options{
		Interval: cfg.ReconcileInterval, Grace: cfg.ReconcileGrace, Lookback: cfg.ReconcileLookback, Batch: cfg.ReconcileBatch,
	}, reg, log.Named("reconcile"))
	enforcer := retention.New(st, retention.Options{Interval: cfg.RetentionInterval, Batch: cfg.RetentionBatch, Pause: 50 * time.Millisecond}, reg, log.Named("retention"))
	host, _ := os.Hostname()
	rotator := rotation.New(st, leases, rotation.Options{
		ActiveKeyID: cfg.Keyring.ActiveID(), Interval: cfg.RotationInterval, Holder: fmt.Sprintf("%s/%d", host, os.Getpid()),
	}, log.Named("rotation"))
	go ops.NewQueueLag(reg).Poll(gctx, 5*time.Second, queue.StreamRetry, cons)
	log.Info("scheduler ready")
	g.Go(func() error { return sched.Run(gctx, cons) })
	g.Go(func() error { return sweeper.Run(gctx) })
	g.Go(func() error { return reconciler.Run(gctx) })
	g.Go(func() error { return enforcer.Run(gctx) })
	g.Go(func() error { return rotator.Run(gctx) })
	return g.Wait()
}
