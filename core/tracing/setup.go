// Package tracing exports OpenTelemetry spans over OTLP when the standard
// OTEL_* variables ask for it, and carries W3C trace context through
// Convoy's own hops: the event (the producer's traceparent/tracestate, kept
// whether or not spans are exported) and the JetStream task (the span that
// published it).
//
// Tracing is off unless OTEL_TRACES_EXPORTER is "otlp" or an OTLP endpoint
// (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set;
// OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true keeps it off. While
// off, every instrumented path checks Enabled first and does no tracing
// work at all, so it allocates nothing.
package tracing

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// instrumentation is the tracer's name.
const instrumentation = "convoy"

var (
	enabled atomic.Bool
	tracer  atomic.Pointer[trace.Tracer]
)

// Enabled reports whether spans are being recorded. Instrumented code
// checks it before building a span or its attributes.
func Enabled() bool { return enabled.Load() }

// Tracer is Convoy's tracer; meaningful only while Enabled.
func Tracer() trace.Tracer {
	if t := tracer.Load(); t != nil {
		return *t
	}
	return otel.Tracer(instrumentation)
}

// Propagator is the W3C trace-context propagator every hop uses.
var Propagator propagation.TextMapPropagator = propagation.TraceContext{}

// Wanted reports whether the environment turns tracing on (the rule in the
// package comment).
func Wanted(getenv func(string) string) bool {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") {
		return false
	}
	switch exp := strings.ToLower(strings.TrimSpace(getenv("OTEL_TRACES_EXPORTER"))); exp {
	case "otlp":
		return true
	case "":
		return getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
	default: // "none", or an exporter Convoy does not ship
		return false
	}
}

// Setup turns tracing on when the environment asks for it and returns the
// function that flushes and stops the exporter (a no-op when off). The
// exporter's endpoint, headers, timeout and TLS come from the standard
// OTEL_EXPORTER_OTLP_* variables; OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL picks
// "grpc" or "http/protobuf" (the default); OTEL_TRACES_SAMPLER(_ARG) picks
// the sampler (default parentbased_always_on); OTEL_SERVICE_NAME and
// OTEL_RESOURCE_ATTRIBUTES override the service name given.
func Setup(ctx context.Context, service string) (shutdown func(context.Context) error, err error) {
	noop := func(context.Context) error { return nil }
	if !Wanted(os.Getenv) {
		return noop, nil
	}
	var exp sdktrace.SpanExporter
	switch p := protocol(os.Getenv); p {
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	case "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	default:
		return noop, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL %q: want grpc or http/protobuf", p)
	}
	if err != nil {
		return noop, fmt.Errorf("otlp trace exporter: %w", err)
	}
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithAttributes(attribute.String("service.name", service)),
		resource.WithFromEnv(), // after the default name, so that OTEL_SERVICE_NAME wins
	)
	if err != nil {
		return noop, fmt.Errorf("trace resource: %w", err)
	}
	// The sampler is read from OTEL_TRACES_SAMPLER by the SDK itself.
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	Use(tp)
	return tp.Shutdown, nil
}

func protocol(getenv func(string) string) string {
	for _, k := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return "http/protobuf"
}

// Use records spans with tp from now on (Setup's last step; tests pass a
// provider with an in-memory exporter). It returns the function that turns
// tracing off again.
func Use(tp trace.TracerProvider) (off func()) {
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(Propagator)
	t := tp.Tracer(instrumentation)
	tracer.Store(&t)
	enabled.Store(true)
	return func() { enabled.Store(false) }
}
