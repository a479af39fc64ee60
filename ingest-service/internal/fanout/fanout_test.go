package fanout

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	queuev1 "convoy/proto/convoy/queue/v1"
)

// journal records the order of store and queue steps across both fakes.
type journal struct{ calls []string }

type fakeStore struct {
	*journal
	events     []model.Event
	deliveries []model.Delivery
}

func (f *fakeStore) InsertEvents(_ context.Context, evs []model.Event) error {
	f.calls = append(f.calls, "events")
	f.events = append(f.events, evs...)
	return nil
}

func (f *fakeStore) InsertDeliveries(_ context.Context, ds []model.Delivery) error {
	f.calls = append(f.calls, "deliveries")
	f.deliveries = append(f.deliveries, ds...)
	return nil
}

type fakePub struct {
	*journal
	tasks []*queuev1.DeliveryTask
	fail  bool
}

func (f *fakePub) PublishTasks(_ context.Context, ts []*queuev1.DeliveryTask) error {
	f.calls = append(f.calls, "publish")
	if f.fail {
		return errors.New("nats down")
	}
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
	sent := 0
	for i := range ds {
		if queued(&ds[i]) {
			sent++
		}
	}
	if sent != 2 {
		t.Fatalf("%d deliveries to send, want 2 (the discarded one is not sent)", sent)
	}
}

// Held deliveries are stored, deliveries to be sent are queued (not stored:
// the dispatcher writes them), and the event is stored last.
func TestCommitQueuesThenStoresTheEventLast(t *testing.T) {
	j := &journal{}
	st, pub := &fakeStore{journal: j}, &fakePub{journal: j}
	f := New(st, pub, nopObserver{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx)

	ev := &model.Event{UID: ids.New(), GroupID: "g", AppID: "a", EventType: "x", Data: []byte(`{"a":1}`), CreatedAt: time.Now()}
	ds := Plan(testGroup(), ev, []model.Endpoint{
		{UID: "on", Events: []string{"*"}, Status: model.EndpointActive},
		{UID: "off", Events: []string{"*"}, Status: model.EndpointInactive},
	})
	if err := f.Commit(t.Context(), Accepted{Event: ev, Deliveries: ds}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"deliveries", "publish", "events"}; !slices.Equal(j.calls, want) {
		t.Fatalf("steps %v, want %v", j.calls, want)
	}
	if len(st.deliveries) != 1 || st.deliveries[0].EndpointID != "off" || st.deliveries[0].Status != model.StatusDiscarded {
		t.Fatalf("stored deliveries %v, want only the one held back (Discarded)", st.deliveries)
	}
	if len(pub.tasks) != 1 || pub.tasks[0].EndpointId != "on" || pub.tasks[0].Attempt != 1 || string(pub.tasks[0].Data) != `{"a":1}` {
		t.Fatalf("published %v", pub.tasks)
	}
	if len(st.events) != 1 || st.events[0].UID != ev.UID {
		t.Fatalf("stored events %v", st.events)
	}
}

// When the queue fails the producer gets the error and the event is not
// stored: a stored event always has its fan-out queued.
func TestCommitFailsWhenTheQueueFailsAndStoresNoEvent(t *testing.T) {
	j := &journal{}
	st, pub := &fakeStore{journal: j}, &fakePub{journal: j, fail: true}
	f := New(st, pub, nopObserver{})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go f.Run(ctx)
	ev := &model.Event{UID: ids.New(), EventType: "x", CreatedAt: time.Now()}
	ds := Plan(testGroup(), ev, []model.Endpoint{{UID: "e1", Events: []string{"*"}}})
	if err := f.Commit(t.Context(), Accepted{Event: ev, Deliveries: ds}); err == nil {
		t.Fatal("commit succeeded although the queue failed")
	}
	if len(st.events) != 0 {
		t.Fatalf("stored %d events whose deliveries were not queued", len(st.events))
	}
}

type nopObserver struct{}

func (nopObserver) Committed(int, []string) {}
func (nopObserver) CommitFailed(string)     {}
