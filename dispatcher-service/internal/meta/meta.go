// Package meta delivers a group's meta events: it takes them off the
// CONVOY_META stream, posts each to the group's meta event URL signed with
// the meta secret in the group's signature format (through the same signer
// and guarded client as deliveries), records every attempt in the
// meta_events collection, and retries on the group's strategy by handing the
// message back with a delay. It never emits meta events itself, so a failing
// meta URL cannot feed on its own failures.
//
// A meta event is written like a delivery: inserted once, with its first
// attempt's outcome, then updated by `_id` alone. A message JetStream
// redelivers (a retry coming due, or a dispatcher that died holding it) is
// checked against the stored meta event first, so a final one is not sent
// again and one not yet due waits.
package meta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"convoy/core/cache"
	"convoy/core/metaevent"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/retryschedule"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// Durable is the dispatchers' shared consumer on the meta stream.
const Durable = "meta-dispatcher"

// Concurrency is how many meta events one dispatcher sends at once. Meta
// events are rare next to deliveries; a few workers keep a slow meta URL
// from holding many connections.
const Concurrency = 16

// Store reads groups and meta events and writes meta events.
type Store interface {
	GetGroup(ctx context.Context, id string) (*model.Group, error)
	MetaEventByID(ctx context.Context, id string) (*model.MetaEvent, error)
	InsertMetaEvent(ctx context.Context, m *model.MetaEvent) error
	UpdateMetaEvent(ctx context.Context, u store.MetaEventUpdate) error
}

// Deliverer makes one signed attempt (a *deliver.Deliverer).
type Deliverer interface {
	Attempt(ctx context.Context, t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group) deliver.Outcome
}

// Options tune the consumer.
type Options struct {
	// AckWait is how long a dispatcher holds a meta event before JetStream
	// gives it to another; an attempt's timeout is at most half of it.
	AckWait time.Duration
	// Drain is how long in-flight attempts may finish at shutdown.
	Drain  time.Duration
	Policy retryschedule.Policy
}

// Consumer delivers meta events.
type Consumer struct {
	store   Store
	deliver Deliverer
	opts    Options
	log     *zap.Logger
	now     func() time.Time
	groups  *cache.TTL[string, *model.Group]
}

// GroupCacheTTL bounds how long a change of a group's meta event settings
// may take to reach a dispatcher.
const GroupCacheTTL = time.Second

// New returns a Consumer.
func New(st Store, del Deliverer, opts Options, log *zap.Logger) *Consumer {
	return &Consumer{store: st, deliver: del, opts: opts, log: log, now: time.Now,
		groups: cache.New[string, *model.Group](GroupCacheTTL)}
}

// EnsureConsumer creates or updates the shared durable consumer.
func EnsureConsumer(ctx context.Context, js jetstream.JetStream, ackWait time.Duration) (jetstream.Consumer, error) {
	c, err := js.CreateOrUpdateConsumer(ctx, queue.StreamMeta, jetstream.ConsumerConfig{
		Durable:   Durable,
		AckPolicy: jetstream.AckExplicitPolicy,
		AckWait:   ackWait,
		// Retries are hand-backs with a delay; the store counts attempts.
		MaxDeliver: -1,
		// Meta events waiting for their retry stay pending: many may wait.
		MaxAckPending: 100_000,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure meta consumer: %w", err)
	}
	return c, nil
}

// timeout is how long one attempt may take: the endpoints' default, within
// half the ack-wait so that the outcome is recorded before JetStream gives
// the message to another dispatcher.
func (c *Consumer) timeout() time.Duration {
	return min(model.DefaultHTTPTimeout, c.opts.AckWait/2)
}

// fetchWait bounds one pull request, so shutdown is noticed promptly.
const fetchWait = 5 * time.Second

// Run consumes until ctx ends, then lets in-flight attempts finish for up to
// Options.Drain and hands back the rest. Messages are pulled only for free
// workers, so none waits in a local buffer while its ack-wait runs.
func (c *Consumer) Run(ctx context.Context, cons jetstream.Consumer) error {
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	sem := make(chan struct{}, Concurrency)
	var wg sync.WaitGroup
	for ctx.Err() == nil {
		free := 0
		select {
		case sem <- struct{}{}:
			free = 1
		case <-ctx.Done():
		}
		if free == 0 {
			break
		}
		for free < Concurrency && len(sem) < cap(sem) {
			sem <- struct{}{}
			free++
		}
		fctx, cancel := context.WithTimeout(ctx, fetchWait)
		batch, err := cons.Fetch(free, jetstream.FetchContext(fctx))
		if err != nil {
			cancel()
			for range free {
				<-sem
			}
			if ctx.Err() == nil {
				c.log.Warn("fetch meta events", zap.Error(err))
				select { // a lasting failure must not spin
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		used := 0
		for msg := range batch.Messages() {
			used++
			wg.Go(func() {
				defer func() { <-sem }()
				c.handle(work, msg)
			})
		}
		cancel()
		for range free - used {
			<-sem
		}
		if err := batch.Error(); used == 0 && err != nil && ctx.Err() == nil && !errors.Is(err, context.DeadlineExceeded) {
			// The consumer is gone, say (NATS lost its store): wait for it
			// to be made again rather than spin.
			c.log.Warn("fetch meta events", zap.Error(err))
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
		}
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(c.opts.Drain):
		c.log.Warn("drain period over: handing back in-flight meta events")
		cancelWork()
		<-done
	}
	return nil
}

func (c *Consumer) handle(ctx context.Context, msg jetstream.Msg) {
	if err := c.process(ctx, msg); err != nil {
		c.log.Warn("meta event handed back", zap.String("subject", msg.Subject()), zap.Error(err))
		_ = msg.NakWithDelay(time.Second)
	}
}

// process makes the message's next attempt, or finds it needs none.
// Returning an error hands the message back for another try.
func (c *Consumer) process(ctx context.Context, msg jetstream.Msg) error {
	t, err := metaevent.DecodeTask(msg.Data())
	if err != nil {
		c.log.Error("dropping undecodable meta event", zap.String("subject", msg.Subject()), zap.Error(err))
		return msg.Term()
	}
	log := c.log.With(zap.String("meta_event_id", t.UID), zap.String("group_id", t.GroupID), zap.String("event_type", t.EventType))
	g, err := c.groups.Get(ctx, t.GroupID, func(ctx context.Context) (*model.Group, error) { return c.store.GetGroup(ctx, t.GroupID) })
	if errors.Is(err, store.ErrNotFound) {
		log.Info("group was deleted: dropping meta event")
		return msg.Term()
	}
	if err != nil {
		return err
	}

	// A first delivery of a first budget was never stored, so it needs no
	// read: it is the hot case, and its outcome is an insert.
	first := true
	if md, err := msg.Metadata(); err == nil {
		first = md.NumDelivered <= 1
	}
	var stored *model.MetaEvent
	if !first || t.Generation > 0 {
		stored, err = c.store.MetaEventByID(ctx, t.UID)
		switch {
		case errors.Is(err, store.ErrNotFound) && t.Generation > 0:
			return msg.Term() // resent, then deleted (retention, group deletion)
		case errors.Is(err, store.ErrNotFound):
			stored = nil // its first attempt's outcome was never written
		case err != nil:
			return err
		case stored.Generation != t.Generation || model.IsFinal(stored.Status):
			return msg.Ack() // an older budget, or nothing left to do
		case stored.Metadata.NumTrials > 0 && stored.Metadata.NextSendTime != nil:
			if wait := stored.Metadata.NextSendTime.Sub(c.now()); wait > 0 {
				return msg.NakWithDelay(wait) // back early: not due yet
			}
		}
	}

	trials, limit := int32(0), t.RetryLimit
	if stored != nil {
		trials, limit = stored.Metadata.NumTrials, stored.Metadata.RetryLimit
	}
	limit = max(limit, 1)
	now := c.now().UTC()
	cfg := g.Config.MetaEvent
	if !cfg.IsEnabled || cfg.URL == "" {
		// Turned off since it was emitted: keep the record, send nothing.
		log.Info("meta events are off for the group: meta event discarded")
		if err := c.record(ctx, t, stored, model.StatusDiscarded, trials, limit, nil, nil, now); err != nil {
			return err
		}
		return msg.Ack()
	}

	attempt := trials + 1
	out := c.deliver.Attempt(ctx, deliveryTask(t), metaEndpoint(g, cfg, c.timeout()), g)
	if ctx.Err() != nil {
		return ctx.Err() // shutdown cut the attempt off: not the receiver's failure
	}
	status, due := model.StatusSuccess, (*time.Time)(nil)
	switch {
	case out.Attempt.Status:
	case attempt >= limit:
		status = model.StatusFailure
	default:
		ra, hasRA := time.Duration(0), false
		if code := out.Result.StatusCode; code == 429 || code == 503 {
			ra, hasRA = outbound.RetryAfter(out.Result.Header, now)
		}
		next := now.Add(c.opts.Policy.Delay(g.Config.Strategy, attempt, ra, hasRA))
		status, due = model.StatusRetry, &next
	}
	log.Info("meta event attempt", zap.String("status", status), zap.Int32("attempt", attempt),
		zap.Int("http_status", out.Result.StatusCode), zap.Int64("duration_ms", out.Attempt.DurationMs), zap.String("error", out.Attempt.Error))
	if err := c.record(ctx, t, stored, status, attempt, limit, due, &out.Attempt, now); err != nil {
		return fmt.Errorf("record meta event attempt: %w", err)
	}
	if due != nil {
		return msg.NakWithDelay(due.Sub(now))
	}
	return msg.Ack()
}

// record writes a meta event's new state: the whole document when it is not
// stored yet, else an update by `_id`.
func (c *Consumer) record(ctx context.Context, t *metaevent.Task, stored *model.MetaEvent, status string, trials, limit int32, due *time.Time, a *model.Attempt, now time.Time) error {
	if stored == nil {
		m := &model.MetaEvent{
			UID: t.UID, GroupID: t.GroupID, EventType: t.EventType, Status: status,
			Metadata:   model.MetaEventMetadata{Raw: string(t.Body), NumTrials: trials, RetryLimit: limit, NextSendTime: due},
			Generation: t.Generation,
			CreatedAt:  t.CreatedAt.UTC(),
			UpdatedAt:  now,
		}
		if a != nil {
			m.Attempts = []model.Attempt{*a}
		}
		err := c.store.InsertMetaEvent(ctx, m)
		if !errors.Is(err, store.ErrDuplicate) {
			return err
		}
		// Stored after all (by a holder that died before acknowledging):
		// the attempt is added to it.
	}
	return c.store.UpdateMetaEvent(ctx, store.MetaEventUpdate{
		ID: t.UID, Status: status, NumTrials: trials, NextSendTime: due, Attempt: a, At: now,
	})
}

// deliveryTask is the request the deliverer makes for a meta event: its
// body as the data, its uid as the event and delivery ids (stable across
// retries, so receivers de-duplicate on X-Convoy-Delivery-ID or webhook-id)
// and its type as the event type.
func deliveryTask(t *metaevent.Task) *queuev1.DeliveryTask {
	return &queuev1.DeliveryTask{
		DeliveryId: t.UID, EventId: t.UID, GroupId: t.GroupID, EventType: t.EventType, Data: t.Body,
	}
}

// metaEndpoint is the group's meta event URL and secret as the deliverer
// takes an endpoint.
func metaEndpoint(g *model.Group, cfg model.MetaEventConfig, timeout time.Duration) *model.Endpoint {
	// Meta events have the group's secret only, no key pair: they are
	// signed in the group's HMAC formats, or Standard Webhooks' if the
	// group has none.
	sig := g.Config.Signature
	var formats []string
	for _, f := range sig.FormatList() {
		if f != model.FormatStandardWebhooksAsymmetric {
			formats = append(formats, f)
		}
	}
	if len(formats) == 0 {
		formats = []string{model.FormatStandardWebhooks}
	}
	sig.Format, sig.Formats = formats[0], formats
	return &model.Endpoint{
		GroupID: g.UID, URL: cfg.URL, HTTPTimeout: timeout,
		Secrets:   []model.Secret{{Value: cfg.Secret}},
		Signature: &sig,
	}
}
