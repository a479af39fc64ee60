package deliver

import (
	"context"
	"net/http"

	"convoy/core/model"
	"convoy/core/tracing"
	queuev1 "convoy/proto/convoy/queue/v1"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// startAttempt starts the client span of one attempt, a child of the
// consumer span in ctx (itself in the producer's trace). Called only while
// tracing is on.
func startAttempt(ctx context.Context, t *queuev1.DeliveryTask, ep *model.Endpoint) (context.Context, trace.Span) {
	return tracing.Tracer().Start(ctx, "deliver", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("convoy.group.id", t.GroupId),
			attribute.String("convoy.app.id", t.AppId),
			attribute.String("convoy.endpoint.id", t.EndpointId),
			attribute.String("convoy.event.id", t.EventId),
			attribute.String("convoy.delivery.id", t.DeliveryId),
			attribute.String("convoy.event.type", t.EventType),
			attribute.Int("convoy.attempt", int(t.Attempt)),
			attribute.String("http.request.method", http.MethodPost),
			attribute.String("url.full", ep.URL),
		))
}

// endAttempt records what the endpoint said.
func endAttempt(span trace.Span, o Outcome) {
	span.SetAttributes(attribute.String("convoy.outcome", o.Kind()))
	if o.Result.StatusCode != 0 {
		span.SetAttributes(attribute.Int("http.response.status_code", o.Result.StatusCode))
	}
	if !o.Attempt.Status {
		span.SetStatus(codes.Error, o.Attempt.Error)
	}
	span.End()
}

// setTraceHeaders puts the trace context on an attempt's request, unless
// the endpoint turned it off. While tracing is on it names the attempt's
// own span (same trace as the producer's, tracestate carried along);
// while off it is the producer's traceparent and tracestate as they came.
func setTraceHeaders(ctx context.Context, h http.Header, t *queuev1.DeliveryTask, ep *model.Endpoint) {
	if !ep.ForwardsTraceContext() {
		return
	}
	if tracing.Enabled() && trace.SpanContextFromContext(ctx).IsValid() {
		h.Del(tracing.HeaderTraceParent)
		h.Del(tracing.HeaderTraceState)
		tracing.Propagator.Inject(ctx, propagation.HeaderCarrier(h))
		return
	}
	if t.TraceParent == "" {
		return
	}
	h.Set(tracing.HeaderTraceParent, t.TraceParent)
	if t.TraceState != "" {
		h.Set(tracing.HeaderTraceState, t.TraceState)
	} else {
		h.Del(tracing.HeaderTraceState)
	}
}
