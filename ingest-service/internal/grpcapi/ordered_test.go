package grpcapi_test

import (
	"testing"

	"convoy/core/queue"
	"convoy/ingest-service/internal/grpcapi"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

func TestOrderedEndpoint(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "ordered")
	a := h.app(t, g.Uid, "shop")
	ep, err := h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{
		GroupId: g.Uid, AppId: a.Uid, Url: "https://example.com/hook", Events: []string{"*"}, Ordered: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !ep.Ordered {
		t.Fatal("created endpoint does not answer ordered")
	}

	t.Run("update sets and keeps ordered", func(t *testing.T) {
		on, off := true, false
		for _, tc := range []struct {
			name string
			set  *bool
			want bool
		}{
			{"absent keeps it on", nil, true},
			{"false turns it off", &off, false},
			{"absent keeps it off", nil, false},
			{"true turns it on", &on, true},
		} {
			got, err := h.api.UpdateEndpoint(h.admin, &ingestv1.UpdateEndpointRequest{GroupId: g.Uid, AppId: a.Uid, EndpointId: ep.Uid, Ordered: tc.set})
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			read, err := h.api.GetEndpoint(h.admin, &ingestv1.GetEndpointRequest{GroupId: g.Uid, AppId: a.Uid, EndpointId: ep.Uid})
			if err != nil {
				t.Fatal(err)
			}
			if got.Ordered != tc.want || read.Ordered != tc.want {
				t.Errorf("%s: update answers %v, get %v; want %v", tc.name, got.Ordered, read.Ordered, tc.want)
			}
		}
	})

	t.Run("deliveries are queued in order, stored Scheduled and named after the head they wait for", func(t *testing.T) {
		var deliveries []*ingestv1.Delivery
		for range 3 {
			ev, err := h.api.CreateEvent(h.admin, &ingestv1.CreateEventRequest{GroupId: g.Uid, AppId: a.Uid, EventType: "x", Data: []byte(`{}`)})
			if err != nil {
				t.Fatal(err)
			}
			ds := h.deliveries(t, g.Uid, &ingestv1.DeliveryFilter{EventId: ev.Uid})
			if len(ds) != 1 {
				t.Fatalf("event %s has %d stored deliveries, want its one ordered delivery stored at once", ev.Uid, len(ds))
			}
			deliveries = append(deliveries, ds[0])
		}
		pub := queue.NewPublisher(h.js)
		head, err := pub.OrderedHead(t.Context(), ep.Uid)
		if err != nil || head != deliveries[0].Uid {
			t.Fatalf("head %q (%v), want the first event's delivery %s", head, err, deliveries[0].Uid)
		}
		for i, d := range deliveries {
			if where, err := pub.Where(t.Context(), d.Uid); err != nil || where != queue.StreamOrdered {
				t.Errorf("delivery %d is on %q (%v), want the ordered stream", i, where, err)
			}
			want := grpcapi.WaitingFor(head)
			if i == 0 {
				want = "" // the head waits for nothing
			}
			got, err := h.api.GetDelivery(h.admin, &ingestv1.GetDeliveryRequest{GroupId: g.Uid, DeliveryId: d.Uid})
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != "Scheduled" || d.Description != want || got.Description != want {
				t.Errorf("delivery %d: %s, listed %q, got %q; want Scheduled %q", i, d.Status, d.Description, got.Description, want)
			}
		}
	})
}
