package fanout

import (
	"context"
	"errors"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	queuev1 "convoy/proto/convoy/queue/v1"
)

type fakeStore struct {
	calls      []string
	events     []model.Event
	deliveries []model.Delivery
	failOn     string
}

func (f *fakeStore) InsertEvents(_ context.Context, evs []model.Event) error {
	f.calls = append(f.calls, "events")
	if f.failOn == "events" {
		return errors.New("store down")
	}
	f.events = append(f.events, evs...)
	return nil
}

func (f *fakeStore) InsertDeliveries(_ context.Context, ds []model.Delivery) error {
	f.calls = append(f.calls, "deliveries")
	f.deliveries = append(f.deliveries, ds...)
	return nil
}

type fakePub struct{ tasks []*queuev1.DeliveryTask }

func (f *fakePub) PublishTasks(_ context.Context, ts []*queuev1.DeliveryTask) error {
	f.tasks = append(f.tasks, ts...)
	return nil
}

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
	ds := Plan(testGroup(), ev, eps)
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
	if tasks := Tasks(ev, ds); len(tasks) != 2 {
		t.Fatalf("%d tasks, want 2 (the discarded delivery is not sent)", len(tasks))
	}
}

func TestCommitStoresDeliveriesThenTheEventThenPublishes(t *testing.T) {
	st, pub := &fakeStore{}, &fakePub{}
	f := New(st, pub, nopObserver{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx)

	ev := &model.Event{UID: ids.New(), GroupID: "g", AppID: "a", EventType: "x", Data: []byte(`{"a":1}`), CreatedAt: time.Now()}
	ds := Plan(testGroup(), ev, []model.Endpoint{{UID: "e1", Events: []string{"*"}, Status: model.EndpointActive}})
	if err := f.Commit(t.Context(), Accepted{Event: ev, Deliveries: ds}); err != nil {
		t.Fatal(err)
	}
	if len(st.calls) != 2 || st.calls[0] != "deliveries" || st.calls[1] != "events" {
		t.Fatalf("store calls %v, want deliveries then the event", st.calls)
	}
	if len(pub.tasks) != 1 || pub.tasks[0].Attempt != 1 || string(pub.tasks[0].Data) != `{"a":1}` {
		t.Fatalf("published %v", pub.tasks)
	}
}

func TestCommitFailsWhenTheStoreFailsAndPublishesNothing(t *testing.T) {
	st, pub := &fakeStore{failOn: "events"}, &fakePub{}
	f := New(st, pub, nopObserver{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx)
	ev := &model.Event{UID: ids.New(), EventType: "x", CreatedAt: time.Now()}
	ds := Plan(testGroup(), ev, []model.Endpoint{{UID: "e1", Events: []string{"*"}}})
	if err := f.Commit(t.Context(), Accepted{Event: ev, Deliveries: ds}); err == nil {
		t.Fatal("commit succeeded although the store failed")
	}
	if len(pub.tasks) != 0 {
		t.Fatalf("published %d tasks for an event that was not stored", len(pub.tasks))
	}
}

type nopObserver struct{}

func (nopObserver) Committed(int, []string) {}
func (nopObserver) CommitFailed(string)     {}
