// Package app is dispatcher-service's composition root: it connects to
// MongoDB and NATS and runs the consumer until the context ends.
package app

import (
	"context"
	"net/netip"
	"time"

	"convoy/core/deadletter"
	"convoy/core/endpointhealth"
	"convoy/core/listener"
	"convoy/core/metaevent"
	"convoy/core/ops"
	"convoy/core/queue"
	"convoy/core/retryschedule"
	"convoy/core/service"
	"convoy/dispatcher-service/internal/authn"
	"convoy/dispatcher-service/internal/circuit"
	"convoy/dispatcher-service/internal/config"
	"convoy/dispatcher-service/internal/consume"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/meta"
	"convoy/dispatcher-service/internal/metrics"
	"convoy/dispatcher-service/internal/outbound"
	"convoy/dispatcher-service/internal/ownership"
	"convoy/dispatcher-service/internal/ratelimit"
	"convoy/dispatcher-service/internal/record"
	"convoy/dispatcher-service/internal/relay"
	"convoy/dispatcher-service/internal/stats"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"
)

// Version is sent in the User-Agent of every delivery.
const Version = "1.0.0"

// Run dispatches until ctx ends, then drains and returns.
func Run(ctx context.Context, cfg config.Config, log *zap.Logger) error {
	b, err := service.Connect(ctx, cfg.Common, "dispatcher-service", log)
	if err != nil {
		return err
	}
	defer b.Close(context.WithoutCancel(ctx))
	st, js, reg := b.Store, b.JS, b.Registry
	warnAllowlist(cfg.Allow, log)

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return b.ServeOps(gctx) })

	var h handles
	err = b.Prepare(gctx, func(ctx context.Context) error {
		var err error
		h, err = ensure(ctx, js, cfg)
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
			_, err := ensure(ctx, js, cfg)
			return err
		})
	})
	cons, metaCons, kv, healthKV := h.cons, h.metaCons, h.kv, h.healthKV
	// Endpoints with a local-development listener attached get their
	// attempts through it (convoy listen).
	sessions := listener.NewSessions(h.listenKV)
	g.Go(func() error { return sessions.Run(gctx) })

	m := metrics.New(reg)
	go ops.NewQueueLag(reg).Poll(gctx, 5*time.Second, queue.StreamDispatch, cons)
	// Dead letters: tasks consume cannot process for a reason that is not
	// the endpoint's are put there (dead.Put) instead of looping.
	dead := deadletter.New(js)
	go deadletter.NewGauge(dead, reg).Poll(gctx, 5*time.Second)
	// Endpoint stats: consume tells stats.Observe of every attempt.
	endpointStats := stats.New(st, stats.Options{}, reg, log.Named("stats"))
	rec := record.New(st)
	breaker := circuit.New(healthKV)
	g.Go(func() error { return breaker.Run(gctx) })
	client := outbound.New(outbound.Config{Allow: cfg.Allow, UserAgent: "Convoy/" + Version, IdlePerHost: cfg.PerEndpoint})
	deliverer := deliver.New(client, Version).WithAuthentication(authn.New(client)).WithRouter(relay.New(b.NC, sessions, 0))
	d := consume.New(st, rec, ratelimit.New(kv), deliverer, queue.NewPublisher(js), m, consume.Options{
		Concurrency: cfg.Concurrency,
		PerEndpoint: cfg.PerEndpoint,
		AckWait:     cfg.AckWait,
		Drain:       cfg.ShutdownWait,
		Policy:      retryschedule.Policy{Jitter: cfg.RetryJitter, MaxRetryAfter: cfg.MaxRetryAfter},
	}, consume.Hooks{Breaker: breaker, Notifier: metaevent.New(st, js), Stats: endpointStats, DeadLetters: dead, Listeners: sessions}, log.Named("consume"))
	// Meta events go their own way: their own stream, consumer and workers,
	// so that notices about failing deliveries never wait behind them.
	mc := meta.New(st, deliver.New(client, Version), meta.Options{
		AckWait: cfg.AckWait,
		Drain:   cfg.ShutdownWait,
		Policy:  retryschedule.Policy{Jitter: cfg.RetryJitter, MaxRetryAfter: cfg.MaxRetryAfter},
	}, log.Named("meta"))
	g.Go(func() error { return mc.Run(gctx, metaCons) })
	// Endpoint ownership handshakes, and the release of what was held
	// meanwhile, through the same guarded client as deliveries.
	verifier := ownership.New(st, client, queue.NewPublisher(js), ownership.Options{Origin: cfg.WebhookOrigin, Interval: cfg.VerifyInterval}, log.Named("ownership"))
	g.Go(func() error { return verifier.Run(gctx) })

	// The recorder and the stats outlive the consumer: attempts finishing
	// during the drain still need their writes, and their counts.
	recCtx, stopRecorder := context.WithCancel(context.WithoutCancel(ctx))
	recDone, statsDone := make(chan error, 1), make(chan error, 1)
	go func() { recDone <- rec.Run(recCtx) }()
	go func() { statsDone <- endpointStats.Run(recCtx) }()
	g.Go(func() error {
		log.Info("dispatcher ready", zap.Int("concurrency", cfg.Concurrency))
		// Ordered endpoints have consumers of their own (consume.RunOrdered).
		orderedDone := make(chan error, 1)
		go func() { orderedDone <- d.RunOrdered(gctx, js) }()
		err := d.Run(gctx, cons)
		if oerr := <-orderedDone; err == nil {
			err = oerr
		}
		stopRecorder()
		if rerr := <-recDone; err == nil {
			err = rerr
		}
		if serr := <-statsDone; err == nil {
			err = serr
		}
		return err
	})
	return g.Wait()
}

// handles are the consumers and buckets the dispatcher works with.
type handles struct {
	cons, metaCons jetstream.Consumer
	kv, healthKV   jetstream.KeyValue
	listenKV       jetstream.KeyValue
}

// ensure creates the dispatcher's buckets and consumers, or finds them.
func ensure(ctx context.Context, js jetstream.JetStream, cfg config.Config) (handles, error) {
	var h handles
	var err error
	if h.kv, err = ratelimit.EnsureBucket(ctx, js, cfg.NATSReplicas); err != nil {
		return h, err
	}
	if h.healthKV, err = endpointhealth.EnsureBucket(ctx, js, cfg.NATSReplicas); err != nil {
		return h, err
	}
	if h.listenKV, err = listener.EnsureBucket(ctx, js, cfg.NATSReplicas); err != nil {
		return h, err
	}
	if h.metaCons, err = meta.EnsureConsumer(ctx, js, cfg.AckWait); err != nil {
		return h, err
	}
	h.cons, err = consume.EnsureConsumer(ctx, js, cfg.AckWait)
	return h, err
}

// warnAllowlist says loudly which private ranges deliveries may reach.
func warnAllowlist(allow []netip.Prefix, log *zap.Logger) {
	if len(allow) == 0 {
		log.Info("outbound guard: deliveries to private, loopback and link-local addresses are refused")
		return
	}
	loopback := false
	for _, p := range allow {
		if p.Contains(netip.MustParseAddr("127.0.0.1")) || p.Contains(netip.IPv6Loopback()) {
			loopback = true
		}
	}
	names := make([]string, len(allow))
	for i, p := range allow {
		names[i] = p.String()
	}
	log.Warn("outbound guard: deliveries allowed to these otherwise blocked ranges (link-local and cloud metadata stay blocked)",
		zap.Strings("allow_cidrs", names), zap.Bool("loopback_allowed", loopback))
}
