package tracing

import (
	"context"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestWanted(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "OTLP"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{map[string]string{"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, false},
		{map[string]string{"OTEL_TRACES_EXPORTER": "console"}, false},
		{map[string]string{"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"}, false},
		{map[string]string{"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER": "always_on"}, false},
	} {
		if got := Wanted(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("Wanted(%v) = %v, want %v", tc.env, got, tc.want)
		}
	}
}

func TestProducer(t *testing.T) {
	const valid = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	for _, tc := range []struct {
		name, parent, state   string
		wantParent, wantState string
	}{
		{"valid", valid, "a=b", valid, "a=b"},
		{"no state", valid, "", valid, ""},
		{"later version with more fields", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ff", "", "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-ff", ""},
		{"version 00 with extra fields", valid + "-ff", "a=b", "", ""},
		{"version ff", "ff" + valid[2:], "", "", ""},
		{"uppercase hex", strings.ToUpper(valid), "", "", ""},
		{"zero trace id", "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "", "", ""},
		{"zero span id", "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", "", "", ""},
		{"short", valid[:54], "a=b", "", ""},
		{"garbage", "hello", "a=b", "", ""},
		{"state too long", valid, strings.Repeat("a", 513), valid, ""},
		{"state with a newline", valid, "a=b\r\nX-Evil: 1", valid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, s := Producer(tc.parent, tc.state)
			if p != tc.wantParent || s != tc.wantState {
				t.Fatalf("Producer(%q, %q) = %q, %q; want %q, %q", tc.parent, tc.state, p, s, tc.wantParent, tc.wantState)
			}
		})
	}
}

// A task field carries a span's context across the queue: the consumer's
// span continues the producer's trace with the publisher's span as parent.
func TestInjectExtract(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	off := Use(tp)
	defer off()
	ctx := WithRemote(context.Background(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "v=1")
	ctx, pub := Tracer().Start(ctx, "publish")
	fields := Inject(ctx)
	pub.End()
	_, con := Tracer().Start(Extract(context.Background(), fields), "process")
	con.End()
	spans := exp.GetSpans()
	if len(spans) != 2 {
		t.Fatalf("%d spans", len(spans))
	}
	if spans[1].Parent.SpanID() != spans[0].SpanContext.SpanID() || spans[1].SpanContext.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Fatalf("consumer span %v does not continue the publisher's %v", spans[1].Parent, spans[0].SpanContext)
	}
	if spans[1].SpanContext.TraceState().Get("v") != "1" {
		t.Fatalf("tracestate lost: %v", spans[1].SpanContext.TraceState())
	}
	if Inject(context.Background()) != nil {
		t.Fatal("Inject without a span returned a context")
	}
	if c := Extract(context.Background(), nil); trace.SpanContextFromContext(c).IsValid() {
		t.Fatal("Extract of nothing made a span context")
	}
}
