package grpcapi_test

import (
	"strings"
	"testing"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// A test event goes to the one endpoint named, whatever it subscribes to and
// whatever its filter, is marked test, is attempted once, and is exempt from
// the group's event-type catalog.
func TestSendTestEvent(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "test-events").Uid
	app := h.app(t, g, "shop").Uid
	target := filteredEndpoint(t, h, g, app, `{"body": {"never": "matches"}}`)
	_ = must(h.api.UpdateEndpoint(h.admin, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: target.Uid, Events: []string{"invoice.paid"}, SetEvents: true}))(t)
	bystander := h.endpoint(t, g, app) // subscribed to everything
	_ = must(h.api.UpdateGroup(h.admin, &ingestv1.UpdateGroupRequest{GroupId: g, Config: &ingestv1.GroupConfigInput{EnforceEventTypes: proto.Bool(true)}}))(t)

	res := must(h.api.SendTestEvent(h.admin, &ingestv1.SendTestEventRequest{GroupId: g, AppId: app, EndpointId: target.Uid}))(t)
	ev := res.Event
	if !ev.Test || ev.EndpointId != target.Uid || ev.EventType != "convoy.test" || !strings.Contains(string(ev.Data), "test event") {
		t.Fatalf("test event = %v", ev)
	}
	if got := queuedTo(t, h, ev, target, bystander); !got[0] || got[1] {
		t.Fatalf("queued to target, bystander = %v, want only the target", got)
	}
	task := h.task(t, res.DeliveryId)
	if task == nil || task.RetryLimit != 1 || task.Attempt != 1 {
		t.Fatalf("task of %s = %v, want one attempt and no retry", res.DeliveryId, task)
	}
	stored := must(h.api.GetEvent(h.admin, &ingestv1.GetEventRequest{GroupId: g, EventId: ev.Uid}))(t)
	if !stored.Test || stored.EndpointId != target.Uid || stored.MatchedEndpoints != 1 {
		t.Errorf("stored event = %v", stored)
	}

	custom := must(h.api.SendTestEvent(h.admin, &ingestv1.SendTestEventRequest{GroupId: g, AppId: app, EndpointId: target.Uid, EventType: "invoice.paid", Data: []byte(`{"id":42}`)}))(t)
	if custom.Event.EventType != "invoice.paid" || string(custom.Event.Data) != `{"id":42}` {
		t.Errorf("custom test event = %v", custom.Event)
	}

	for _, tt := range []struct {
		name string
		req  *ingestv1.SendTestEventRequest
		code codes.Code
		want string
	}{
		{"bad data", &ingestv1.SendTestEventRequest{GroupId: g, AppId: app, EndpointId: target.Uid, Data: []byte(`{`)}, codes.InvalidArgument, "data must be valid JSON"},
		{"unknown endpoint", &ingestv1.SendTestEventRequest{GroupId: g, AppId: app, EndpointId: "nope"}, codes.NotFound, "endpoint"},
	} {
		_, err := h.api.SendTestEvent(h.admin, tt.req)
		if status.Code(err) != tt.code || !strings.Contains(status.Convert(err).Message(), tt.want) {
			t.Errorf("%s: %v, want %v with %q", tt.name, err, tt.code, tt.want)
		}
	}
}
