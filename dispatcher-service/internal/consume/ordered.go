package consume

import (
	"context"
	"errors"
	"sync"
	"time"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
)

// Ordered endpoints are served apart from the dispatch stream: each has a
// consumer of its own on the ordered stream that hands out one task at a
// time (package queue), and this dispatcher runs one loop per such consumer.
// A loop attempts its task, and while the delivery has attempts left and is
// due later it hands the task back with the delay rather than queueing a
// retry: the task stays the head of its endpoint's queue, so nothing behind
// it goes first, and its redelivery is the retry. The attempt number is
// read from the stored delivery, since the task's own is that of its first
// attempt. Whatever process dies, the head comes back after ack-wait.

// orderedScan is how often the ordered stream's consumers are listed, to
// pick up endpoints that turned ordered.
const orderedScan = time.Second

// RunOrdered serves every ordered endpoint's consumer until ctx ends, then
// lets attempts in flight finish for up to Options.Drain.
func (d *Dispatcher) RunOrdered(ctx context.Context, js jetstream.JetStream) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	var (
		mu      sync.Mutex
		serving = map[string]bool{}
		wg      sync.WaitGroup
	)
	// Attempts to ordered endpoints are one per endpoint; this bounds them
	// all together as the workers bound the others.
	slots := make(chan struct{}, max(d.opts.Concurrency, 1))
	tick := time.NewTicker(orderedScan)
	defer tick.Stop()
	var stream jetstream.Stream
	for ctx.Err() == nil {
		if stream == nil {
			s, err := js.Stream(ctx, queue.StreamOrdered)
			if err != nil {
				if ctx.Err() == nil {
					d.log.Warn("ordered stream", zap.Error(err))
				}
				sleepCtx(ctx, orderedScan)
				continue
			}
			stream = s
		}
		names := stream.ConsumerNames(ctx)
		for name := range names.Name() {
			ep := queue.OrderedEndpoint(name)
			mu.Lock()
			skip := ep == "" || serving[ep]
			serving[ep] = true
			mu.Unlock()
			if skip {
				continue
			}
			wg.Go(func() {
				d.serveOrdered(ctx, work, js, ep, slots)
				mu.Lock()
				delete(serving, ep)
				mu.Unlock()
			})
		}
		if err := names.Err(); err != nil && ctx.Err() == nil {
			d.log.Warn("list ordered consumers", zap.Error(err))
		}
		select {
		case <-ctx.Done():
		case <-tick.C:
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d.opts.Drain):
		cancelWork()
		<-done
	}
	return nil
}

// serveOrdered takes an ordered endpoint's tasks one at a time until ctx
// ends or the consumer is deleted.
func (d *Dispatcher) serveOrdered(ctx, work context.Context, js jetstream.JetStream, endpointID string, slots chan struct{}) {
	log := d.log.With(zap.String("endpoint_id", endpointID))
	// The consumer was made with a default ack-wait; this dispatcher's own
	// is what it keeps a task alive by.
	cons, err := js.CreateOrUpdateConsumer(ctx, queue.StreamOrdered, queue.OrderedConsumerConfig(endpointID, d.opts.AckWait))
	if err != nil {
		if ctx.Err() == nil {
			log.Warn("ordered consumer", zap.Error(err))
		}
		return // the next scan tries again
	}
	idle := 0
	for ctx.Err() == nil {
		if idle >= orderedIdleChecks {
			idle = 0
			if d.orderedGone(ctx, js, cons, endpointID, log) {
				return
			}
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(1, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				return
			}
			if ctx.Err() == nil {
				log.Warn("fetch ordered task", zap.Error(err))
				sleepCtx(ctx, time.Second)
			}
			continue
		}
		idle++
		for msg := range batch.Messages() {
			idle = 0
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				_ = msg.Nak()
				continue
			}
			d.handleOrdered(work, msg)
			<-slots
		}
		cancel()
		if err := batch.Error(); err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
				return
			}
			log.Warn("fetch ordered task", zap.Error(err))
			sleepCtx(ctx, time.Second)
		}
	}
}

// orderedIdleChecks is how many empty fetches (of fetchWait each) pass
// before an idle ordered consumer is checked for a deleted endpoint.
const orderedIdleChecks = 12

// orderedGone deletes the consumer of an endpoint that was deleted once its
// queue is empty, and reports whether it did. A task queued to it later
// (a sweep's re-queue) makes it again (queue.Publisher.Requeue).
func (d *Dispatcher) orderedGone(ctx context.Context, js jetstream.JetStream, cons jetstream.Consumer, endpointID string, log *zap.Logger) bool {
	if _, err := d.store.EndpointByID(ctx, endpointID); !errors.Is(err, store.ErrNotFound) {
		return false
	}
	info, err := cons.Info(ctx)
	if err != nil || info.NumPending > 0 || info.NumAckPending > 0 {
		return false
	}
	if err := js.DeleteConsumer(ctx, queue.StreamOrdered, queue.OrderedConsumer(endpointID)); err != nil {
		log.Warn("delete ordered consumer of a deleted endpoint", zap.Error(err))
		return false
	}
	log.Info("endpoint deleted: its ordered consumer is gone too")
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// handleOrdered is the life of one ordered task: acknowledged once its
// delivery ended, handed back (still the head) until then.
func (d *Dispatcher) handleOrdered(ctx context.Context, msg jetstream.Msg) {
	t, err := queue.DecodeTask(msg.Data())
	if err != nil {
		d.undecodable(ctx, msg, err)
		return
	}
	log := d.log.With(zap.String("delivery_id", t.DeliveryId), zap.String("event_id", t.EventId),
		zap.String("endpoint_id", t.EndpointId), zap.Bool("ordered", true))
	if err := d.processOrdered(ctx, msg, t, log); err != nil {
		d.handBackFailed(ctx, msg, t, err, log)
		return
	}
	d.failing.settled(t)
}

// orderedAction is what an ordered task needs now.
type orderedAction int

const (
	// orderedAttempt: make attempt number orderedStep.attempt.
	orderedAttempt orderedAction = iota
	// orderedWait: hand the task back for orderedStep.wait; it stays the head.
	orderedWait
	// orderedDone: acknowledge; the next task of the endpoint goes.
	orderedDone
)

type orderedStep struct {
	action  orderedAction
	attempt int32
	wait    time.Duration
}

// nextOrdered decides an ordered task's step from its stored delivery (nil
// when it is not stored). The stored delivery, not the task, says which
// attempt is next: the task is the same message for every attempt.
func nextOrdered(t *queuev1.DeliveryTask, stored *model.Delivery, now time.Time) orderedStep {
	switch {
	case stored == nil || stored.Generation < t.Generation:
		return orderedStep{action: orderedAttempt, attempt: t.Attempt}
	case stored.Generation > t.Generation:
		// A resend started a new budget, with a task of its own.
		return orderedStep{action: orderedDone}
	case model.IsFinal(stored.Status):
		return orderedStep{action: orderedDone}
	}
	next := max(stored.Metadata.NumTrials+1, t.Attempt)
	if stored.Status == model.StatusRetry && stored.Metadata.NextSendTime != nil {
		if wait := stored.Metadata.NextSendTime.Sub(now); wait > 0 {
			return orderedStep{action: orderedWait, wait: wait, attempt: next}
		}
	}
	return orderedStep{action: orderedAttempt, attempt: next}
}

// processOrdered makes the head's next attempt when it is due. Returning an
// error hands the task back for another try.
func (d *Dispatcher) processOrdered(ctx context.Context, msg jetstream.Msg, t *queuev1.DeliveryTask, log *zap.Logger) error {
	stored, err := d.store.DeliveryByID(ctx, t.DeliveryId)
	if errors.Is(err, store.ErrNotFound) {
		stored, err = nil, nil
	}
	if err != nil {
		return err
	}
	step := nextOrdered(t, stored, d.now())
	switch step.action {
	case orderedDone:
		return msg.Ack()
	case orderedWait:
		return msg.NakWithDelay(step.wait)
	}
	if step.attempt != t.Attempt {
		t = proto.Clone(t).(*queuev1.DeliveryTask)
		t.Attempt = step.attempt
	}
	log = log.With(zap.Int32("attempt", t.Attempt))

	g, ep, now, ended, err := d.target(ctx, msg, t, log)
	if ended || err != nil {
		return err
	}
	if ep.Unverified() {
		// As for any endpoint: held, not attempted. The verifier queues the
		// held deliveries again oldest first, so their order survives.
		return d.finish(ctx, msg, whole(t, g, discard(t, HeldUnverified, now)))
	}
	allowed, probe, err := d.circuitAllows(ctx, msg, t, ep, g, stored == nil)
	if err != nil || !allowed {
		return err
	}
	ok, wait, err := d.limiter.Reserve(ctx, limitOf(ep))
	if err != nil {
		return err
	}
	if !ok {
		d.obs.Deferred("rate_limit")
		return msg.NakWithDelay(wait)
	}

	marked := make(chan struct{})
	mark := time.AfterFunc(processingMarkAfter, func() {
		d.recorder.Mark(ctx, whole(t, g, store.DeliveryUpdate{ID: t.DeliveryId, Status: model.StatusProcessing, At: d.now().UTC()}))
		close(marked)
	})
	stopProgress := keepAlive(msg, d.opts.AckWait)
	defer stopProgress()
	out := d.deliver.Attempt(ctx, t, ep, g)
	if !mark.Stop() {
		<-marked
	}
	if ctx.Err() != nil {
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
	// No retry task: the redelivered head is the retry.
	retry := dec.retry
	dec.retry = nil
	if !d.record(ctx, msg, t, dec, log) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return nil // dead-lettered with its outcome
	}
	var accepted time.Time
	if t.AcceptedAt != nil {
		accepted = t.AcceptedAt.AsTime()
	}
	d.obs.Attempted(out.Kind(), dec.update.Status, t.Attempt, accepted, d.now())
	if dec.endpointStatus != "" {
		d.setEndpointStatus(ctx, ep, dec.endpointStatus, log)
	}
	d.observeHealth(ctx, t, ep, g, out, dec, probe, log)
	if retry != nil {
		return msg.NakWithDelay(max(retry.DueAt.AsTime().Sub(d.now()), 0))
	}
	return msg.Ack()
}
