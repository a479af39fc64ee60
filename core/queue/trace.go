package queue

import (
	"context"

	"convoy/core/tracing"
	queuev1 "convoy/proto/convoy/queue/v1"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// startPublish starts the producer span of a task's queue hop and writes
// its context into the task, for the consumer's span to continue. Its
// parent is the caller's span; a task published outside any span (the
// scheduler's due retries, re-queues) continues the hop that queued it
// before, or else the producer's stored context, so that every attempt of
// a delivery stays in the producer's trace. Called only while tracing is on.
func startPublish(ctx context.Context, t *queuev1.DeliveryTask, stream string) trace.Span {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		ctx = ParentOf(ctx, t)
	}
	ctx, span := tracing.Tracer().Start(ctx, "publish "+stream,
		trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", stream),
			attribute.String("convoy.delivery.id", t.DeliveryId),
			attribute.String("convoy.event.id", t.EventId),
			attribute.Int("convoy.attempt", int(t.Attempt)),
		))
	t.TraceContext = tracing.Inject(ctx)
	return span
}

func endPublish(spans []trace.Span) {
	for _, s := range spans {
		s.End()
	}
}

// ParentOf returns ctx with the parent a task's consumer span takes: the
// span that published the task when there was one, or else the producer's
// context stored with the event.
func ParentOf(ctx context.Context, t *queuev1.DeliveryTask) context.Context {
	if len(t.TraceContext) > 0 {
		if c := tracing.Extract(ctx, t.TraceContext); trace.SpanContextFromContext(c).IsValid() {
			return c
		}
	}
	return tracing.WithRemote(ctx, t.TraceParent, t.TraceState)
}
