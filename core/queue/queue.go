// Package queue names Convoy's JetStream streams and subjects and publishes
// the tasks that move deliveries between services.
//
// Two work-queue streams carry all work. CONVOY_DISPATCH holds deliveries
// ready for an attempt (one dispatcher at a time holds each, under ack-wait);
// CONVOY_RETRY holds deliveries waiting for a later attempt (the scheduler
// holds each until it is due). Every message's subject ends in its delivery
// id, so "is this delivery queued?" is one subject lookup, and every message
// id names the delivery, its budget generation and attempt, so a duplicate
// publish within the stream's window is dropped by the server.
//
// A third, CONVOY_META, carries a group's operational (meta) events to the
// dispatcher's meta consumer; it is apart from the delivery streams so that
// notices about deliveries never queue behind them (package metaevent).

// CONVOY_ORDERED holds the deliveries of ordered endpoints, one subject per
// endpoint (see ordered.go): each endpoint has a consumer of its own that
// hands out one task at a time, so the stream's order is the order of
// attempts.
//
// A third stream, CONVOY_DEADLETTER, keeps the tasks that could not be
// processed for a reason that is not the endpoint's (see core/deadletter);
// it is a limits stream, so entries stay until an operator redrives them.
package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"convoy/core/model"
	"convoy/core/tracing"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Stream names and subject prefixes.
const (
	StreamDispatch   = "CONVOY_DISPATCH"
	StreamRetry      = "CONVOY_RETRY"
	StreamMeta       = "CONVOY_META"
	StreamDeadLetter = "CONVOY_DEADLETTER"
	StreamOrdered    = "CONVOY_ORDERED"

	dispatchPrefix   = "convoy.dispatch."
	retryPrefix      = "convoy.retry."
	metaPrefix       = "convoy.meta."
	deadLetterPrefix = "convoy.deadletter."
	orderedPrefix    = "convoy.ordered."
)

// DuplicateWindow is how long the streams remember message ids.
const DuplicateWindow = 10 * time.Minute

// DispatchSubject is the subject of a delivery's dispatch task.
func DispatchSubject(deliveryID string) string { return dispatchPrefix + deliveryID }

// RetrySubject is the subject of a delivery's pending retry.
func RetrySubject(deliveryID string) string { return retryPrefix + deliveryID }

// MetaSubject is the subject of a meta event's task.
func MetaSubject(metaEventID string) string { return metaPrefix + metaEventID }

// DeadLetterSubject is the subject of a delivery's dead-letter entries
// (key is the delivery id, or a placeholder when the task named none).
func DeadLetterSubject(key string) string { return deadLetterPrefix + key }

// DeadLetterSubjects matches every dead-letter entry.
const DeadLetterSubjects = deadLetterPrefix + ">"

// MsgID names one attempt of one delivery within one attempt budget.
func MsgID(t *queuev1.DeliveryTask) string {
	return fmt.Sprintf("%s.%d.%d", t.DeliveryId, t.Generation, t.Attempt)
}

// Connect dials NATS and keeps reconnecting for as long as the process runs.
func Connect(url, name string, log *zap.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(url,
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.RetryOnFailedConnect(true),
		// No buffering while disconnected: a publish must fail at once rather
		// than sit in a client buffer that a crash would lose, so that the
		// caller never acknowledges work that is not on the stream.
		nats.ReconnectBufSize(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("nats disconnected", zap.Error(err))
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("nats reconnected", zap.String("url", c.ConnectedUrl())) }),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to nats: %w", err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}

// EnsureStreams creates or updates every stream; replicas is 1 for a single
// server and 3 for a production cluster.
func EnsureStreams(ctx context.Context, js jetstream.JetStream, replicas int) error {
	for _, cfg := range []jetstream.StreamConfig{
		{Name: StreamDispatch, Subjects: []string{dispatchPrefix + ">"}, Retention: jetstream.WorkQueuePolicy},
		{Name: StreamRetry, Subjects: []string{retryPrefix + ">"}, Retention: jetstream.WorkQueuePolicy},
		{Name: StreamMeta, Subjects: []string{metaPrefix + ">"}, Retention: jetstream.WorkQueuePolicy},
		{Name: StreamOrdered, Subjects: []string{orderedPrefix + ">"}, Retention: jetstream.WorkQueuePolicy},
		// Limits retention without limits: an entry stays until it is
		// redriven (and deleted), however many are read in between.
		{Name: StreamDeadLetter, Subjects: []string{DeadLetterSubjects}, Retention: jetstream.LimitsPolicy},
	} {
		cfg.Storage = jetstream.FileStorage
		cfg.Replicas = replicas
		cfg.Duplicates = DuplicateWindow
		cfg.Discard = jetstream.DiscardOld
		if _, err := js.CreateOrUpdateStream(ctx, cfg); err != nil {
			return fmt.Errorf("ensure stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// StreamsCreated returns when the dispatch stream was created and the name
// of a stream that does not exist ("" when all do). A stream made again
// after NATS lost its store has a new creation time, which is how a
// service that was not first to notice learns its consumers are gone too.
// Errors other than "not found" (NATS unreachable) are returned.
func StreamsCreated(ctx context.Context, js jetstream.JetStream) (created time.Time, missing string, err error) {
	for _, name := range []string{StreamDispatch, StreamRetry, StreamMeta, StreamDeadLetter, StreamOrdered} {
		s, err := js.Stream(ctx, name)
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return created, name, nil
		}
		if err != nil {
			return created, "", fmt.Errorf("stream %s: %w", name, err)
		}
		if name == StreamDispatch {
			created = s.CachedInfo().Created
		}
	}
	return created, "", nil
}

// Publisher puts tasks on the streams and waits for the server to store them.
type Publisher struct {
	js jetstream.JetStream
	// streams caches stream handles for Queued, which is asked once per
	// delivery a sweep or reconciliation checks: a handle is only a name
	// (the lookups go by it), so one fetched before a restart still works.
	streams sync.Map // name → jetstream.Stream
	// consumers remembers when each ordered endpoint's consumer was last
	// found to exist.
	consumers sync.Map // endpoint id → time.Time
}

// NewPublisher returns a publisher on js.
func NewPublisher(js jetstream.JetStream) *Publisher { return &Publisher{js: js} }

// PublishTasks publishes dispatch tasks asynchronously and returns once every
// one is stored (or the first error). A task already in the stream's
// duplicate window counts as stored.
//
// A large batch (a broadcast to thousands of endpoints) goes out in windows
// of publishWindow, each awaited before the next: the connection allows a
// bounded number of unacknowledged publishes across all callers (4,000), and
// a publish past it fails once stallWait has passed, so one broadcast must
// not take them all, and a busy server must slow a batch down, not fail it.
func (p *Publisher) PublishTasks(ctx context.Context, tasks []*queuev1.DeliveryTask) error {
	for len(tasks) > 0 {
		n := min(len(tasks), publishWindow)
		if err := p.publishWindow(ctx, tasks[:n]); err != nil {
			return err
		}
		tasks = tasks[n:]
	}
	return nil
}

// publishWindow bounds the unacknowledged publishes of one batch, and
// stallWait how long a publish waits for room before it fails.
const (
	publishWindow = 1000
	stallWait     = 5 * time.Second
)

func (p *Publisher) publishWindow(ctx context.Context, tasks []*queuev1.DeliveryTask) error {
	futures := make([]jetstream.PubAckFuture, 0, len(tasks))
	if tracing.Enabled() {
		spans := make([]trace.Span, len(tasks))
		for i, t := range tasks {
			spans[i] = startPublish(ctx, t, StreamDispatch)
		}
		defer endPublish(spans)
	}
	for _, t := range tasks {
		data, err := proto.Marshal(t)
		if err != nil {
			return fmt.Errorf("encode task: %w", err)
		}
		subject, stream := DispatchSubject(t.DeliveryId), StreamDispatch
		if t.Ordered {
			if err := p.ensureOrdered(ctx, t.EndpointId, false); err != nil {
				return err
			}
			subject, stream = OrderedSubject(t.EndpointId, t.DeliveryId), StreamOrdered
		}
		f, err := p.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: data},
			jetstream.WithMsgID(MsgID(t)), jetstream.WithExpectStream(stream), jetstream.WithStallWait(stallWait))
		if err != nil {
			return fmt.Errorf("publish task: %w", err)
		}
		futures = append(futures, f)
	}
	return awaitAll(ctx, futures)
}

func awaitAll(ctx context.Context, futures []jetstream.PubAckFuture) error {
	var firstErr error
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			if firstErr == nil {
				firstErr = fmt.Errorf("publish: %w", err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return firstErr
}

// PublishRetry puts a delivery on the retry stream until it is due.
func (p *Publisher) PublishRetry(ctx context.Context, rt *queuev1.RetryTask) error {
	if tracing.Enabled() {
		defer endPublish([]trace.Span{startPublish(ctx, rt.Task, StreamRetry)})
	}
	data, err := proto.Marshal(rt)
	if err != nil {
		return fmt.Errorf("encode retry: %w", err)
	}
	_, err = p.js.PublishMsg(ctx, &nats.Msg{Subject: RetrySubject(rt.Task.DeliveryId), Data: data},
		jetstream.WithMsgID(MsgID(rt.Task)), jetstream.WithExpectStream(StreamRetry))
	if err != nil {
		return fmt.Errorf("publish retry: %w", err)
	}
	return nil
}

// Queued reports whether a delivery has a message on any stream: one
// waiting for a dispatcher, held by one, waiting for its retry time, or
// dead-lettered (held for an operator to redrive: queueing it again would
// make an attempt the redrive may then contradict).
func (p *Publisher) Queued(ctx context.Context, deliveryID string) (bool, error) {
	stream, err := p.Where(ctx, deliveryID)
	return stream != "", err
}

// Where returns the stream holding a message of a delivery (the dispatch
// stream, the retry stream, the dead letters or the ordered stream, asked
// in that order), or "" when none does.
func (p *Publisher) Where(ctx context.Context, deliveryID string) (string, error) {
	return p.where(ctx, []streamSubject{
		{StreamDispatch, DispatchSubject(deliveryID)},
		{StreamRetry, RetrySubject(deliveryID)},
		{StreamDeadLetter, DeadLetterSubject(deliveryID)},
		// Last, and by a wildcard that may walk the stream: only
		// deliveries to ordered endpoints are there, and callers that know
		// the endpoint ask WhereOrdered.
		{StreamOrdered, OrderedSubject("*", deliveryID)},
	})
}

// WhereOrdered is Where for a delivery queued to an ordered endpoint: its
// exact subject on the ordered stream is asked first.
func (p *Publisher) WhereOrdered(ctx context.Context, endpointID, deliveryID string) (string, error) {
	return p.where(ctx, []streamSubject{
		{StreamOrdered, OrderedSubject(endpointID, deliveryID)},
		{StreamDispatch, DispatchSubject(deliveryID)},
		{StreamRetry, RetrySubject(deliveryID)},
		{StreamDeadLetter, DeadLetterSubject(deliveryID)},
	})
}

// QueuedOrdered is Queued for a delivery queued to an ordered endpoint.
func (p *Publisher) QueuedOrdered(ctx context.Context, endpointID, deliveryID string) (bool, error) {
	stream, err := p.WhereOrdered(ctx, endpointID, deliveryID)
	return stream != "", err
}

type streamSubject struct{ stream, subject string }

func (p *Publisher) where(ctx context.Context, lookups []streamSubject) (string, error) {
	for _, sc := range lookups {
		s, err := p.stream(ctx, sc.stream)
		if err != nil {
			return "", err
		}
		_, err = s.GetLastMsgForSubject(ctx, sc.subject)
		if err == nil {
			return sc.stream, nil
		}
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			return "", fmt.Errorf("look up %s: %w", sc.subject, err)
		}
	}
	return "", nil
}

func (p *Publisher) stream(ctx context.Context, name string) (jetstream.Stream, error) {
	if s, ok := p.streams.Load(name); ok {
		return s.(jetstream.Stream), nil
	}
	s, err := p.js.Stream(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", name, err)
	}
	p.streams.Store(name, s)
	return s, nil
}

// Requeue publishes a task again for a delivery whose message was lost
// (a sweep or reconciliation found it neither stored as done nor queued).
// The stream remembers message ids for DuplicateWindow even when the
// message itself is gone (a purge keeps them), so the lost message's id
// would be dropped as a duplicate: a re-queue has an id of its own, which
// still makes re-queues from several scheduler replicas one message. When
// even that id is taken by a message that is gone too (lost twice within
// the window), the task is published without an id: an extra delivery
// is possible then, a lost one is not.
func (p *Publisher) Requeue(ctx context.Context, t *queuev1.DeliveryTask) error {
	if tracing.Enabled() {
		defer endPublish([]trace.Span{startPublish(ctx, t, StreamDispatch)})
	}
	data, err := proto.Marshal(t)
	if err != nil {
		return fmt.Errorf("encode task: %w", err)
	}
	subject, stream := DispatchSubject(t.DeliveryId), StreamDispatch
	if t.Ordered {
		if err := p.ensureOrdered(ctx, t.EndpointId, true); err != nil {
			return err
		}
		subject, stream = OrderedSubject(t.EndpointId, t.DeliveryId), StreamOrdered
	}
	// A fresh message each time: publishing sets the id header on the one given.
	msg := func() *nats.Msg { return &nats.Msg{Subject: subject, Data: data} }
	ack, err := p.js.PublishMsg(ctx, msg(), jetstream.WithMsgID(MsgID(t)+".requeue"), jetstream.WithExpectStream(stream))
	if err != nil {
		return fmt.Errorf("requeue task: %w", err)
	}
	if !ack.Duplicate {
		return nil
	}
	queued, err := p.Queued(ctx, t.DeliveryId)
	if err != nil || queued {
		return err
	}
	if _, err := p.js.PublishMsg(ctx, msg(), jetstream.WithExpectStream(stream)); err != nil {
		return fmt.Errorf("requeue task: %w", err)
	}
	return nil
}

// DecodeTask reads a dispatch message.
func DecodeTask(data []byte) (*queuev1.DeliveryTask, error) {
	var t queuev1.DeliveryTask
	if err := proto.Unmarshal(data, &t); err != nil {
		return nil, fmt.Errorf("decode task: %w", err)
	}
	if t.DeliveryId == "" || t.Attempt < 1 {
		return nil, errors.New("decode task: missing delivery id or attempt")
	}
	return &t, nil
}

// DecodeRetry reads a retry message.
func DecodeRetry(data []byte) (*queuev1.RetryTask, error) {
	var rt queuev1.RetryTask
	if err := proto.Unmarshal(data, &rt); err != nil {
		return nil, fmt.Errorf("decode retry: %w", err)
	}
	if rt.Task == nil || rt.DueAt == nil {
		return nil, errors.New("decode retry: missing task or due time")
	}
	return &rt, nil
}

// NewTask is the dispatch task for a delivery's next attempt.
func NewTask(ev *model.Event, d *model.Delivery) *queuev1.DeliveryTask {
	// A broadcast or fan-out event belongs to no one application; each of
	// its deliveries carries its endpoint's.
	appID := d.AppID
	if appID == "" {
		appID = ev.AppID
	}
	return &queuev1.DeliveryTask{
		DeliveryId:     d.UID,
		EventId:        ev.UID,
		GroupId:        ev.GroupID,
		AppId:          appID,
		EndpointId:     d.EndpointID,
		EventType:      ev.EventType,
		Data:           ev.Data,
		IdempotencyKey: ev.IdempotencyKey,
		CustomHeaders:  ev.CustomHeaders,
		Attempt:        d.Metadata.NumTrials + 1,
		RetryLimit:     d.Metadata.RetryLimit,
		Generation:     d.Generation,
		AcceptedAt:     timestamppb.New(ev.CreatedAt),
		Ordered:        d.Ordered,
		TraceParent:    ev.TraceParent,
		TraceState:     ev.TraceState,
	}
}
