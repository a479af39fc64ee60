package service

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	// streamsCreated is when the dispatch stream Prepare found was made;
	// KeepPrepared compares it with the stream's now.
	streamsCreated time.Time
}

// Connect opens the store and NATS. Neither needs to answer yet: services
// start before their dependencies and wait for them in Prepare.
func Connect(ctx context.Context, c envconf.Common, name string, log *zap.Logger) (*Backend, error) {
	opts := []store.Option{store.WithKeyring(c.Keyring)}
	if c.Keyring == nil {
		log.Warn("no encryption key configured: secrets are stored in plain text (set CONVOY_ENCRYPTION_KEYS or CONVOY_ENCRYPTION_KEY_FILE)")
	} else {
		log.Info("secrets are stored encrypted", zap.String("active_key_id", c.Keyring.ActiveID()), zap.Strings("key_ids", c.Keyring.IDs()))
	}
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
	return ServeOps(ctx, b.common.Process, b.Registry, checks, b.log)
}

// Prepare waits until MongoDB answers and the streams exist, then runs more
// (a service's own consumers, buckets or schema), retrying the whole until it
// succeeds; it returns ctx's error if ctx ends first. Every step is
// idempotent and safe from every replica. It also returns an error, for the
// service to stop with, when the configured encryption keys cannot open the
// stored secrets (see store.CheckKeyring).
func (b *Backend) Prepare(ctx context.Context, more func(context.Context) error) error {
	var refused error
	err := ops.WaitFor(ctx, b.log, "prepare store and streams", func(ctx context.Context) error {
		if err := b.Store.Ping(ctx); err != nil {
			return fmt.Errorf("mongodb: %w", err)
		}
		if err := b.Store.CheckKeyring(ctx); err != nil {
			if errors.Is(err, store.ErrKeyringMismatch) {
				refused = err
				return nil
			}
			return err
		}
		if err := queue.EnsureStreams(ctx, b.JS, b.common.NATSReplicas); err != nil {
			return err
		}
		created, missing, err := queue.StreamsCreated(ctx, b.JS)
		if err != nil {
			return err
		}
		if missing != "" {
			return fmt.Errorf("stream %s vanished as it was made", missing)
		}
		b.streamsCreated = created
		return more(ctx)
	})
	if refused != nil {
		return refused
	}
	return err
}

// healInterval is how often KeepPrepared checks that the streams are there.
const healInterval = 2 * time.Second

// KeepPrepared checks every couple of seconds that the streams are still the
// ones Prepare found and, when one is gone or was made again since (NATS came
// back without its store, a lost volume or a replaced node, and another
// service was first to notice), creates the streams again and runs again
// (the consumers and buckets Prepare's step made; nil for none), until ctx
// ends. Without it a service would keep asking for a consumer that no longer
// exists, and producers would get 503s until every replica was restarted.
// Handles made before keep working: streams, consumers and buckets are
// found by name. Call it after Prepare.
func (b *Backend) KeepPrepared(ctx context.Context, again func(context.Context) error) error {
	t := time.NewTicker(healInterval)
	defer t.Stop()
	known := b.streamsCreated // when the dispatch stream this service prepared for was made
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		created, missing, err := queue.StreamsCreated(cctx, b.JS)
		switch {
		case err != nil:
			// NATS is away: nothing to tell yet.
		case missing != "" || !created.Equal(known):
			b.log.Warn("streams lost: creating the streams, consumers and buckets again",
				zap.String("missing", missing), zap.Time("created", created))
			err = queue.EnsureStreams(cctx, b.JS, b.common.NATSReplicas)
			if err == nil && again != nil {
				err = again(cctx)
			}
			if err != nil {
				if ctx.Err() == nil {
					b.log.Warn("create streams again", zap.Error(err))
				}
				break
			}
			if created, missing, err = queue.StreamsCreated(cctx, b.JS); err == nil && missing == "" {
				known = created
			}
		}
		cancel()
	}
}
