// Package consume is the dispatcher's JetStream consumer: it takes delivery
// tasks off the dispatch stream, holds each under ack-wait while it makes the
// attempt (so no other dispatcher makes the same one), records the outcome,
// queues the retry if one is due, and only then acknowledges.
//
// Whatever process dies at whatever point, the task comes back: unacked
// tasks are redelivered after ack-wait, and a redelivered task is checked
// against the stored delivery first, so an attempt already recorded is not
// made again and a retry that was recorded but not queued is queued.
package consume

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"convoy/core/cache"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/retryschedule"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/ratelimit"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
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
	// PerEndpoint caps one endpoint's attempts in flight, so a slow endpoint
	// cannot take every worker from the others.
	PerEndpoint int
	// AckWait is how long a dispatcher holds a task before JetStream gives
	// it to another; long attempts extend it with progress signals.
	AckWait time.Duration
	// Drain is how long in-flight attempts may finish at shutdown before
	// their tasks are handed back.
	Drain  time.Duration
	Policy retryschedule.Policy
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

	endpoints *cache.TTL[string, *model.Endpoint]
	groups    *cache.TTL[string, *model.Group]

	mu       sync.Mutex
	slots    map[string]chan struct{}
	deferred deferredSet
}

// SettingsCacheTTL bounds how long a disabled endpoint or a rotated secret
// may take to reach a dispatcher.
const SettingsCacheTTL = time.Second

// New returns a Dispatcher.
func New(st Store, rec Recorder, lim Limiter, del Deliverer, ret Retrier, obs Observer, opts Options, log *zap.Logger) *Dispatcher {
	return &Dispatcher{
		store: st, recorder: rec, limiter: lim, deliver: del, retrier: ret, obs: obs, opts: opts, log: log, now: time.Now,
		endpoints: cache.New[string, *model.Endpoint](SettingsCacheTTL),
		groups:    cache.New[string, *model.Group](SettingsCacheTTL),
		slots:     map[string]chan struct{}{},
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

// fetchWait bounds one pull request, so shutdown is noticed promptly.
const fetchWait = 5 * time.Second

// Run consumes until ctx ends, then stops fetching, lets in-flight attempts
// finish for up to Options.Drain, and hands back the rest.
//
// Tasks are pulled only for workers that are free at that moment. A task
// handed to this process starts its ack-wait at once; one left waiting in a
// local buffer behind busy workers (slow endpoints) would outlive it, be
// given to another replica by JetStream, and then be delivered twice.
func (d *Dispatcher) Run(ctx context.Context, cons jetstream.Consumer) error {
	// Attempts run on their own context: shutdown must not cut them off
	// mid-request, only after the drain period.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	sem := make(chan struct{}, d.opts.Concurrency)
	var wg sync.WaitGroup
	for {
		free := reserve(ctx, sem)
		if free == 0 {
			break
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			release(sem, free)
			if ctx.Err() != nil {
				break
			}
			d.log.Warn("fetch tasks", zap.Error(err))
			select { // a lasting failure must not spin
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		used := 0
		for msg := range batch.Messages() {
			used++
			wg.Go(func() {
				defer func() { <-sem }()
				d.handle(work, msg)
			})
		}
		cancel()
		release(sem, free-used)
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			d.log.Warn("fetch tasks", zap.Error(err))
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.opts.Drain):
		d.log.Warn("drain period over: handing back in-flight tasks")
		cancelWork()
		<-done
	}
	return nil
}

// reserve waits until a worker is free, then takes every free worker, and
// returns how many it took (0 once ctx ends).
func reserve(ctx context.Context, sem chan struct{}) int {
	select {
	case sem <- struct{}{}:
	case <-ctx.Done():
		return 0
	}
	n := 1
	for n < cap(sem) {
		select {
		case sem <- struct{}{}:
			n++
		default:
			return n
		}
	}
	return n
}

func release(sem chan struct{}, n int) {
	for range n {
		<-sem
	}
}

func (d *Dispatcher) handle(ctx context.Context, msg jetstream.Msg) {
	t, err := queue.DecodeTask(msg.Data())
	if err != nil {
		d.log.Error("dropping undecodable task", zap.String("subject", msg.Subject()), zap.Error(err))
		_ = msg.Term()
		return
	}
	log := d.log.With(zap.String("delivery_id", t.DeliveryId), zap.String("event_id", t.EventId),
		zap.String("endpoint_id", t.EndpointId), zap.Int32("attempt", t.Attempt))
	if err := d.process(ctx, msg, t, log); err != nil {
		// Hand the task back; it is tried again shortly (by any replica).
		log.Warn("task handed back", zap.Error(err))
		_ = msg.NakWithDelay(time.Second)
	}
}

// process makes the task's attempt, or finds it needs none. Returning an
// error hands the task back for another try.
func (d *Dispatcher) process(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, log *zap.Logger) error {
	// A task this dispatcher deferred itself was not attempted: it needs no
	// store check when it comes back, which keeps hand-backs off the store.
	firstDelivery := true
	if meta, err := msg.Metadata(); err == nil {
		firstDelivery = meta.NumDelivered <= 1
	}
	if !firstDelivery && !d.deferred.take(queue.MsgID(t)) {
		done, err := d.settled(ctx, t, log)
		if err != nil || done {
			if err == nil {
				err = msg.Ack()
			}
			return err
		}
	}
	g, err := d.groups.Get(ctx, t.GroupId, func(ctx context.Context) (*model.Group, error) {
		return d.store.GetGroup(ctx, t.GroupId)
	})
	if errors.Is(err, store.ErrNotFound) {
		log.Info("group was deleted: dropping task")
		return msg.Term()
	}
	if err != nil {
		return err
	}
	now := d.now()
	ep, err := d.endpoints.Get(ctx, t.EndpointId, func(ctx context.Context) (*model.Endpoint, error) {
		return d.store.EndpointByID(ctx, t.EndpointId)
	})
	if errors.Is(err, store.ErrNotFound) {
		return d.finish(ctx, msg, whole(t, g, discard(t, "endpoint was deleted", now)))
	}
	if err != nil {
		return err
	}
	if ep.Status == model.EndpointInactive {
		return d.finish(ctx, msg, whole(t, g, discard(t, "endpoint is inactive", now)))
	}

	// Deferrals below cost no attempt: the task simply comes back later.
	if !d.enter(ctx, ep.UID) {
		// Busy for slotWait means slow: come back later, not at once, so
		// free workers pick up other endpoints' tasks in the meantime.
		d.obs.Deferred("endpoint_busy")
		return d.handBack(msg, t, 500*time.Millisecond)
	}
	// The slot bounds requests in flight to the endpoint: it is freed as soon
	// as the attempt returns, not after the outcome is recorded, so a slow
	// store write never makes a fast endpoint look busy.
	leave := sync.OnceFunc(func() { d.leave(ep.UID) })
	defer leave()
	ok, wait, err := d.limiter.Reserve(ctx, limitOf(ep))
	if err != nil {
		return err
	}
	if !ok {
		log.Debug("rate limited: deferred", zap.Duration("wait", wait))
		d.obs.Deferred("rate_limit")
		// A delivery held back for long is written as Scheduled, so that it
		// shows before its attempt; once is enough (its first hand-back).
		if wait >= heldBackMarkAfter && firstWrite(t) && firstDelivery {
			d.recorder.Mark(ctx, whole(t, g, store.DeliveryUpdate{ID: t.DeliveryId, Status: model.StatusScheduled, At: now.UTC()}))
		}
		return d.handBack(msg, t, wait)
	}

	// The Processing mark is written only for attempts that last: a quick
	// attempt's outcome follows at once, and skipping its mark halves the
	// store writes of the hot path. The mark goes through the same ordered
	// recorder shard as the outcome, so it never lands after it.
	marked := make(chan struct{})
	mark := time.AfterFunc(processingMarkAfter, func() {
		d.recorder.Mark(ctx, whole(t, g, store.DeliveryUpdate{ID: t.DeliveryId, Status: model.StatusProcessing, At: d.now().UTC()}))
		close(marked)
	})
	stopProgress := keepAlive(msg, d.opts.AckWait)
	out := d.deliver.Attempt(ctx, t, ep, g)
	leave()
	stopProgress()
	if !mark.Stop() {
		<-marked // the mark is handed in: the outcome now lands after it
	}
	if ctx.Err() != nil {
		// Shutdown cut the attempt off: it is not the endpoint's failure.
		return ctx.Err()
	}
	dec := decide(t, ep, g, out, d.opts.Policy, d.now())
	dec.update = whole(t, g, dec.update)
	log.Info("delivery attempt",
		zap.String("status", dec.update.Status), zap.Int("http_status", out.Result.StatusCode),
		zap.Int64("duration_ms", out.Attempt.DurationMs), zap.String("error", out.Attempt.Error))
	if err := d.recorder.Record(ctx, dec.update); err != nil {
		d.obs.Failed("store")
		return fmt.Errorf("record attempt: %w", err)
	}
	var accepted time.Time
	if t.AcceptedAt != nil {
		accepted = t.AcceptedAt.AsTime()
	}
	d.obs.Attempted(out.Kind(), dec.update.Status, t.Attempt, accepted, d.now())
	if dec.retry != nil {
		if err := d.retrier.PublishRetry(ctx, dec.retry); err != nil {
			d.obs.Failed("publish")
			// Recorded but not queued: the redelivered task finds the
			// attempt recorded and queues the retry then.
			return err
		}
	}
	if dec.endpointStatus != "" {
		d.setEndpointStatus(ctx, ep, dec.endpointStatus, log)
	}
	return msg.Ack()
}

// limitOf is the endpoint's rate limit. An endpoint stored without one (by
// hand, or before the field existed) gets the documented default rather than
// a zero window, which the limiter cannot divide time by.
func limitOf(ep *model.Endpoint) ratelimit.Limit {
	l := ratelimit.Limit{Key: ep.UID, Rate: int(ep.RateLimit), Window: ep.RateLimitDuration}
	if l.Rate <= 0 || l.Window <= 0 {
		l.Rate, l.Window = model.DefaultRateLimit, model.DefaultRateLimitDuration
	}
	return l
}

// processingMarkAfter is how long an attempt runs before its delivery is
// marked Processing; heldBackMarkAfter is how long a rate limit must hold a
// delivery back before it is written as Scheduled.
const (
	processingMarkAfter = time.Second
	heldBackMarkAfter   = time.Second
)

// handBack hands a task back without an attempt, to come back after wait,
// and remembers that it was not attempted.
func (d *Dispatcher) handBack(msg jetstream.Msg, t *queuev1.DeliveryTask, wait time.Duration) error {
	d.deferred.put(queue.MsgID(t))
	return msg.NakWithDelay(wait)
}

// finish records a change that needs no attempt and acknowledges the task.
func (d *Dispatcher) finish(ctx context.Context, msg jetstream.Msg, u store.DeliveryUpdate) error {
	if err := d.recorder.Record(ctx, u); err != nil {
		d.obs.Failed("store")
		return err
	}
	d.obs.Discarded()
	return msg.Ack()
}

// settled checks a redelivered task against the stored delivery. It reports
// true when the task needs no attempt: the delivery is gone, the task
// belongs to an earlier attempt budget, or its attempt is already recorded
// (then a pending retry is queued again, in case the first publish was lost;
// the queue drops it if it was not). A first attempt's delivery is not
// stored until its outcome is, so for it "not stored" means "not made yet".
func (d *Dispatcher) settled(ctx context.Context, t *queuev1.DeliveryTask, log *zap.Logger) (bool, error) {
	del, err := d.store.DeliveryByID(ctx, t.DeliveryId)
	if errors.Is(err, store.ErrNotFound) {
		return !firstWrite(t), nil
	}
	if err != nil {
		return false, err
	}
	if del.Generation != t.Generation {
		return true, nil
	}
	if del.Metadata.NumTrials < t.Attempt {
		return false, nil
	}
	if del.Status == model.StatusRetry && del.Metadata.NumTrials == t.Attempt && del.Metadata.NextSendTime != nil {
		next := proto.Clone(t).(*queuev1.DeliveryTask)
		next.Attempt = t.Attempt + 1
		log.Info("attempt already recorded: queueing its retry again")
		return true, d.retrier.PublishRetry(ctx, &queuev1.RetryTask{Task: next, DueAt: timestamppb.New(*del.Metadata.NextSendTime)})
	}
	return true, nil
}

func (d *Dispatcher) setEndpointStatus(ctx context.Context, ep *model.Endpoint, status string, log *zap.Logger) {
	if err := d.store.SetEndpointStatus(ctx, ep.UID, status); err != nil {
		log.Error("set endpoint status", zap.String("endpoint_status", status), zap.Error(err))
		return
	}
	d.endpoints.Forget(ep.UID)
	log.Info("endpoint status changed", zap.String("from", ep.Status), zap.String("to", status))
}

// slotWait is how long a task waits for one of its endpoint's in-flight
// slots before it is handed back. A fast endpoint frees a slot well within
// it, so its tasks queue here instead of churning through the stream; a slow
// one's tasks go back, leaving the workers to other endpoints.
const slotWait = 50 * time.Millisecond

// enter takes one of an endpoint's in-flight slots, waiting up to slotWait.
func (d *Dispatcher) enter(ctx context.Context, endpointID string) bool {
	d.mu.Lock()
	slots, ok := d.slots[endpointID]
	if !ok {
		slots = make(chan struct{}, d.opts.PerEndpoint)
		d.slots[endpointID] = slots
	}
	d.mu.Unlock()
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	wait := time.NewTimer(slotWait)
	defer wait.Stop()
	select {
	case slots <- struct{}{}:
		return true
	case <-wait.C:
		return false
	case <-ctx.Done():
		return false
	}
}

func (d *Dispatcher) leave(endpointID string) {
	d.mu.Lock()
	slots := d.slots[endpointID]
	d.mu.Unlock()
	<-slots
}

// keepAlive tells JetStream the task is still being worked on while an
// attempt outlasts a good part of ack-wait (slow endpoints, long timeouts).
func keepAlive(msg jetstream.Msg, ackWait time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		tick := time.NewTicker(ackWait / 3)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done) }
}

// deferredSet remembers the tasks this process handed back unattempted.
type deferredSet struct {
	mu  sync.Mutex
	ids map[string]struct{}
}

func (s *deferredSet) put(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[string]struct{}{}
	}
	// Bounded: forgetting only costs a store check on the next hand-back.
	if len(s.ids) >= 100_000 {
		clear(s.ids)
	}
	s.ids[key] = struct{}{}
}

// take reports whether key was handed back here, and forgets it.
func (s *deferredSet) take(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.ids[key]
	delete(s.ids, key)
	return ok
}
