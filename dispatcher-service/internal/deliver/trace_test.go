package deliver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"convoy/core/tracing"
	"convoy/dispatcher-service/internal/outbound"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

const (
	producerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	producerSpanID  = "00f067aa0ba902b7"
	producerParent  = "00-" + producerTraceID + "-" + producerSpanID + "-01"
	producerState   = "vendor=abc"
)

// recordSpans turns tracing on with an in-memory exporter for one test.
func recordSpans(t *testing.T) *tracetest.InMemoryExporter {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	off := tracing.Use(tp)
	t.Cleanup(func() { off(); _ = tp.Shutdown(context.Background()) })
	return exp
}

// The headers an attempt carries: the producer's as they came while tracing
// is off; the attempt's own span, in the producer's trace, while it is on;
// none when the endpoint turns forwarding off.
func TestAttemptTraceHeaders(t *testing.T) {
	for _, tc := range []struct {
		name        string
		on, noTrace bool
		stored      bool
		wantParent  func(string) bool
		wantState   string
	}{
		{"off: as it came", false, false, true, func(p string) bool { return p == producerParent }, producerState},
		{"off: none came", false, false, false, func(p string) bool { return p == "" }, ""},
		{"off: endpoint turned it off", false, true, true, func(p string) bool { return p == "" }, ""},
		{"on: the attempt's span", true, false, true, func(p string) bool {
			return strings.HasPrefix(p, "00-"+producerTraceID+"-") && !strings.Contains(p, producerSpanID)
		}, producerState},
		{"on: endpoint turned it off", true, true, true, func(p string) bool { return p == "" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var exp *tracetest.InMemoryExporter
			if tc.on {
				exp = recordSpans(t)
			}
			p := &fakePoster{res: outbound.Result{StatusCode: 503}}
			task, ep, g := fixture()
			ep.NoTraceContext = tc.noTrace
			if tc.stored {
				task.TraceParent, task.TraceState = producerParent, producerState
			}
			ctx := tracing.WithRemote(t.Context(), task.TraceParent, task.TraceState)
			New(p, "1.0.0").Attempt(ctx, task, ep, g)
			if got := p.header.Get("traceparent"); !tc.wantParent(got) {
				t.Fatalf("traceparent %q", got)
			}
			if got := p.header.Get("tracestate"); got != tc.wantState {
				t.Fatalf("tracestate %q, want %q", got, tc.wantState)
			}
			if !tc.on {
				return
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want the attempt's", len(spans))
			}
			s := spans[0]
			if s.Parent.TraceID().String() != producerTraceID || s.Parent.SpanID().String() != producerSpanID {
				t.Fatalf("attempt span's parent %v, want the producer's span", s.Parent)
			}
			if !tc.noTrace && !strings.Contains(p.header.Get("traceparent"), s.SpanContext.SpanID().String()) {
				t.Fatalf("traceparent %q does not name the attempt's span %s", p.header.Get("traceparent"), s.SpanContext.SpanID())
			}
			attrs := map[attribute.Key]attribute.Value{}
			for _, kv := range s.Attributes {
				attrs[kv.Key] = kv.Value
			}
			if attrs["convoy.delivery.id"].AsString() != "d1" || attrs["convoy.attempt"].AsInt64() != 1 ||
				attrs["http.response.status_code"].AsInt64() != 503 || attrs["convoy.outcome"].AsString() != "http_error" {
				t.Fatalf("attempt span attributes %v", s.Attributes)
			}
		})
	}
}

// While tracing is off an attempt of an event that came without trace
// context costs not one allocation for tracing: no span, no header.
func TestTracingOffAllocatesNothing(t *testing.T) {
	p := &fakePoster{res: outbound.Result{StatusCode: 200}}
	task, ep, g := fixture()
	d := New(p, "1.0.0")
	ctx := t.Context()
	h := http.Header{}
	if n := testing.AllocsPerRun(200, func() { setTraceHeaders(ctx, h, task, ep) }); n != 0 || len(h) != 0 {
		t.Fatalf("trace headers allocate %v times (headers %v)", n, h)
	}
	plain := testing.AllocsPerRun(200, func() { d.attempt(ctx, task, ep, g) })
	instrumented := testing.AllocsPerRun(200, func() { d.Attempt(ctx, task, ep, g) })
	if instrumented != plain {
		t.Fatalf("instrumented attempt allocates %v times, uninstrumented %v", instrumented, plain)
	}
}

// BenchmarkAttempt compares an attempt with tracing off and on.
func BenchmarkAttempt(b *testing.B) {
	p := &fakePoster{res: outbound.Result{StatusCode: 200}}
	task, ep, g := fixture()
	task.TraceParent, task.TraceState = producerParent, producerState
	d := New(p, "1.0.0")
	ctx := tracing.WithRemote(context.Background(), task.TraceParent, task.TraceState)
	b.Run("no span", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.attempt(ctx, task, ep, g)
		}
	})
	b.Run("off", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Attempt(ctx, task, ep, g)
		}
	})
	b.Run("on", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sdktrace.NewBatchSpanProcessor(tracetest.NewNoopExporter())))
		off := tracing.Use(tp)
		defer func() { off(); _ = tp.Shutdown(context.Background()) }()
		b.ReportAllocs()
		for b.Loop() {
			d.Attempt(ctx, task, ep, g)
		}
	})
}
