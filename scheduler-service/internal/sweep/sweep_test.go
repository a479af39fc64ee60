package sweep

import (
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func setup(t *testing.T) (*store.Store, *queue.Publisher) {
	t.Helper()
	st, pub, _ := setupJS(t)
	return st, pub
}

func setupJS(t *testing.T) (*store.Store, *queue.Publisher, jetstream.JetStream) {
	t.Helper()
	mongoURI, natsURL := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), mongoURI, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatal(err)
	}
	nc, js, err := queue.Connect(natsURL, "test", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := queue.EnsureStreams(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	return st, queue.NewPublisher(js), js
}

// delivery stores an event and one delivery in status, due at due.
func delivery(t *testing.T, st *store.Store, status string, due time.Time) *model.Delivery {
	t.Helper()
	return deliveryTo(t, st, status, due, false)
}

// deliveryTo is delivery, to an ordered endpoint if ordered.
func deliveryTo(t *testing.T, st *store.Store, status string, due time.Time, ordered bool) *model.Delivery {
	t.Helper()
	ev := model.Event{UID: ids.New(), GroupID: "g", AppID: "a", EventType: "x", Data: []byte(`{"k":1}`), CreatedAt: due}
	d := model.Delivery{
		UID: ids.Delivery(ev.UID, "ep"), GroupID: "g", EventID: ev.UID, AppID: "a", EndpointID: "ep",
		EventType: "x", Status: status, CreatedAt: due, UpdatedAt: due, Ordered: ordered,
		Metadata: model.DeliveryMetadata{NumTrials: 1, RetryLimit: 3, NextSendTime: &due},
	}
	if err := st.InsertEvents(t.Context(), []model.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertDeliveries(t.Context(), []model.Delivery{d}); err != nil {
		t.Fatal(err)
	}
	return &d
}

// restore stores d and its event again.
func restore(t *testing.T, st *store.Store, d *model.Delivery) {
	t.Helper()
	ev := model.Event{UID: d.EventID, GroupID: "g", AppID: "a", EventType: "x", Data: []byte(`{"k":1}`), CreatedAt: d.CreatedAt}
	if err := st.InsertEvents(t.Context(), []model.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := st.InsertDeliveries(t.Context(), []model.Delivery{*d}); err != nil {
		t.Fatal(err)
	}
}

func TestSweepRequeuesOnlyLostWork(t *testing.T) {
	st, pub := setup(t)
	long := time.Now().Add(-time.Hour)
	lostScheduled := delivery(t, st, model.StatusScheduled, long)
	lostRetry := delivery(t, st, model.StatusRetry, long)
	queued := delivery(t, st, model.StatusScheduled, long)
	final := delivery(t, st, model.StatusSuccess, long)
	recent := delivery(t, st, model.StatusScheduled, time.Now())
	orphan := delivery(t, st, model.StatusScheduled, long)
	if _, err := st.DeleteOlderThan(t.Context(), "g", time.Now().Add(time.Minute), 1000); err != nil {
		t.Fatal(err)
	}
	// DeleteOlderThan removed everything; store all but the orphan's event again.
	for _, d := range []*model.Delivery{lostScheduled, lostRetry, queued, final, recent} {
		restore(t, st, d)
	}
	if err := st.InsertDeliveries(t.Context(), []model.Delivery{*orphan}); err != nil {
		t.Fatal(err)
	}

	// queued still has its task on the stream: the sweep must leave it.
	ev, err := st.GetEvent(t.Context(), "g", queued.EventID)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.PublishTasks(t.Context(), []*queuev1.DeliveryTask{queue.NewTask(ev, queued)}); err != nil {
		t.Fatal(err)
	}

	s := New(st, pub, Options{Grace: time.Minute, Batch: 100}, prometheus.NewRegistry(), zap.NewNop())
	n, err := s.Once(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("re-queued %d deliveries, want 2 (the lost Scheduled and Retry)", n)
	}
	for _, d := range []*model.Delivery{lostScheduled, lostRetry, queued} {
		if ok, err := pub.Queued(t.Context(), d.UID); err != nil || !ok {
			t.Errorf("delivery %s (%s) not queued after the sweep (err %v)", d.UID, d.Status, err)
		}
	}
	for _, d := range []*model.Delivery{final, recent} {
		if ok, _ := pub.Queued(t.Context(), d.UID); ok {
			t.Errorf("delivery %s (%s) was queued by the sweep; it should be left alone", d.UID, d.Status)
		}
	}
	if got, err := st.DeliveryByID(t.Context(), orphan.UID); err != nil || got.Status != model.StatusDiscarded {
		t.Errorf("delivery of a never-stored event: %+v (err %v), want Discarded", got, err)
	}
	// A second sweep finds everything queued: nothing more to do.
	if n, err := s.Once(t.Context()); err != nil || n != 0 {
		t.Fatalf("second sweep re-queued %d (err %v), want 0", n, err)
	}
}

// Deliveries held back behind an ordered endpoint's head are overdue and
// queued; a backlog of them larger than a batch must not hide lost work, and
// their endpoint's consumer, gone missing, is made again.
func TestSweepLooksPastAnOrderedBacklog(t *testing.T) {
	st, pub, js := setupJS(t)
	long := time.Now().Add(-time.Hour)
	var tasks []*queuev1.DeliveryTask
	for i := range 7 {
		d := deliveryTo(t, st, model.StatusScheduled, long.Add(time.Duration(i)*time.Second), true)
		ev, err := st.GetEvent(t.Context(), "g", d.EventID)
		if err != nil {
			t.Fatal(err)
		}
		tasks = append(tasks, queue.NewTask(ev, d))
	}
	if err := pub.PublishTasks(t.Context(), tasks); err != nil {
		t.Fatal(err)
	}
	lost := delivery(t, st, model.StatusRetry, long.Add(time.Minute))
	if err := js.DeleteConsumer(t.Context(), queue.StreamOrdered, queue.OrderedConsumer("ep")); err != nil {
		t.Fatal(err)
	}

	s := New(st, pub, Options{Grace: time.Minute, Batch: 2}, prometheus.NewRegistry(), zap.NewNop())
	n, err := s.Once(t.Context())
	if err != nil || n != 1 {
		t.Fatalf("re-queued %d (err %v), want the one lost delivery behind the ordered backlog", n, err)
	}
	if where, err := pub.Where(t.Context(), lost.UID); err != nil || where != queue.StreamDispatch {
		t.Fatalf("lost delivery is on %q (err %v), want the dispatch stream", where, err)
	}
	if _, err := js.Consumer(t.Context(), queue.StreamOrdered, queue.OrderedConsumer("ep")); err != nil {
		t.Fatalf("the ordered endpoint's consumer was not made again: %v", err)
	}
}
