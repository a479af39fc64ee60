package plan

import (
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
)

func testGroup() *model.Group {
	return &model.Group{UID: "g", Config: model.DefaultGroupConfig()}
}

func TestPlanMatchesEndpointsAndDiscardsForInactive(t *testing.T) {
	ev := &model.Event{UID: ids.New(), GroupID: "g", AppID: "a", EventType: "invoice.paid", CreatedAt: time.Now()}
	eps := []model.Endpoint{
		{UID: "all", Events: []string{"*"}, Status: model.EndpointActive},
		{UID: "invoices", Events: []string{"invoice.*"}, Status: model.EndpointPending},
		{UID: "users", Events: []string{"user.created"}, Status: model.EndpointActive},
		{UID: "off", Events: []string{"*"}, Status: model.EndpointInactive},
	}
	ds := Deliveries(testGroup(), &model.Application{UID: "a"}, ev, eps)
	got := map[string]string{}
	for _, d := range ds {
		got[d.EndpointID] = d.Status
		if d.UID != ids.Delivery(ev.UID, d.EndpointID) {
			t.Errorf("delivery id %s is not derived from event and endpoint", d.UID)
		}
		if d.Metadata.RetryLimit != 10 || d.Metadata.Strategy != model.StrategyLinear {
			t.Errorf("metadata %+v does not carry the group's strategy", d.Metadata)
		}
	}
	want := map[string]string{"all": model.StatusScheduled, "invoices": model.StatusScheduled, "off": model.StatusDiscarded}
	if len(got) != len(want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
	for ep, st := range want {
		if got[ep] != st {
			t.Errorf("endpoint %s: status %q, want %q", ep, got[ep], st)
		}
	}
	sent := 0
	for i := range ds {
		if Sent(&ds[i]) {
			sent++
		}
	}
	if sent != 2 {
		t.Fatalf("%d deliveries to send, want 2 (the discarded one is not sent)", sent)
	}
}

func TestDeliveriesOfADisabledApplicationAreDiscarded(t *testing.T) {
	ev := &model.Event{UID: ids.New(), GroupID: "g", AppID: "a", EventType: "invoice.paid", CreatedAt: time.Now()}
	eps := []model.Endpoint{
		{UID: "on", Events: []string{"*"}, Status: model.EndpointActive},
		{UID: "off", Events: []string{"*"}, Status: model.EndpointInactive},
	}
	ds := Deliveries(testGroup(), &model.Application{UID: "a", IsDisabled: true}, ev, eps)
	if len(ds) != 2 {
		t.Fatalf("%d deliveries, want 2", len(ds))
	}
	for _, d := range ds {
		if d.Status != model.StatusDiscarded || d.Description != "application is disabled" || Sent(&d) {
			t.Errorf("delivery to %s: status %q (%q), want Discarded for the disabled application", d.EndpointID, d.Status, d.Description)
		}
	}
}
