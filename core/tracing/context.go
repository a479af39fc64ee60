package tracing

import (
	"context"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// W3C header names (also the gRPC metadata keys a gRPC producer sends).
const (
	HeaderTraceParent = "traceparent"
	HeaderTraceState  = "tracestate"
)

// The gateway passes the producer's own headers to ingest under these
// metadata keys, since the standard keys carry the gateway's span while
// tracing is on.
const (
	MetadataProducerParent = "convoy-trace-parent"
	MetadataProducerState  = "convoy-trace-state"
)

// maxTraceStateLen bounds a stored tracestate: W3C allows 32 members, and
// 512 characters is what every implementation must keep.
const maxTraceStateLen = 512

// Producer returns the trace context a producer sent, as it came, or two
// empty strings when traceparent is not a valid W3C traceparent (the
// recommendation: an invalid one is ignored, never refused). A tracestate
// is kept only with a valid traceparent, and only within W3C's bounds.
func Producer(traceParent, traceState string) (string, string) {
	if !ValidParent(traceParent) {
		return "", ""
	}
	if len(traceState) > maxTraceStateLen || !headerSafe(traceState) {
		traceState = ""
	}
	return traceParent, traceState
}

// ValidParent reports whether s is a W3C traceparent naming a real trace
// ("00-<32 hex>-<16 hex>-<2 hex>", neither id all zeros; later versions
// may append fields).
func ValidParent(s string) bool {
	if len(s) < 55 || (len(s) > 55 && s[55] != '-') {
		return false
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' || !headerSafe(s) {
		return false
	}
	if s[0:2] == "ff" || !lowerHex(s[0:2]) || !lowerHex(s[53:55]) {
		return false
	}
	if s[0:2] == "00" && len(s) != 55 {
		return false
	}
	return lowerHex(s[3:35]) && !zeros(s[3:35]) && lowerHex(s[36:52]) && !zeros(s[36:52])
}

func lowerHex(s string) bool {
	for i := 0; i < len(s); i++ {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f') {
			return false
		}
	}
	return true
}

func zeros(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] != '0' {
			return false
		}
	}
	return true
}

// headerSafe: visible ASCII and spaces only, so that a value can go into
// an HTTP header and gRPC metadata as it is.
func headerSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// WithRemote returns ctx with the remote span context named by a stored
// traceparent/tracestate as its parent (ctx unchanged when there is none).
func WithRemote(ctx context.Context, traceParent, traceState string) context.Context {
	if traceParent == "" {
		return ctx
	}
	c := propagation.MapCarrier{HeaderTraceParent: traceParent}
	if traceState != "" {
		c[HeaderTraceState] = traceState
	}
	return Propagator.Extract(ctx, c)
}

// Inject returns the W3C context of ctx's span as a map for a task field,
// or nil when ctx has no span.
func Inject(ctx context.Context) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return nil
	}
	c := propagation.MapCarrier{}
	Propagator.Inject(ctx, c)
	return c
}

// Extract returns ctx with the span context of a task field as parent.
func Extract(ctx context.Context, fields map[string]string) context.Context {
	if len(fields) == 0 {
		return ctx
	}
	return Propagator.Extract(ctx, propagation.MapCarrier(fields))
}
