package grpcapi_test

import (
	"testing"

	"convoy/core/ids"
	"convoy/core/tracing"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/metadata"
)

// A producer's trace context comes as gRPC metadata (the standard keys from
// a gRPC producer, the gateway's own keys from an HTTP one); it is stored
// with the event as it came and put on every task, and an invalid one is
// ignored without refusing the event.
func TestEventKeepsProducerTraceContext(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "trace")
	app := h.app(t, g.Uid, "shop")
	ep := h.endpoint(t, g.Uid, app.Uid, "*")
	const (
		parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
		other  = "00-11111111111111111111111111111111-2222222222222222-00"
	)
	for _, tc := range []struct {
		name                  string
		md                    []string
		wantParent, wantState string
	}{
		{"none", nil, "", ""},
		{"gRPC producer", []string{tracing.HeaderTraceParent, parent, tracing.HeaderTraceState, "v=1"}, parent, "v=1"},
		{"through the gateway: the producer's, not the gateway's span",
			[]string{tracing.HeaderTraceParent, other, tracing.MetadataProducerParent, parent, tracing.MetadataProducerState, "v=2"}, parent, "v=2"},
		{"invalid is ignored", []string{tracing.HeaderTraceParent, "00-nothex-01", tracing.HeaderTraceState, "v=1"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(h.admin, tc.md...)
			ev, err := h.api.CreateEvent(ctx, &ingestv1.CreateEventRequest{
				GroupId: g.Uid, AppId: app.Uid, EventType: "invoice.paid", Data: []byte(`{"n":1}`),
			})
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.api.GetEvent(h.admin, &ingestv1.GetEventRequest{GroupId: g.Uid, EventId: ev.Uid})
			if err != nil {
				t.Fatal(err)
			}
			if got.TraceParent != tc.wantParent || got.TraceState != tc.wantState {
				t.Fatalf("stored %q %q, want %q %q", got.TraceParent, got.TraceState, tc.wantParent, tc.wantState)
			}
			task := h.task(t, ids.Delivery(ev.Uid, ep.Uid))
			if task == nil || task.TraceParent != tc.wantParent || task.TraceState != tc.wantState {
				t.Fatalf("task %v, want trace context %q %q", task, tc.wantParent, tc.wantState)
			}
		})
	}
}

// forward_trace_context defaults to true, can be turned off at creation and
// by an update, and an update that does not name it keeps it.
func TestEndpointForwardTraceContext(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "trace")
	app := h.app(t, g.Uid, "shop")
	off := false
	on := true
	ep, err := h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{GroupId: g.Uid, AppId: app.Uid, Url: "https://example.com/a"})
	if err != nil || !ep.ForwardTraceContext {
		t.Fatalf("default endpoint %v (err %v), want forward_trace_context true", ep, err)
	}
	ep, err = h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{GroupId: g.Uid, AppId: app.Uid, Url: "https://example.com/b", ForwardTraceContext: &off})
	if err != nil || ep.ForwardTraceContext {
		t.Fatalf("endpoint created with it off: %v (err %v)", ep, err)
	}
	for _, step := range []struct {
		set  *bool
		want bool
	}{{nil, false}, {&on, true}, {nil, true}, {&off, false}} {
		ep, err = h.api.UpdateEndpoint(h.admin, &ingestv1.UpdateEndpointRequest{GroupId: g.Uid, AppId: app.Uid, EndpointId: ep.Uid,
			Description: str("x"), ForwardTraceContext: step.set})
		if err != nil || ep.ForwardTraceContext != step.want {
			t.Fatalf("update setting %v: %v (err %v), want %v", step.set, ep.GetForwardTraceContext(), err, step.want)
		}
	}
}
