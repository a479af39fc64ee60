// Package consume is the dispatcher's JetStream consumer: it takes delivery
// tasks off the dispatch stream, holds each under ack-wait while it makes the
// attempt (so no other dispatcher makes the same one), records the outcome,
// queues the retry if one is due, and only then acknowledges.
//
// The parts: fetch.go pulls tasks for free workers; task.go is the life of
// one task; lanes.go and admit.go share the workers out between endpoints
// so that no endpoint can starve another; window.go is each endpoint's
// adaptive concurrency; health.go tells the circuit breaker, the stats and
// the operational events what an attempt showed; ordered.go serves the
// endpoints whose deliveries go one at a time, in order, from a stream and
// consumers of their own.
//
// Whatever process dies at whatever point, the task comes back: unacked
// tasks are redelivered after ack-wait, and a redelivered task is checked
// against the stored delivery first, so an attempt already recorded is not
// made again and a retry that was recorded but not queued is queued.
package consume

import (
	"context"
	"fmt"
	"time"

	"convoy/core/cache"
	"convoy/core/deadletter"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/retryschedule"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/circuit"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/ratelimit"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Durable is the dispatchers' shared consumer on the dispatch stream.
const Durable = "dispatcher"

// Store reads what an attempt needs and moves endpoints between statuses.
type Store interface {
	DeliveryByID(ctx context.Context, id string) (*model.Delivery, error)
	EndpointByID(ctx context.Context, id string) (*model.Endpoint, error)
	GetGroup(ctx context.Context, id string) (*model.Group, error)
	SetEndpointStatus(ctx context.Context, id, status string) error
}

// Recorder writes delivery updates.
type Recorder interface {
	Record(ctx context.Context, u store.DeliveryUpdate) error
	Mark(ctx context.Context, u store.DeliveryUpdate)
}

// Limiter hands out per-endpoint send permits shared by all replicas.
type Limiter interface {
	Reserve(ctx context.Context, l ratelimit.Limit) (bool, time.Duration, error)
}

// Deliverer makes one attempt.
type Deliverer interface {
	Attempt(ctx context.Context, t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group) deliver.Outcome
}

// Retrier queues a delivery for a later attempt.
type Retrier interface {
	PublishRetry(ctx context.Context, rt *queuev1.RetryTask) error
}

// Breaker is the per-endpoint circuit breaker (package circuit).
type Breaker interface {
	Check(ctx context.Context, endpointID string, cfg model.CircuitBreaker, probeHold time.Duration) (circuit.Decision, error)
	Observe(ctx context.Context, endpointID string, cfg model.CircuitBreaker, success, probe bool) (circuit.Change, error)
}

// Notifier sends a group's operational (meta) events; key names the
// occurrence, so that a task handled twice sends one event.
type Notifier interface {
	EmitOnce(ctx context.Context, groupID, eventType, key string, data any) error
}

// StatsObserver counts attempts per endpoint (package stats).
type StatsObserver interface {
	Observe(groupID, endpointID, outcome string, latency time.Duration, at time.Time)
}

// DeadLetters keeps the tasks that cannot be processed for a reason that is
// not the endpoint's; Put returns once the entry is durable.
type DeadLetters interface {
	Put(ctx context.Context, e deadletter.Entry) error
}

// Observer is told what the dispatcher does (for metrics).
type Observer interface {
	Attempted(outcome, status string, attempt int32, acceptedAt, now time.Time)
	Discarded()
	Deferred(reason string)
	Failed(step string)
}

// Options tune the dispatcher.
type Options struct {
	// Concurrency is how many attempts may be in flight at once.
	Concurrency int
	// PerEndpoint is the ceiling of an endpoint's adaptive window: the most
	// attempts in flight to one endpoint from this dispatcher.
	PerEndpoint int
	// AckWait is how long a dispatcher holds a task before JetStream gives
	// it to another; long attempts extend it with progress signals.
	AckWait time.Duration
	// Drain is how long in-flight attempts may finish at shutdown before
	// their tasks are handed back.
	Drain  time.Duration
	Policy retryschedule.Policy
	// SlowAfter is how long an attempt runs before it counts as slow: it
	// then leaves its worker to the slow pool, and its endpoint's tasks are
	// admitted only within the slow pool's budget (a quarter of
	// Concurrency). Zero means one second.
	SlowAfter time.Duration
}

// Listeners tells which endpoints have a local-development listener
// attached (convoy listen; package core/listener).
type Listeners interface {
	Attached(endpointID string) bool
}

// Hooks are the dispatcher's optional collaborators; nil ones do nothing.
type Hooks struct {
	Breaker     Breaker
	Notifier    Notifier
	Stats       StatsObserver
	DeadLetters DeadLetters
	// Listeners: an endpoint with a listener attached has its attempts
	// answered by the listener, not by its URL, so its circuit neither holds
	// them back nor learns from them.
	Listeners Listeners
}

// Dispatcher consumes delivery tasks.
type Dispatcher struct {
	store    Store
	recorder Recorder
	limiter  Limiter
	deliver  Deliverer
	retrier  Retrier
	obs      Observer
	opts     Options
	log      *zap.Logger
	now      func() time.Time

	hooks     Hooks
	endpoints *cache.TTL[string, *model.Endpoint]
	groups    *cache.TTL[string, *model.Group]

	lanes    *lanes
	deferred deferredSet
	// failing remembers, per task, since when dependencies have failed it,
	// so that a task the store keeps failing on ends in the dead letters
	// instead of looping.
	failing failingSince
}

// SettingsCacheTTL bounds how long a disabled endpoint or a rotated secret
// may take to reach a dispatcher.
const SettingsCacheTTL = time.Second

// New returns a Dispatcher.
func New(st Store, rec Recorder, lim Limiter, del Deliverer, ret Retrier, obs Observer, opts Options, hooks Hooks, log *zap.Logger) *Dispatcher {
	if opts.SlowAfter <= 0 {
		opts.SlowAfter = time.Second
	}
	return &Dispatcher{
		store: st, recorder: rec, limiter: lim, deliver: del, retrier: ret, obs: obs, opts: opts, hooks: hooks, log: log, now: time.Now,
		endpoints: cache.New[string, *model.Endpoint](SettingsCacheTTL),
		groups:    cache.New[string, *model.Group](SettingsCacheTTL),
		lanes:     newLanes(lanesOptions{workers: opts.Concurrency, perEndpoint: opts.PerEndpoint, slowAfter: opts.SlowAfter}),
	}
}

// EnsureConsumer creates or updates the shared durable consumer.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, ackWait time.Duration) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, queue.StreamDispatch, jetstream.ConsumerConfig{
		Durable:   Durable,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   ackWait,
		// Unlimited: a task deferred by a rate limit comes back as often as
		// it must; attempts are counted in the store, not by JetStream.
		MaxDeliver: -1,
		// Deferred tasks stay pending while they wait, so this must be far
		// above the worker count or one rate-limited endpoint's backlog would
		// block every other endpoint.
		MaxAckPending: 1_000_000,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure dispatcher consumer: %w", err)
	}
	return c, nil
}
