package store_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
)

// fixture is a group with an application, an endpoint and n events, each with
// its delivery to the endpoint.
type fixture struct {
	g   *model.Group
	app *model.Application
	ep  *model.Endpoint
	evs []model.Event
	ds  []model.Delivery
}

func newFixture(t *testing.T, st *store.Store, n int) fixture {
	t.Helper()
	f := fixture{g: newGroup(t, st)}
	f.app = newApp(t, st, f.g.UID)
	f.ep = newEndpoint(t, st, f.g.UID, f.app.UID)
	now := time.Now()
	for range n {
		ev := event(f.g.UID, f.app.UID, "invoice.paid", now)
		f.evs = append(f.evs, ev)
		f.ds = append(f.ds, delivery(ev, f.ep.UID, now))
	}
	mustOK(t, st.InsertEvents(t.Context(), f.evs))
	mustOK(t, st.InsertDeliveries(t.Context(), f.ds))
	return f
}

func attemptN(n int, ok bool) *model.Attempt {
	a := &model.Attempt{
		UID: ids.New(), URL: "https://example.com/hook", Method: "POST", IPAddress: "203.0.113.7",
		RequestHeader:  map[string]string{"X-Convoy-Signature": "[redacted]", "Content-Type": "application/json"},
		ResponseHeader: map[string]string{"Content-Type": "text/plain"},
		HTTPStatus:     500, ResponseData: fmt.Sprintf("attempt %d", n), Error: "endpoint answered Internal Server Error",
		DurationMs: int64(n), CreatedAt: ms(time.Now()),
	}
	if ok {
		a.HTTPStatus, a.Error, a.Status = 200, "", true
	}
	return a
}

func mustDelivery(t *testing.T, st *store.Store, id string) *model.Delivery {
	t.Helper()
	d, err := st.DeliveryByID(t.Context(), id)
	mustOK(t, err)
	return d
}

func testDeliveries(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 1)
	other := newGroup(t, st)
	want := f.ds[0]

	got := mustDelivery(t, st, want.UID)
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("delivery read back as\n%+v\nwant\n%+v", *got, want)
	}
	if _, err := st.GetDelivery(ctx, f.g.UID, want.UID); err != nil {
		t.Fatal(err)
	}
	_, err := st.GetDelivery(ctx, other.UID, want.UID)
	wantNotFound(t, "delivery through another group", err)
	_, err = st.DeliveryByID(ctx, ids.New())
	wantNotFound(t, "missing delivery", err)

	// Attempts live in the delivery but are read on their own.
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{
		{ID: want.UID, Status: model.StatusRetry, Attempt: attemptN(1, false), At: time.Now()},
	}))
	if d := mustDelivery(t, st, want.UID); len(d.Attempts) != 0 {
		t.Fatalf("DeliveryByID returned %d attempts, want none", len(d.Attempts))
	}
	if d, _ := st.GetDelivery(ctx, f.g.UID, want.UID); d == nil || len(d.Attempts) != 0 {
		t.Fatalf("GetDelivery returned attempts: %+v", d)
	}
	atts, err := st.DeliveryAttempts(ctx, f.g.UID, want.UID)
	mustOK(t, err)
	if len(atts) != 1 || atts[0].ResponseData != "attempt 1" {
		t.Fatalf("attempts %+v", atts)
	}
	_, err = st.DeliveryAttempts(ctx, other.UID, want.UID)
	wantNotFound(t, "attempts through another group", err)
	_, err = st.DeliveryAttempts(ctx, f.g.UID, ids.New())
	wantNotFound(t, "attempts of a missing delivery", err)
	items, _, err := st.ListDeliveries(ctx, f.g.UID, store.DeliveryFilter{}, store.Page{PerPage: 10})
	mustOK(t, err)
	if len(items) != 1 || len(items[0].Attempts) != 0 {
		t.Fatalf("listed deliveries %+v, want one without attempts", items)
	}
}

func testInsertDeliveriesIdempotent(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 2)
	// The first delivery moved on; a repeated fan-out must not reset it.
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{{ID: f.ds[0].UID, Status: model.StatusSuccess, At: time.Now()}}))
	ev := event(f.g.UID, f.app.UID, "invoice.paid", time.Now())
	extra := delivery(ev, f.ep.UID, time.Now())
	mustOK(t, st.InsertDeliveries(ctx, []model.Delivery{f.ds[0], extra, f.ds[1], extra}))
	mustOK(t, st.InsertDeliveries(ctx, nil))
	if d := mustDelivery(t, st, f.ds[0].UID); d.Status != model.StatusSuccess {
		t.Fatalf("repeated insert reset the delivery to %s", d.Status)
	}
	items, _, err := st.ListDeliveries(ctx, f.g.UID, store.DeliveryFilter{}, store.Page{PerPage: 100})
	mustOK(t, err)
	if got := uidsOf(items, func(d *model.Delivery) string { return d.UID }); !sameSet(got, []string{f.ds[0].UID, f.ds[1].UID, extra.UID}) {
		t.Fatalf("stored deliveries %v", got)
	}
}

func testDeliveryPaging(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	appA, appB := newApp(t, st, g.UID), newApp(t, st, g.UID)
	epA1, epA2, epB := newEndpoint(t, st, g.UID, appA.UID), newEndpoint(t, st, g.UID, appA.UID), newEndpoint(t, st, g.UID, appB.UID)
	statuses := []string{model.StatusScheduled, model.StatusRetry, model.StatusSuccess, model.StatusFailure}
	var ds []model.Delivery
	var evs []model.Event
	base := ms(time.Now().Add(-time.Minute))
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Second) }
	types := []string{"invoice.paid", "invoice.created"}
	for i := range 8 {
		evA := event(g.UID, appA.UID, types[i%2], at(i))
		evB := event(g.UID, appB.UID, "invoice.paid", at(i))
		evs = append(evs, evA, evB)
		for j, d := range []model.Delivery{delivery(evA, epA1.UID, at(i).Add(300*time.Millisecond)), delivery(evA, epA2.UID, at(i).Add(300*time.Millisecond)), delivery(evB, epB.UID, at(i).Add(300*time.Millisecond))} {
			d.Status = statuses[(i+j)%len(statuses)]
			ds = append(ds, d)
		}
	}
	mustOK(t, st.InsertEvents(ctx, evs))
	mustOK(t, st.InsertDeliveries(ctx, ds))
	// Another group's deliveries never show.
	f := newFixture(t, st, 3)
	_ = f

	want := func(keep func(d model.Delivery) bool) []string {
		var out []string
		for _, d := range ds {
			if keep(d) {
				out = append(out, d.UID)
			}
		}
		return newestFirst(out)
	}
	for _, tc := range []struct {
		name string
		f    store.DeliveryFilter
		want []string
	}{
		{"all", store.DeliveryFilter{}, want(func(model.Delivery) bool { return true })},
		{"event", store.DeliveryFilter{EventID: evs[0].UID}, want(func(d model.Delivery) bool { return d.EventID == evs[0].UID })},
		{"app", store.DeliveryFilter{AppID: appB.UID}, want(func(d model.Delivery) bool { return d.AppID == appB.UID })},
		{"endpoint", store.DeliveryFilter{EndpointID: epA2.UID}, want(func(d model.Delivery) bool { return d.EndpointID == epA2.UID })},
		{"one status", store.DeliveryFilter{Statuses: []string{model.StatusRetry}}, want(func(d model.Delivery) bool { return d.Status == model.StatusRetry })},
		{"two statuses", store.DeliveryFilter{Statuses: []string{model.StatusSuccess, model.StatusFailure}}, want(func(d model.Delivery) bool {
			return d.Status == model.StatusSuccess || d.Status == model.StatusFailure
		})},
		{"endpoint and status", store.DeliveryFilter{EndpointID: epA1.UID, Statuses: []string{model.StatusScheduled}}, want(func(d model.Delivery) bool {
			return d.EndpointID == epA1.UID && d.Status == model.StatusScheduled
		})},
		{"no match", store.DeliveryFilter{Statuses: []string{model.StatusDiscarded}}, nil},
		{"event type", store.DeliveryFilter{EventType: "invoice.created"}, want(func(d model.Delivery) bool { return d.EventType == "invoice.created" })},
		// A range is on created_at (here 300 ms after the event), inclusive.
		{"range", store.DeliveryFilter{Start: at(2).Add(300 * time.Millisecond), End: at(5).Add(300 * time.Millisecond)}, want(func(d model.Delivery) bool {
			return inRange(d.CreatedAt, at(2).Add(300*time.Millisecond), at(5).Add(300*time.Millisecond))
		})},
		{"start only", store.DeliveryFilter{Start: at(6)}, want(func(d model.Delivery) bool { return !d.CreatedAt.Before(at(6)) })},
		{"end only", store.DeliveryFilter{End: at(0).Add(500 * time.Millisecond)}, want(func(d model.Delivery) bool { return d.CreatedAt.Before(at(1)) })},
		{"type, status and range", store.DeliveryFilter{EventType: "invoice.paid", Statuses: []string{model.StatusSuccess}, Start: at(1), End: at(6)}, want(func(d model.Delivery) bool {
			return d.EventType == "invoice.paid" && d.Status == model.StatusSuccess && inRange(d.CreatedAt, at(1), at(6))
		})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) == 0 && tc.name != "no match" {
				t.Fatal("a case that expects nothing cannot fail")
			}
			for _, per := range []int{1, 4, 100} {
				got, _ := collectPages(t, per, func(d *model.Delivery) string { return d.UID }, func(p store.Page) ([]model.Delivery, store.PageInfo, error) {
					return st.ListDeliveries(ctx, g.UID, tc.f, p)
				})
				if !slices.Equal(got, tc.want) {
					t.Fatalf("per_page %d: got %v, want %v", per, got, tc.want)
				}
			}
		})
	}
}

func testUpdateDeliveries(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 1)
	id := f.ds[0].UID
	at := ms(time.Now())

	// A Processing mark moves the status alone.
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{{ID: id, Status: model.StatusProcessing, At: at}}))
	d := mustDelivery(t, st, id)
	if d.Status != model.StatusProcessing || d.Metadata.NumTrials != 0 || d.Metadata.NextSendTime == nil ||
		!d.Metadata.NextSendTime.Equal(*f.ds[0].Metadata.NextSendTime) || !d.UpdatedAt.Equal(at) {
		t.Fatalf("after Processing mark: %+v", d)
	}

	// A failed attempt: trials counted, next send time set, attempt pushed.
	due := ms(time.Now().Add(10 * time.Second))
	desc := "endpoint answered Internal Server Error"
	first := attemptN(1, false)
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{{
		ID: id, Status: model.StatusRetry, Trials: &store.Trials{NumTrials: 1, NextSendTime: &due},
		Description: &desc, Attempt: first, At: at,
	}}))
	d = mustDelivery(t, st, id)
	if d.Status != model.StatusRetry || d.Metadata.NumTrials != 1 || d.Metadata.NextSendTime == nil ||
		!d.Metadata.NextSendTime.Equal(due) || d.Description != desc {
		t.Fatalf("after a failed attempt: %+v", d)
	}
	if d.Metadata.RetryLimit != 3 || d.Metadata.Strategy != model.StrategyLinear || d.Metadata.IntervalSeconds != 10 {
		t.Fatalf("update lost the rest of the metadata: %+v", d.Metadata)
	}

	// The final attempt: next send time unset, description cleared.
	empty := ""
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{{
		ID: id, Status: model.StatusSuccess, Trials: &store.Trials{NumTrials: 2},
		Description: &empty, Attempt: attemptN(2, true), At: at,
	}}))
	d = mustDelivery(t, st, id)
	if d.Status != model.StatusSuccess || d.Metadata.NumTrials != 2 || d.Metadata.NextSendTime != nil || d.Description != "" {
		t.Fatalf("after the final attempt: %+v (next send %v)", d, d.Metadata.NextSendTime)
	}
	atts, err := st.DeliveryAttempts(ctx, f.g.UID, id)
	mustOK(t, err)
	if len(atts) != 2 || atts[0].ResponseData != "attempt 1" || atts[1].ResponseData != "attempt 2" {
		t.Fatalf("attempts %+v, want attempt 1 then 2", atts)
	}
	if !reflect.DeepEqual(atts[0], *first) {
		t.Fatalf("attempt read back as\n%+v\nwant\n%+v", atts[0], *first)
	}

	// An update with no Trials leaves the trials alone; updates of missing
	// deliveries (deleted meanwhile) are no error.
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{
		{ID: id, Status: model.StatusDiscarded, At: at},
		{ID: ids.New(), Status: model.StatusSuccess, At: at},
	}))
	d = mustDelivery(t, st, id)
	if d.Status != model.StatusDiscarded || d.Metadata.NumTrials != 2 || d.Description != "" {
		t.Fatalf("after a status-only update: %+v", d)
	}
	mustOK(t, st.UpdateDeliveries(ctx, nil))
}

// Two updates of one delivery in one call apply in the order given.
func testUpdateDeliveriesOrder(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 2)
	a, b := f.ds[0].UID, f.ds[1].UID
	due := ms(time.Now().Add(time.Minute))
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{
		{ID: a, Status: model.StatusProcessing, At: time.Now()},
		{ID: b, Status: model.StatusRetry, Trials: &store.Trials{NumTrials: 1, NextSendTime: &due}, Attempt: attemptN(1, false), At: time.Now()},
		{ID: a, Status: model.StatusSuccess, Trials: &store.Trials{NumTrials: 1}, Attempt: attemptN(1, true), At: time.Now()},
		{ID: b, Status: model.StatusProcessing, At: time.Now()},
		{ID: b, Status: model.StatusFailure, Trials: &store.Trials{NumTrials: 2}, Attempt: attemptN(2, false), At: time.Now()},
	}))
	da, db := mustDelivery(t, st, a), mustDelivery(t, st, b)
	if da.Status != model.StatusSuccess || da.Metadata.NumTrials != 1 {
		t.Fatalf("a: %s with %d trials, want Success with 1", da.Status, da.Metadata.NumTrials)
	}
	if db.Status != model.StatusFailure || db.Metadata.NumTrials != 2 || db.Metadata.NextSendTime != nil {
		t.Fatalf("b: %s with %d trials, next %v, want Failure with 2 and no next send time", db.Status, db.Metadata.NumTrials, db.Metadata.NextSendTime)
	}
	atts, err := st.DeliveryAttempts(ctx, f.g.UID, b)
	mustOK(t, err)
	if len(atts) != 2 || atts[0].ResponseData != "attempt 1" || atts[1].ResponseData != "attempt 2" {
		t.Fatalf("b's attempts %+v", atts)
	}
}

// A change that carries the whole delivery inserts it when it is not stored
// yet, and is applied as an update when it is: the stored delivery keeps its
// fields and gains the attempt.
func testUpdateDeliveriesInsertsNew(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 1)
	stored := f.ds[0]
	now := time.Now()
	ev := event(f.g.UID, f.app.UID, "invoice.paid", now)
	mustOK(t, st.InsertEvents(ctx, []model.Event{ev}))
	fresh := delivery(ev, f.ep.UID, now)
	whole := func(d model.Delivery, a *model.Attempt) *model.Delivery {
		d.Status, d.Metadata.NumTrials, d.Metadata.NextSendTime = model.StatusSuccess, 1, nil
		d.Attempts = []model.Attempt{*a}
		return &d
	}
	success := func(d model.Delivery, a *model.Attempt) store.DeliveryUpdate {
		return store.DeliveryUpdate{ID: d.UID, New: whole(d, a), Status: model.StatusSuccess,
			Trials: &store.Trials{NumTrials: 1}, Attempt: a, At: now}
	}
	first, second := attemptN(1, true), attemptN(1, true)
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{success(fresh, first), success(stored, second)}))

	for _, c := range []struct {
		d    model.Delivery
		want *model.Attempt
	}{{fresh, first}, {stored, second}} {
		got := mustDelivery(t, st, c.d.UID)
		if got.Status != model.StatusSuccess || got.Metadata.NumTrials != 1 || got.EventID != c.d.EventID || got.EndpointID != f.ep.UID {
			t.Errorf("%s: %s with %d trials, event %s, endpoint %s", c.d.UID, got.Status, got.Metadata.NumTrials, got.EventID, got.EndpointID)
		}
		atts, err := st.DeliveryAttempts(ctx, f.g.UID, c.d.UID)
		mustOK(t, err)
		if len(atts) != 1 || atts[0].UID != c.want.UID {
			t.Errorf("%s: attempts %+v, want only %s", c.d.UID, atts, c.want.UID)
		}
	}

	// The same first write again (a redelivered task) is an update: it adds
	// its attempt instead of failing or replacing the delivery.
	again := attemptN(1, true)
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{success(fresh, again)}))
	atts, err := st.DeliveryAttempts(ctx, f.g.UID, fresh.UID)
	mustOK(t, err)
	if len(atts) != 2 || atts[0].UID != first.UID || atts[1].UID != again.UID {
		t.Errorf("after a repeated first write: %+v", atts)
	}
}

// A call with more updates than one bulk command carries is split, and the
// order holds across the split.
func testUpdateDeliveriesBulk(t *testing.T, st *store.Store) {
	ctx := t.Context()
	const n = 70
	f := newFixture(t, st, n)
	var updates []store.DeliveryUpdate
	for i, d := range f.ds {
		if i == 24 {
			// This delivery's two updates straddle the first split (at 50).
			continue
		}
		updates = append(updates,
			store.DeliveryUpdate{ID: d.UID, Status: model.StatusProcessing, At: time.Now()},
			store.DeliveryUpdate{ID: d.UID, Status: model.StatusSuccess, Trials: &store.Trials{NumTrials: 1}, Attempt: attemptN(i, true), At: time.Now()})
	}
	straddle := f.ds[24].UID
	updates = slices.Insert(updates, 49, store.DeliveryUpdate{ID: straddle, Status: model.StatusProcessing, At: time.Now()})
	updates = slices.Insert(updates, 50, store.DeliveryUpdate{ID: straddle, Status: model.StatusFailure, Trials: &store.Trials{NumTrials: 3}, At: time.Now()})
	if len(updates) <= 2*50 {
		t.Fatalf("only %d updates", len(updates))
	}
	mustOK(t, st.UpdateDeliveries(ctx, updates))

	items, _, err := st.ListDeliveries(ctx, f.g.UID, store.DeliveryFilter{}, store.Page{PerPage: 100})
	mustOK(t, err)
	if len(items) != n {
		t.Fatalf("%d deliveries listed, want %d", len(items), n)
	}
	for _, d := range items {
		want, trials := model.StatusSuccess, int32(1)
		if d.UID == straddle {
			want, trials = model.StatusFailure, 3
		}
		if d.Status != want || d.Metadata.NumTrials != trials {
			t.Fatalf("delivery %s: %s with %d trials, want %s with %d", d.UID, d.Status, d.Metadata.NumTrials, want, trials)
		}
	}
	for _, i := range []int{0, 23, 25, n - 1} {
		atts, err := st.DeliveryAttempts(ctx, f.g.UID, f.ds[i].UID)
		mustOK(t, err)
		if len(atts) != 1 || atts[0].ResponseData != fmt.Sprintf("attempt %d", i) {
			t.Fatalf("delivery %d attempts %+v", i, atts)
		}
	}
}

func testRestartDelivery(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 1)
	id := f.ds[0].UID
	desc := "endpoint answered Internal Server Error"
	mustOK(t, st.UpdateDeliveries(ctx, []store.DeliveryUpdate{
		{ID: id, Status: model.StatusRetry, Trials: &store.Trials{NumTrials: 1}, Attempt: attemptN(1, false), At: time.Now()},
		{ID: id, Status: model.StatusFailure, Trials: &store.Trials{NumTrials: 3}, Description: &desc, Attempt: attemptN(2, false), At: time.Now()},
	}))

	before := time.Now().Add(-time.Millisecond)
	d, err := st.RestartDelivery(ctx, id, 5, model.StrategyExponential, 0, false)
	mustOK(t, err)
	after := time.Now().Add(time.Millisecond)
	if d.Status != model.StatusScheduled || d.Generation != 1 || d.Description != "" || len(d.Attempts) != 0 {
		t.Fatalf("restarted delivery %+v", d)
	}
	m := d.Metadata
	if m.NumTrials != 0 || m.RetryLimit != 5 || m.Strategy != model.StrategyExponential || m.IntervalSeconds != 0 ||
		m.NextSendTime == nil || m.NextSendTime.Before(before) || m.NextSendTime.After(after) {
		t.Fatalf("restarted metadata %+v (next %v), want a fresh budget due now", m, m.NextSendTime)
	}
	if got := mustDelivery(t, st, id); !reflect.DeepEqual(*got, *d) {
		t.Fatalf("stored %+v, returned %+v", *got, *d)
	}
	// The old budget's attempts stay as history.
	atts, err := st.DeliveryAttempts(ctx, f.g.UID, id)
	mustOK(t, err)
	if len(atts) != 2 {
		t.Fatalf("%d attempts after restart, want the 2 earlier ones", len(atts))
	}
	d, err = st.RestartDelivery(ctx, id, 5, model.StrategyLinear, 30, false)
	mustOK(t, err)
	if d.Generation != 2 || d.Metadata.IntervalSeconds != 30 || d.Metadata.Strategy != model.StrategyLinear {
		t.Fatalf("second restart %+v", d)
	}
	_, err = st.RestartDelivery(ctx, ids.New(), 5, model.StrategyLinear, 30, false)
	wantNotFound(t, "restart missing delivery", err)
}

func testOverdueDeliveries(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 8)
	before := ms(time.Now().Add(-time.Minute))
	early, late := before.Add(-time.Millisecond), before.Add(time.Millisecond)
	type want struct {
		status  string
		next    *time.Time
		overdue bool
	}
	plan := []want{
		{model.StatusScheduled, &early, true},
		{model.StatusProcessing, &early, true},
		{model.StatusRetry, &early, true},
		{model.StatusRetry, &late, false},
		{model.StatusRetry, &before, false}, // due exactly at `before` is not before it
		{model.StatusSuccess, &early, false},
		{model.StatusFailure, &early, false},
		{model.StatusDiscarded, nil, false},
	}
	var updates []store.DeliveryUpdate
	wantIDs := []string{}
	for i, p := range plan {
		updates = append(updates, store.DeliveryUpdate{ID: f.ds[i].UID, Status: p.status, Trials: &store.Trials{NumTrials: 1, NextSendTime: p.next}, At: time.Now()})
		if p.overdue {
			wantIDs = append(wantIDs, f.ds[i].UID)
		}
	}
	mustOK(t, st.UpdateDeliveries(ctx, updates))

	// The collection holds other subtests' deliveries too: keep ours.
	ours := func(ds []model.Delivery) []string {
		var out []string
		for _, d := range ds {
			if d.EndpointID == f.ep.UID {
				out = append(out, d.UID)
			}
		}
		return out
	}
	got, err := st.OverdueDeliveries(ctx, before, 100_000)
	mustOK(t, err)
	if !sameSet(ours(got), wantIDs) {
		t.Fatalf("overdue %v, want %v", ours(got), wantIDs)
	}
	for _, d := range got {
		if len(d.Attempts) != 0 || model.IsFinal(d.Status) || d.Metadata.NextSendTime == nil || !d.Metadata.NextSendTime.Before(before) {
			t.Fatalf("overdue returned %+v", d)
		}
	}
	got, err = st.OverdueDeliveries(ctx, before, 1)
	mustOK(t, err)
	if len(got) != 1 {
		t.Fatalf("limit 1 returned %d", len(got))
	}
}

func testDeliveriesOfEndpoint(t *testing.T, st *store.Store) {
	ctx := t.Context()
	f := newFixture(t, st, 6)
	otherEp := newEndpoint(t, st, f.g.UID, f.app.UID)
	ev := event(f.g.UID, f.app.UID, "invoice.paid", time.Now())
	mustOK(t, st.InsertEvents(ctx, []model.Event{ev}))
	mustOK(t, st.InsertDeliveries(ctx, []model.Delivery{delivery(ev, otherEp.UID, time.Now())}))
	var updates []store.DeliveryUpdate
	var discarded []string
	for i, d := range f.ds {
		status := model.StatusDiscarded
		if i%3 == 1 {
			status = model.StatusSuccess
		} else {
			discarded = append(discarded, d.UID)
		}
		updates = append(updates, store.DeliveryUpdate{ID: d.UID, Status: status, At: time.Now()})
	}
	updates = append(updates, store.DeliveryUpdate{ID: ids.Delivery(ev.UID, otherEp.UID), Status: model.StatusDiscarded, At: time.Now()})
	mustOK(t, st.UpdateDeliveries(ctx, updates))

	oldestFirst := slices.Sorted(slices.Values(discarded))
	got, err := st.DeliveriesOfEndpoint(ctx, f.ep.UID, model.StatusDiscarded, 100)
	mustOK(t, err)
	if ids := uidsOf(got, func(d *model.Delivery) string { return d.UID }); !slices.Equal(ids, oldestFirst) {
		t.Fatalf("discarded of endpoint %v, want oldest first %v", ids, oldestFirst)
	}
	got, err = st.DeliveriesOfEndpoint(ctx, f.ep.UID, model.StatusDiscarded, 2)
	mustOK(t, err)
	if ids := uidsOf(got, func(d *model.Delivery) string { return d.UID }); !slices.Equal(ids, oldestFirst[:2]) {
		t.Fatalf("first 2 discarded %v, want %v", ids, oldestFirst[:2])
	}
	got, err = st.DeliveriesOfEndpoint(ctx, f.ep.UID, model.StatusRetry, 100)
	mustOK(t, err)
	if len(got) != 0 {
		t.Fatalf("%d deliveries in Retry, want none", len(got))
	}
}

// Several writers updating at once (the dispatcher's recorder shards, the
// scheduler) must not exhaust the store: on the embedded FerretDB every
// update of a command holds a connection until the command ends, and
// concurrent bulk commands beyond its pool of 100 deadlock.
func testUpdateDeliveriesConcurrent(t *testing.T, st *store.Store) {
	const writers, calls, perCall = 4, 3, 60
	f := newFixture(t, st, writers*calls*perCall)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, writers)
	for w := range writers {
		wg.Go(func() {
			for c := range calls {
				first := (w*calls + c) * perCall
				var ups []store.DeliveryUpdate
				for _, d := range f.ds[first : first+perCall] {
					ups = append(ups, store.DeliveryUpdate{ID: d.UID, Status: model.StatusSuccess, Trials: &store.Trials{NumTrials: 1}, At: time.Now()})
				}
				if err := st.UpdateDeliveries(ctx, ups); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		mustOK(t, err)
	}
	got, err := st.DeliveriesOfEndpoint(ctx, f.ep.UID, model.StatusSuccess, len(f.ds)+1)
	mustOK(t, err)
	if len(got) != len(f.ds) {
		t.Fatalf("%d of %d deliveries updated", len(got), len(f.ds))
	}
}

func inRange(t, start, end time.Time) bool { return !t.Before(start) && !t.After(end) }
