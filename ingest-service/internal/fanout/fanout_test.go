package fanout

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/plan"
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
	ds := plan.Deliveries(testGroup(), &model.Application{UID: "a"}, ev, []model.Endpoint{
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
	ds := plan.Deliveries(testGroup(), &model.Application{UID: "a"}, ev, []model.Endpoint{{UID: "e1", Events: []string{"*"}}})
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
