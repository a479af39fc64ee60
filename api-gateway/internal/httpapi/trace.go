package httpapi

import (
	"context"
	"net/http"
	"strings"

	"convoy/core/tracing"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// startRequestSpan starts the server span of a request, a child of the
// caller's traceparent when it sent one. Called only while tracing is on.
func startRequestSpan(ctx context.Context, r *http.Request) (context.Context, trace.Span) {
	ctx = tracing.Propagator.Extract(ctx, propagation.HeaderCarrier(r.Header))
	return tracing.Tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(
			attribute.String("http.request.method", r.Method),
			attribute.String("url.path", r.URL.Path),
		))
}

// endRequestSpan names the span after the route that served it, as the
// HTTP conventions ask ("POST /api/v1/..."; a route's pattern already
// starts with its method), and records the status.
func endRequestSpan(span trace.Span, method, route string, status int) {
	path := strings.TrimPrefix(route, method+" ")
	span.SetName(method + " " + path)
	span.SetAttributes(attribute.String("http.route", path), attribute.Int("http.response.status_code", status))
	if status >= 500 {
		span.SetStatus(codes.Error, http.StatusText(status))
	}
	span.End()
}
