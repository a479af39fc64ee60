package service

import (
	"context"
	"fmt"

	"convoy/core/envconf"
	"convoy/core/ops"
	"convoy/core/queue"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Backend is what every backend service holds: the store, NATS and a
// metrics registry, with ops endpoints that check the first two.
type Backend struct {
	Store    *store.Store
	NC       *nats.Conn
	JS       jetstream.JetStream
	Registry *prometheus.Registry

	common envconf.Common
	log    *zap.Logger
}

// Connect opens the store and NATS. Neither needs to answer yet: services
// start before their dependencies and wait for them in Prepare.
func Connect(ctx context.Context, c envconf.Common, name string, log *zap.Logger) (*Backend, error) {
	var opts []store.Option
	if c.EmbeddedSQLiteDir != "" {
		ix := sqliteindex.Open(c.EmbeddedSQLiteDir, c.MongoDatabase)
		opts = append(opts, store.WithIndex(ix))
		log.Info("store lists, sweeps and retention read the embedded store's SQLite indexes", zap.String("dir", c.EmbeddedSQLiteDir))
	}
	st, err := store.Open(ctx, c.MongoURI, c.MongoDatabase, opts...)
	if err != nil {
		return nil, err
	}
	nc, js, err := queue.Connect(c.NATSURL, name, log)
	if err != nil {
		st.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return &Backend{Store: st, NC: nc, JS: js, Registry: ops.NewRegistry(), common: c, log: log}, nil
}

// Close drains NATS and disconnects from the store.
func (b *Backend) Close(ctx context.Context) {
	_ = b.NC.Drain()
	_ = b.Store.Close(ctx)
}

// ServeOps serves /healthz, /readyz and /metrics (and /debug/pprof/ when
// CONVOY_PPROF is set) until ctx ends.
func (b *Backend) ServeOps(ctx context.Context) error {
	checks := map[string]ops.Check{"mongodb": b.Store.Ping, "nats": ops.NATSCheck(b.NC)}
	h := ops.Handler(b.Registry, checks)
	if b.common.Profiling {
		h = ops.WithProfiling(h)
	}
	return ops.Serve(ctx, b.common.OpsAddr, h, b.log)
}

// Prepare waits until MongoDB answers and the streams exist, then runs more
// (a service's own consumers, buckets or schema), retrying the whole until it
// succeeds; it returns ctx's error if ctx ends first. Every step is
// idempotent and safe from every replica.
func (b *Backend) Prepare(ctx context.Context, more func(context.Context) error) error {
	return ops.WaitFor(ctx, b.log, "prepare store and streams", func(ctx context.Context) error {
		if err := b.Store.Ping(ctx); err != nil {
			return fmt.Errorf("mongodb: %w", err)
		}
		if err := queue.EnsureStreams(ctx, b.JS, b.common.NATSReplicas); err != nil {
			return err
		}
		return more(ctx)
	})
}
