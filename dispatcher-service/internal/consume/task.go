package consume

import (
	"context"
	"errors"
	"sync"
	"time"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	"convoy/core/tracing"
	"convoy/dispatcher-service/internal/ratelimit"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// handle is the life of one task, from the fetch that handed it a worker to
// its ack or hand-back.
func (d *Dispatcher) handle(ctx context.Context, msg jetstream.Msg) {
	t, err := queue.DecodeTask(msg.Data())
	if err != nil {
		defer d.lanes.release(1)
		d.undecodable(ctx, msg, err)
		return
	}
	if tracing.Enabled() {
		var span trace.Span
		ctx, span = startProcess(ctx, t)
		defer span.End()
	}
	j := newJob(t.EndpointId)
	defer d.lanes.done(j)
	log := d.log.With(zap.String("delivery_id", t.DeliveryId), zap.String("event_id", t.EventId),
		zap.String("endpoint_id", t.EndpointId), zap.Int32("attempt", t.Attempt))
	if err := d.process(ctx, msg, t, j, log); err != nil {
		// Hand the task back; it is tried again shortly (by any replica).
		d.handBackFailed(ctx, msg, t, err, log)
		return
	}
	d.failing.settled(t)
}

// process makes the task's attempt, or finds it needs none. Returning an
// error hands the task back for another try.
func (d *Dispatcher) process(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, j *job, log *zap.Logger) error {
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
	g, ep, now, ended, err := d.target(ctx, msg, t, log)
	if ended || err != nil {
		return err
	}
	if ep.Unverified() {
		// Stored, not attempted: the verifier sends it again once the
		// endpoint has passed the ownership handshake.
		return d.finish(ctx, msg, whole(t, g, discard(t, HeldUnverified, now)))
	}

	// Deferrals below cost no attempt: the task simply comes back later.
	allowed, probe, err := d.circuitAllows(ctx, msg, t, ep, g, firstDelivery)
	if err != nil || !allowed {
		return err
	}
	switch v := d.lanes.offer(j, now); v.kind {
	case handBack:
		d.obs.Deferred("endpoint_busy")
		return d.handBack(msg, t, v.delay)
	case park:
		if <-j.wake == handBack {
			d.obs.Deferred("endpoint_busy")
			return d.handBack(msg, t, 100*time.Millisecond)
		}
	}
	return d.attempt(ctx, msg, t, j, ep, g, probe, firstDelivery, log)
}

// attempt makes the attempt with a slot of the endpoint's lane taken, which
// it gives back.
func (d *Dispatcher) attempt(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, j *job, ep *model.Endpoint, g *model.Group, probe, firstDelivery bool, log *zap.Logger) error {
	// The slot bounds requests in flight to the endpoint: it is freed as soon
	// as the attempt returns, not after the outcome is recorded, so a slow
	// store write never makes a fast endpoint look busy.
	left := false
	leave := func(s signal, took time.Duration, attempted bool) {
		if !left {
			left = true
			d.lanes.leave(j, s, took, attempted, d.now())
		}
	}
	defer leave(neutral, 0, false)
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
			d.recorder.Mark(ctx, whole(t, g, store.DeliveryUpdate{ID: t.DeliveryId, Status: model.StatusScheduled, At: d.now().UTC()}))
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
	// An attempt that outlasts SlowAfter leaves its worker to others.
	outlasted := make(chan struct{})
	slow := time.AfterFunc(d.opts.SlowAfter, func() {
		d.lanes.outlasted(j)
		close(outlasted)
	})
	stopProgress := keepAlive(msg, d.opts.AckWait)
	defer stopProgress() // held until the outcome is written
	out := d.deliver.Attempt(ctx, t, ep, g)
	if !slow.Stop() {
		<-outlasted
	}
	leave(signalOf(out, d.opts.SlowAfter), out.Result.Duration, true)
	if !mark.Stop() {
		<-marked // the mark is handed in: the outcome now lands after it
	}
	if ctx.Err() != nil {
		// Shutdown cut the attempt off: it is not the endpoint's failure.
		return ctx.Err()
	}
	if d.hooks.Stats != nil {
		d.hooks.Stats.Observe(t.GroupId, t.EndpointId, out.Kind(), out.Result.Duration, out.Attempt.CreatedAt)
	}
	dec := decide(t, ep, g, out, d.opts.Policy, d.now())
	dec.update = whole(t, g, dec.update)
	log.Info("delivery attempt",
		zap.String("status", dec.update.Status), zap.Int("http_status", out.Result.StatusCode),
		zap.Int64("duration_ms", out.Attempt.DurationMs), zap.String("error", out.Attempt.Error))
	if !d.record(ctx, msg, t, dec, log) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // dead-lettered with its outcome, or handed back
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
	d.observeHealth(ctx, t, ep, g, out, dec, probe, log)
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

// target reads the group and endpoint a task is for. A task whose group is
// gone is dropped, one whose endpoint is gone or inactive is finished
// Discarded: ended says the task was answered so (err is that answer's).
func (d *Dispatcher) target(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, log *zap.Logger) (g *model.Group, ep *model.Endpoint, now time.Time, ended bool, err error) {
	g, err = d.groups.Get(ctx, t.GroupId, func(ctx context.Context) (*model.Group, error) {
		return d.store.GetGroup(ctx, t.GroupId)
	})
	if errors.Is(err, store.ErrNotFound) {
		log.Info("group was deleted: dropping task")
		return nil, nil, now, true, msg.Term()
	}
	if err != nil {
		return nil, nil, now, false, err
	}
	now = d.now()
	ep, err = d.endpoints.Get(ctx, t.EndpointId, func(ctx context.Context) (*model.Endpoint, error) {
		return d.store.EndpointByID(ctx, t.EndpointId)
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, now, true, d.finish(ctx, msg, whole(t, g, discard(t, "endpoint was deleted", now)))
	}
	if err != nil {
		return nil, nil, now, false, err
	}
	if ep.Status == model.EndpointInactive {
		return nil, nil, now, true, d.finish(ctx, msg, whole(t, g, discard(t, "endpoint is inactive", now)))
	}
	return g, ep, now, false, nil
}
