// Package app is scheduler-service's composition root: it re-enqueues due
// retries, sweeps for lost work and enforces retention until the context ends.
package app

import (
	"context"
	"fmt"
	"time"

	"convoy/core/ops"
	"convoy/core/queue"
	"convoy/core/store"
	"convoy/scheduler-service/internal/config"
	"convoy/scheduler-service/internal/retention"
	"convoy/scheduler-service/internal/retry"
	"convoy/scheduler-service/internal/sweep"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Run schedules until ctx ends.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	st, err := store.Open(ctx, cfg.MongoURI, cfg.MongoDatabase)
	if err != nil {
		return err
	}
	defer st.Close(context.WithoutCancel(ctx))
	nc, js, err := queue.Connect(cfg.NATSURL, "scheduler-service", log)
	if err != nil {
		return err
	}
	defer nc.Drain()

	g, gctx := errgroup.WithContext(ctx)
	reg := ops.NewRegistry()
	checks := map[string]ops.Check{"mongodb": st.Ping, "nats": ops.NATSCheck(nc)}
	g.Go(func() error { return ops.Serve(gctx, cfg.OpsAddr, ops.Handler(reg, checks), log) })

	var cons jetstream.Consumer
	err = ops.WaitFor(gctx, log, "prepare streams and consumer", func(ctx context.Context) error {
		if err := st.Ping(ctx); err != nil {
			return fmt.Errorf("mongodb: %w", err)
		}
		if err := queue.EnsureStreams(ctx, js, cfg.NATSReplicas); err != nil {
			return err
		}
		var err error
		cons, err = retry.EnsureConsumer(ctx, js)
		return err
	})
	if err != nil {
		return g.Wait()
	}

	pub := queue.NewPublisher(js)
	sched := retry.New(pub, reg, log.Named("retry"))
	sweeper := sweep.New(st, pub, sweep.Options{Interval: cfg.SweepInterval, Grace: cfg.SweepGrace, Batch: 1000}, reg, log.Named("sweep"))
	enforcer := retention.New(st, retention.Options{Interval: cfg.RetentionInterval, Batch: cfg.RetentionBatch, Pause: 50 * time.Millisecond}, reg, log.Named("retention"))
	go ops.NewQueueLag(reg).Poll(gctx, 5*time.Second, queue.StreamRetry, cons)
	log.Info("scheduler ready")
	g.Go(func() error { return sched.Run(gctx, cons) })
	g.Go(func() error { return sweeper.Run(gctx) })
	g.Go(func() error { return enforcer.Run(gctx) })
	return g.Wait()
}
