package reconcile

import (
	"crypto/rand"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/plan"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/oklog/ulid/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/zap"
)

type fixture struct {
	st  *store.Store
	js  jetstream.JetStream
	pub *queue.Publisher
	g   *model.Group
	app string
	now time.Time
}

func setup(t *testing.T) *fixture {
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
	g := &model.Group{UID: ids.New(), Name: "g", Config: model.DefaultGroupConfig()}
	if err := st.CreateGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	app := &model.Application{UID: ids.New(), GroupID: g.UID, Name: "shop"}
	if err := st.CreateApplication(t.Context(), app); err != nil {
		t.Fatal(err)
	}
	return &fixture{st: st, js: js, pub: queue.NewPublisher(js), g: g, app: app.UID, now: time.Now().UTC().Truncate(time.Millisecond)}
}

// endpoint stores an endpoint of the fixture's application created at.
func (f *fixture) endpoint(t *testing.T, events []string, status string, at time.Time) model.Endpoint {
	t.Helper()
	ep := model.Endpoint{UID: ids.New(), GroupID: f.g.UID, AppID: f.app, URL: "https://example.com/hook",
		Events: events, Status: status, CreatedAt: at, UpdatedAt: at}
	if err := f.st.CreateEndpoint(t.Context(), &ep); err != nil {
		t.Fatal(err)
	}
	return ep
}

// event stores an event accepted at `at` (its id carries that time, as
// ingest's ids do).
func (f *fixture) event(t *testing.T, at time.Time) *model.Event {
	t.Helper()
	ev := model.Event{UID: ulid.MustNew(ulid.Timestamp(at), rand.Reader).String(), GroupID: f.g.UID, AppID: f.app,
		EventType: "invoice.paid", Data: []byte(`{"n":1}`), CreatedAt: at}
	if err := f.st.InsertEvents(t.Context(), []model.Event{ev}); err != nil {
		t.Fatal(err)
	}
	return &ev
}

func (f *fixture) reconciler(reg *prometheus.Registry, batch int) *Reconciler {
	r := New(f.st, f.pub, Options{Interval: time.Second, Grace: time.Minute, Lookback: time.Hour, Batch: batch}, reg, zap.NewNop())
	r.now = func() time.Time { return f.now }
	return r
}

func (f *fixture) queued(t *testing.T, deliveryID string) bool {
	t.Helper()
	ok, err := f.pub.Queued(t.Context(), deliveryID)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestOnceRequeuesOnlyDeliveriesNeitherStoredNorQueued(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	at := f.now.Add(-10 * time.Minute)
	stored := f.endpoint(t, []string{"*"}, model.EndpointActive, at.Add(-time.Hour))
	queuedEp := f.endpoint(t, []string{"invoice.*"}, model.EndpointActive, at.Add(-time.Hour))
	lost := f.endpoint(t, []string{"invoice.paid"}, model.EndpointPending, at.Add(-time.Hour))
	inactive := f.endpoint(t, []string{"*"}, model.EndpointInactive, at.Add(-time.Hour))
	unsubscribed := f.endpoint(t, []string{"user.created"}, model.EndpointActive, at.Add(-time.Hour))
	later := f.endpoint(t, []string{"*"}, model.EndpointActive, at.Add(time.Minute))

	ev := f.event(t, at)
	did := func(ep model.Endpoint) string { return ids.Delivery(ev.UID, ep.UID) }
	done := plan.NewDelivery(f.g, ev, stored.UID, at)
	done.Status = model.StatusSuccess
	if err := f.st.InsertDeliveries(ctx, []model.Delivery{done}); err != nil {
		t.Fatal(err)
	}
	waiting := plan.NewDelivery(f.g, ev, queuedEp.UID, at)
	if err := f.pub.PublishTasks(ctx, []*queuev1.DeliveryTask{queue.NewTask(ev, &waiting)}); err != nil {
		t.Fatal(err)
	}
	recent := f.event(t, f.now.Add(-10*time.Second)) // within the grace period
	ancient := f.event(t, f.now.Add(-2*time.Hour))   // before the lookback window
	otherGroup := *ev                                // an event of a deleted group, just before ev
	otherGroup.UID, otherGroup.GroupID = ulid.MustNew(ulid.Timestamp(at.Add(-time.Millisecond)), rand.Reader).String(), "gone"
	if err := f.st.InsertEvents(ctx, []model.Event{otherGroup}); err != nil {
		t.Fatal(err)
	}

	reg := prometheus.NewRegistry()
	r := f.reconciler(reg, 100)
	res, err := r.Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != 1 || res.Examined != 2 || res.Full {
		t.Fatalf("pass %+v, want 1 re-queued of 2 events examined (the old event and the deleted group's)", res)
	}
	if got := testutil.ToFloat64(r.requeued); got != 1 {
		t.Fatalf("convoy_reconcile_requeued_total = %v, want 1", got)
	}
	for _, tc := range []struct {
		name       string
		deliveryID string
		wantQueued bool
	}{
		{"lost", did(lost), true},
		{"already queued", did(queuedEp), true},
		{"stored", did(stored), false},
		{"inactive endpoint", did(inactive), false},
		{"not subscribed", did(unsubscribed), false},
		{"endpoint created after the event", did(later), false},
		{"event within the grace period", ids.Delivery(recent.UID, lost.UID), false},
		{"event before the lookback", ids.Delivery(ancient.UID, lost.UID), false},
	} {
		if got := f.queued(t, tc.deliveryID); got != tc.wantQueued {
			t.Errorf("%s: queued = %v, want %v", tc.name, got, tc.wantQueued)
		}
	}
	d, err := f.st.DeliveryByID(ctx, did(inactive))
	if err != nil || d.Status != model.StatusDiscarded {
		t.Errorf("delivery to the inactive endpoint: %+v (err %v), want stored Discarded", d, err)
	}

	// The lost delivery was re-queued and the other is still queued: the
	// event is not settled, so the next pass looks at it again (and only at
	// it: the mark passed the deleted group's), and finds both lost once the
	// stream is purged.
	purge(t, f.js, queue.StreamDispatch)
	res, err = r.Once(ctx)
	if err != nil || res.Examined != 1 || res.Requeued != 2 {
		t.Fatalf("pass after a purge %+v (err %v), want both queued deliveries re-queued", res, err)
	}
	// Once the dispatcher has stored them, the event is settled and the
	// mark moves past it.
	f.store(t, ev, lost, queuedEp)
	for _, want := range []int{1, 0} {
		res, err = r.Once(ctx)
		if err != nil || res.Examined != want || res.Requeued != 0 {
			t.Fatalf("pass %+v (err %v), want %d examined and nothing re-queued", res, err, want)
		}
	}
	// A minute on, the recent event is past the grace period.
	f.now = f.now.Add(time.Minute)
	res, err = r.Once(ctx)
	if err != nil || res.Examined != 1 || res.Requeued != 4 {
		t.Fatalf("pass after the grace period %+v (err %v), want the recent event's four deliveries re-queued (the endpoint made after the first event predates this one)", res, err)
	}
}

// store stores ev's deliveries to eps, as the dispatcher does after their first attempt.
func (f *fixture) store(t *testing.T, ev *model.Event, eps ...model.Endpoint) {
	t.Helper()
	for _, ep := range eps {
		d := plan.NewDelivery(f.g, ev, ep.UID, ev.CreatedAt)
		d.Status = model.StatusSuccess
		if err := f.st.InsertDeliveries(t.Context(), []model.Delivery{d}); err != nil {
			t.Fatal(err)
		}
	}
}

// A purged stream keeps the ids of the messages it held; re-queueing under
// the lost message's id would be dropped as a duplicate.
func TestOnceRequeuesAfterAPurgeWithinTheDuplicateWindow(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	at := f.now.Add(-2 * time.Minute)
	ep := f.endpoint(t, []string{"*"}, model.EndpointActive, at.Add(-time.Hour))
	var evs []*model.Event
	for i := range 5 {
		ev := f.event(t, at.Add(time.Duration(i)*time.Millisecond))
		d := plan.NewDelivery(f.g, ev, ep.UID, ev.CreatedAt)
		if err := f.pub.PublishTasks(ctx, []*queuev1.DeliveryTask{queue.NewTask(ev, &d)}); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, ev)
	}
	r := f.reconciler(prometheus.NewRegistry(), 100)
	// Purged once, and again once re-queued: the second re-queue finds its
	// own id taken as well.
	for round := range 2 {
		purge(t, f.js, queue.StreamDispatch)
		res, err := r.Once(ctx)
		if err != nil || res.Requeued != 5 {
			t.Fatalf("round %d: pass %+v (err %v), want 5 re-queued", round, res, err)
		}
		info, err := mustStream(t, f.js, queue.StreamDispatch).Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs != 5 {
			t.Fatalf("round %d: dispatch stream holds %d messages, want 5", round, info.State.Msgs)
		}
	}
	// Re-queued again while its re-queue is still there: nothing more.
	if res, err := r.Once(ctx); err != nil || res.Requeued != 0 || res.Examined != 5 {
		t.Fatalf("pass with the re-queues on the stream %+v (err %v), want 5 examined, none re-queued", res, err)
	}
}

// Passes go a batch at a time; the mark stops at the first event whose
// deliveries still wait on the dispatch stream.
func TestOnceAdvancesTheMarkOverSettledEventsOnly(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	at := f.now.Add(-2 * time.Minute)
	ep := f.endpoint(t, []string{"*"}, model.EndpointActive, at.Add(-time.Hour))
	var evs []*model.Event
	for i := range 5 {
		evs = append(evs, f.event(t, at.Add(time.Duration(i)*time.Millisecond)))
	}
	for _, ev := range evs[:2] {
		f.store(t, ev, ep)
	}
	waiting := plan.NewDelivery(f.g, evs[2], ep.UID, evs[2].CreatedAt)
	if err := f.pub.PublishTasks(ctx, []*queuev1.DeliveryTask{queue.NewTask(evs[2], &waiting)}); err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs[3:] {
		f.store(t, ev, ep)
	}
	r := f.reconciler(prometheus.NewRegistry(), 2)
	for _, tc := range []struct {
		name     string
		examined int
		more     bool
	}{
		{"first batch, settled", 2, true},
		{"stops at the waiting event", 2, false},
		{"still there", 2, false},
	} {
		res, err := r.Once(ctx)
		if err != nil || res.Examined != tc.examined || res.More != tc.more || res.Requeued != 0 {
			t.Fatalf("%s: pass %+v (err %v), want %d examined, more %v", tc.name, res, err, tc.examined, tc.more)
		}
	}
	// The waiting event is two minutes old, the grace one minute.
	if got := testutil.ToFloat64(r.lag); got < 59 || got > 61 {
		t.Fatalf("lag %v s, want about 60 s: the waiting event's age less the grace", got)
	}
	f.store(t, evs[2], ep)
	for _, want := range []int{2, 1, 0} {
		res, err := r.Once(ctx)
		if err != nil || res.Examined != want {
			t.Fatalf("pass %+v (err %v), want %d examined", res, err, want)
		}
	}
	if got := testutil.ToFloat64(r.lag); got != 0 {
		t.Fatalf("lag %v s once caught up, want 0", got)
	}
}

// A pass checks its events' deliveries a few events at a time; what it finds
// does not depend on where the groups split.
func TestOnceChecksEventsInGroups(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	defer func(n int) { checkGroup = n }(checkGroup)
	checkGroup = 2 // two deliveries: a group of two events
	at := f.now.Add(-2 * time.Minute)
	ep := f.endpoint(t, []string{"*"}, model.EndpointActive, at.Add(-time.Hour))
	var evs []*model.Event
	for i := range 5 {
		ev := f.event(t, at.Add(time.Duration(i)*time.Millisecond))
		if i != 1 && i != 4 { // 1 and 4 lost their deliveries, one in each of two groups
			f.store(t, ev, ep)
		}
		evs = append(evs, ev)
	}
	r := f.reconciler(prometheus.NewRegistry(), 10)
	res, err := r.Once(ctx)
	if err != nil || res.Examined != 5 || res.Requeued != 2 {
		t.Fatalf("pass %+v (err %v), want 5 examined and 2 re-queued", res, err)
	}
	for i, ev := range evs {
		if lost := i == 1 || i == 4; f.queued(t, ids.Delivery(ev.UID, ep.UID)) != lost {
			t.Errorf("event %d's delivery queued %v, want %v (only the lost ones are queued again)", i, !lost, lost)
		}
	}
}

func mustStream(t *testing.T, js jetstream.JetStream, name string) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(t.Context(), name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func purge(t *testing.T, js jetstream.JetStream, name string) {
	t.Helper()
	if err := mustStream(t, js, name).Purge(t.Context()); err != nil {
		t.Fatal(err)
	}
}

// Reconciliation routes as accepting did: an endpoint whose filter excluded
// the event gets nothing, and a broadcast's or owner fan-out's lost
// deliveries are found across the applications it went to.
func TestOnceRoutesFiltersBroadcastsAndFanouts(t *testing.T) {
	f := setup(t)
	ctx := t.Context()
	at := f.now.Add(-10 * time.Minute)
	owned := &model.Application{UID: ids.New(), GroupID: f.g.UID, Name: "owned", OwnerID: "acme"}
	disabled := &model.Application{UID: ids.New(), GroupID: f.g.UID, Name: "off", IsDisabled: true}
	for _, a := range []*model.Application{owned, disabled} {
		if err := f.st.CreateApplication(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	mk := func(appID, filter string) model.Endpoint {
		ep := model.Endpoint{UID: ids.New(), GroupID: f.g.UID, AppID: appID, URL: "https://example.com/hook",
			Events: []string{"*"}, Status: model.EndpointActive, Filter: filter, CreatedAt: at.Add(-time.Hour), UpdatedAt: at.Add(-time.Hour)}
		if err := f.st.CreateEndpoint(ctx, &ep); err != nil {
			t.Fatal(err)
		}
		return ep
	}
	plain := mk(f.app, "")
	excluded := mk(f.app, `{"body":{"n":{"$gt":5}}}`)
	ownedEp := mk(owned.UID, "")
	offEp := mk(disabled.UID, "")

	single := f.event(t, at)
	// Broadcast and fan-out events belong to no application.
	groupEvent := func(at time.Time, owner string) *model.Event {
		ev := model.Event{UID: ulid.MustNew(ulid.Timestamp(at), rand.Reader).String(), GroupID: f.g.UID, OwnerID: owner,
			EventType: "invoice.paid", Data: []byte(`{"n":1}`), CreatedAt: at}
		if err := f.st.InsertEvents(ctx, []model.Event{ev}); err != nil {
			t.Fatal(err)
		}
		return &ev
	}
	broadcast := groupEvent(at.Add(time.Millisecond), "")
	fanout := groupEvent(at.Add(2*time.Millisecond), "acme")

	res, err := f.reconciler(prometheus.NewRegistry(), 100).Once(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// single: plain (excluded filtered out); broadcast: plain, excluded
	// filtered out, owned (off's is stored Discarded); fan-out: owned only.
	if res.Requeued != 4 {
		t.Fatalf("pass %+v, want 4 re-queued", res)
	}
	for _, c := range []struct {
		ev     *model.Event
		ep     model.Endpoint
		queued bool
	}{
		{single, plain, true}, {single, excluded, false},
		{broadcast, plain, true}, {broadcast, excluded, false}, {broadcast, ownedEp, true}, {broadcast, offEp, false},
		{fanout, ownedEp, true}, {fanout, plain, false},
	} {
		id := ids.Delivery(c.ev.UID, c.ep.UID)
		if got := f.queued(t, id); got != c.queued {
			t.Errorf("event %s to endpoint %s: queued %v, want %v", c.ev.UID, c.ep.UID, got, c.queued)
		}
	}
	d, err := f.st.DeliveryByID(ctx, ids.Delivery(broadcast.UID, offEp.UID))
	if err != nil || d.Status != model.StatusDiscarded || d.AppID != disabled.UID {
		t.Fatalf("the disabled application's delivery: %+v (%v), want it stored Discarded", d, err)
	}
}
