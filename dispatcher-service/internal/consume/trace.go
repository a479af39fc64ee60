package consume

import (
	"context"

	"convoy/core/queue"
	"convoy/core/tracing"
	queuev1 "convoy/proto/convoy/queue/v1"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// startProcess starts the consumer span of a task's queue hop: a child of
// the span that published it, or of the producer's stored context. Called
// only while tracing is on.
func startProcess(ctx context.Context, t *queuev1.DeliveryTask) (context.Context, trace.Span) {
	return tracing.Tracer().Start(queue.ParentOf(ctx, t), "process "+queue.StreamDispatch,
		trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(
			attribute.String("messaging.system", "nats"),
			attribute.String("messaging.destination.name", queue.StreamDispatch),
			attribute.String("convoy.group.id", t.GroupId),
			attribute.String("convoy.endpoint.id", t.EndpointId),
			attribute.String("convoy.event.id", t.EventId),
			attribute.String("convoy.delivery.id", t.DeliveryId),
			attribute.Int("convoy.attempt", int(t.Attempt)),
		))
}
