package store_test

import (
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func testEvents(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g1, g2 := newGroup(t, st), newGroup(t, st)
	app := newApp(t, st, g1.UID)
	ev := event(g1.UID, app.UID, "invoice.paid", time.Now())
	ev.Data = []byte("{\"b\":1,  \"a\": [1.50, \"\\u00e9\"]}\n") // kept byte for byte, not re-encoded
	ev.IdempotencyKey = "idem-1"
	ev.CustomHeaders = map[string]string{"X-Tenant": "t1"}
	mustOK(t, st.InsertEvents(ctx, []model.Event{ev}))
	mustOK(t, st.InsertEvents(ctx, nil))

	got, err := st.GetEvent(ctx, g1.UID, ev.UID)
	mustOK(t, err)
	if !reflect.DeepEqual(*got, ev) {
		t.Fatalf("event read back as\n%+v\nwant\n%+v", *got, ev)
	}
	_, err = st.GetEvent(ctx, g2.UID, ev.UID)
	wantNotFound(t, "event through another group", err)
	_, err = st.GetEvent(ctx, g1.UID, ids.New())
	wantNotFound(t, "missing event", err)
}

func testEventPaging(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g, other := newGroup(t, st), newGroup(t, st)
	appA, appB := newApp(t, st, g.UID), newApp(t, st, g.UID)
	base := ms(time.Now().Add(-time.Hour))
	var evs []model.Event
	for i := range 12 {
		app, typ := appA.UID, "invoice.paid"
		if i%3 == 0 {
			app = appB.UID
		}
		if i%2 == 0 {
			typ = "invoice.created"
		}
		evs = append(evs, event(g.UID, app, typ, base.Add(time.Duration(i)*time.Minute)))
	}
	evs = append(evs, event(other.UID, appA.UID, "invoice.paid", base))
	mustOK(t, st.InsertEvents(ctx, evs))

	ids := func(keep func(e model.Event) bool) []string {
		var out []string
		for _, e := range evs {
			if e.GroupID == g.UID && keep(e) {
				out = append(out, e.UID)
			}
		}
		return newestFirst(out)
	}
	for _, tc := range []struct {
		name string
		f    store.EventFilter
		want []string
	}{
		{"all", store.EventFilter{}, ids(func(model.Event) bool { return true })},
		{"app", store.EventFilter{AppID: appB.UID}, ids(func(e model.Event) bool { return e.AppID == appB.UID })},
		{"type", store.EventFilter{EventType: "invoice.paid"}, ids(func(e model.Event) bool { return e.EventType == "invoice.paid" })},
		{"app and type", store.EventFilter{AppID: appA.UID, EventType: "invoice.created"}, ids(func(e model.Event) bool {
			return e.AppID == appA.UID && e.EventType == "invoice.created"
		})},
		// Both ends of the range are inclusive.
		{"range", store.EventFilter{Start: base.Add(2 * time.Minute), End: base.Add(5 * time.Minute)}, ids(func(e model.Event) bool {
			return !e.CreatedAt.Before(base.Add(2*time.Minute)) && !e.CreatedAt.After(base.Add(5*time.Minute))
		})},
		{"start only", store.EventFilter{Start: base.Add(10 * time.Minute)}, ids(func(e model.Event) bool {
			return !e.CreatedAt.Before(base.Add(10 * time.Minute))
		})},
		{"end only", store.EventFilter{End: base.Add(time.Minute)}, ids(func(e model.Event) bool {
			return !e.CreatedAt.After(base.Add(time.Minute))
		})},
		{"no match", store.EventFilter{EventType: "nope"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, per := range []int{1, 5, 100} {
				got, pages := collectPages(t, per, func(e *model.Event) string { return e.UID }, func(p store.Page) ([]model.Event, store.PageInfo, error) {
					return st.ListEvents(ctx, g.UID, tc.f, p)
				})
				if !slices.Equal(got, tc.want) {
					t.Fatalf("per_page %d: got %v, want %v", per, got, tc.want)
				}
				if wantPages := max(1, (len(tc.want)+per-1)/per); pages != wantPages {
					t.Fatalf("per_page %d: %d pages, want %d", per, pages, wantPages)
				}
			}
		})
	}
	// Zero per_page means the default page size.
	items, info, err := st.ListEvents(ctx, g.UID, store.EventFilter{}, store.Page{})
	mustOK(t, err)
	if len(items) != 12 || info.HasNext {
		t.Fatalf("default page: %d items, %+v", len(items), info)
	}
}

// A retried batch is harmless: events already stored keep their first
// version, new ones are added, and a batch repeating an id inside itself
// still stores the others.
func testInsertEventsIdempotent(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	app := newApp(t, st, g.UID)
	e1, e2, e3 := event(g.UID, app.UID, "a", time.Now()), event(g.UID, app.UID, "b", time.Now()), event(g.UID, app.UID, "c", time.Now())
	mustOK(t, st.InsertEvents(ctx, []model.Event{e1, e2}))
	changed := e1
	changed.Data = []byte(`{"changed":true}`)
	mustOK(t, st.InsertEvents(ctx, []model.Event{changed, e3, e2}))
	mustOK(t, st.InsertEvents(ctx, []model.Event{e1, e2, e3}))
	e4 := event(g.UID, app.UID, "d", time.Now())
	mustOK(t, st.InsertEvents(ctx, []model.Event{e4, e4}))

	got, err := st.GetEvent(ctx, g.UID, e1.UID)
	mustOK(t, err)
	if string(got.Data) != string(e1.Data) {
		t.Fatalf("event overwritten by a repeated insert: %s", got.Data)
	}
	items, _, err := st.ListEvents(ctx, g.UID, store.EventFilter{}, store.Page{PerPage: 100})
	mustOK(t, err)
	if got := uidsOf(items, func(e *model.Event) string { return e.UID }); !sameSet(got, []string{e1.UID, e2.UID, e3.UID, e4.UID}) {
		t.Fatalf("stored events %v", got)
	}
}

func testClaimIdempotencyKey(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g1, g2 := newGroup(t, st), newGroup(t, st)
	first, second := ids.New(), ids.New()

	owner, claimed, err := st.ClaimIdempotencyKey(ctx, g1.UID, "order-1", first)
	if err != nil || !claimed || owner != first {
		t.Fatalf("first claim: owner=%s claimed=%v err=%v", owner, claimed, err)
	}
	owner, claimed, err = st.ClaimIdempotencyKey(ctx, g1.UID, "order-1", second)
	if err != nil || claimed || owner != first {
		t.Fatalf("second claim: owner=%s claimed=%v err=%v, want owner %s", owner, claimed, err, first)
	}
	// Keys are per group.
	owner, claimed, err = st.ClaimIdempotencyKey(ctx, g2.UID, "order-1", second)
	if err != nil || !claimed || owner != second {
		t.Fatalf("same key in another group: owner=%s claimed=%v err=%v", owner, claimed, err)
	}

	// Racing claimers: exactly one wins, and every loser learns the winner.
	const n = 8
	var wg sync.WaitGroup
	owners := make([]string, n)
	wins := make([]bool, n)
	errs := make([]error, n)
	evIDs := make([]string, n)
	for i := range n {
		evIDs[i] = ids.New()
		wg.Go(func() { owners[i], wins[i], errs[i] = st.ClaimIdempotencyKey(ctx, g1.UID, "race", evIDs[i]) })
	}
	wg.Wait()
	winner := -1
	for i := range n {
		mustOK(t, errs[i])
		if wins[i] {
			if winner >= 0 {
				t.Fatalf("claims %d and %d both won", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("no claim won")
	}
	for i := range n {
		if owners[i] != evIDs[winner] {
			t.Fatalf("claim %d sees owner %s, want %s", i, owners[i], evIDs[winner])
		}
	}
}

// DeleteOlderThan deletes exactly what was created before the cutoff, in
// events, deliveries and idempotency keys, and only in the group asked for.
func testDeleteOlderThan(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g, other := newGroup(t, st), newGroup(t, st)
	app := newApp(t, st, g.UID)
	ep := newEndpoint(t, st, g.UID, app.UID)
	otherApp := newApp(t, st, other.UID)
	otherEp := newEndpoint(t, st, other.UID, otherApp.UID)

	// Idempotency keys take their creation time from the clock: claim one,
	// let the clock move, take the cutoff, let it move again, claim another.
	oldEv := ids.New()
	_, _, err := st.ClaimIdempotencyKey(ctx, g.UID, "old", oldEv)
	mustOK(t, err)
	_, _, err = st.ClaimIdempotencyKey(ctx, other.UID, "old", oldEv)
	mustOK(t, err)
	time.Sleep(5 * time.Millisecond)
	cutoff := ms(time.Now())
	time.Sleep(5 * time.Millisecond)
	newEv := ids.New()
	_, _, err = st.ClaimIdempotencyKey(ctx, g.UID, "new", newEv)
	mustOK(t, err)

	offsets := []time.Duration{-24 * time.Hour, -time.Second, -time.Millisecond, 0, time.Millisecond, time.Hour}
	var evs []model.Event
	var ds []model.Delivery
	wantGone, wantKept := map[string]bool{}, map[string]bool{}
	for _, off := range offsets {
		for _, gid := range []string{g.UID, other.UID} {
			appID, epID := app.UID, ep.UID
			if gid == other.UID {
				appID, epID = otherApp.UID, otherEp.UID
			}
			e := event(gid, appID, "x", cutoff.Add(off))
			d := delivery(e, epID, cutoff.Add(off))
			evs, ds = append(evs, e), append(ds, d)
			if gid == g.UID && off < 0 {
				wantGone[e.UID], wantGone[d.UID] = true, true
			} else {
				wantKept[e.UID], wantKept[d.UID] = true, true
			}
		}
	}
	mustOK(t, st.InsertEvents(ctx, evs))
	mustOK(t, st.InsertDeliveries(ctx, ds))

	// Small batches, called until nothing is left, as the retention sweep does.
	var total int64
	for calls := 0; ; calls++ {
		n, err := st.DeleteOlderThan(ctx, g.UID, cutoff, 2)
		mustOK(t, err)
		if n == 0 {
			break
		}
		if n > 3*2 {
			t.Fatalf("one call deleted %d documents with limit 2", n)
		}
		total += n
		if calls > 50 {
			t.Fatal("DeleteOlderThan never reaches 0")
		}
	}
	if want := int64(len(wantGone) + 1); total != want { // + the old idempotency key
		t.Fatalf("deleted %d documents, want %d", total, want)
	}
	for _, e := range evs {
		_, err := st.GetEvent(ctx, e.GroupID, e.UID)
		if wantGone[e.UID] {
			wantNotFound(t, "event "+e.CreatedAt.Sub(cutoff).String()+" before the cutoff", err)
		} else if err != nil {
			t.Fatalf("event at cutoff%+v in group other=%v: %v", e.CreatedAt.Sub(cutoff), e.GroupID == other.UID, err)
		}
	}
	for _, d := range ds {
		_, err := st.DeliveryByID(ctx, d.UID)
		if wantGone[d.UID] {
			wantNotFound(t, "delivery before the cutoff", err)
		} else if err != nil {
			t.Fatalf("delivery at cutoff%+v in group other=%v: %v", d.CreatedAt.Sub(cutoff), d.GroupID == other.UID, err)
		}
	}
	if owner, claimed, err := st.ClaimIdempotencyKey(ctx, g.UID, "old", ids.New()); err != nil || !claimed {
		t.Fatalf("old key was not deleted: owner=%s claimed=%v err=%v", owner, claimed, err)
	}
	if owner, claimed, err := st.ClaimIdempotencyKey(ctx, g.UID, "new", ids.New()); err != nil || claimed || owner != newEv {
		t.Fatalf("new key was deleted: owner=%s claimed=%v err=%v", owner, claimed, err)
	}
	if owner, claimed, err := st.ClaimIdempotencyKey(ctx, other.UID, "old", ids.New()); err != nil || claimed || owner != oldEv {
		t.Fatalf("other group's old key was deleted: owner=%s claimed=%v err=%v", owner, claimed, err)
	}
}

// Retention deletes while events and deliveries keep arriving (on the
// embedded store, with the index, its DELETEs share the SQLite file with
// FerretDB's inserts): every old document goes, every insert succeeds and
// every new document stays.
func testDeleteOlderThanUnderInserts(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	app := newApp(t, st, g.UID)
	ep := newEndpoint(t, st, g.UID, app.UID)
	batch := func(n int, at func(i int) time.Time) ([]model.Event, []model.Delivery) {
		var evs []model.Event
		var ds []model.Delivery
		for i := range n {
			e := event(g.UID, app.UID, "invoice.paid", at(i))
			evs, ds = append(evs, e), append(ds, delivery(e, ep.UID, at(i)))
		}
		return evs, ds
	}
	cutoff := time.Now().Add(-time.Hour)
	const old = 1000
	for off := 0; off < old; off += 500 {
		evs, ds := batch(500, func(i int) time.Time { return cutoff.Add(-time.Duration(off+i+1) * time.Second) })
		mustOK(t, st.InsertEvents(ctx, evs))
		mustOK(t, st.InsertDeliveries(ctx, ds))
	}

	var fresh []string
	insertErr := make(chan error, 1)
	stop := make(chan struct{})
	go func() {
		defer close(insertErr)
		tick := time.NewTicker(10 * time.Millisecond) // paced: a store that scans must keep up
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			evs, ds := batch(25, func(int) time.Time { return time.Now() })
			if err := st.InsertEvents(ctx, evs); err != nil {
				insertErr <- err
				return
			}
			if err := st.InsertDeliveries(ctx, ds); err != nil {
				insertErr <- err
				return
			}
			for i := range evs {
				fresh = append(fresh, evs[i].UID, ds[i].UID)
			}
		}
	}()
	var deleted int64
	for deadline := time.Now().Add(time.Minute); ; {
		n, err := st.DeleteOlderThan(ctx, g.UID, cutoff, 500)
		mustOK(t, err)
		deleted += n
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("retention never reaches 0")
		}
	}
	close(stop)
	if err := <-insertErr; err != nil {
		t.Fatalf("insert during retention: %v", err)
	}
	if deleted != 2*old {
		t.Errorf("deleted %d documents, want %d", deleted, 2*old)
	}
	if len(fresh) == 0 {
		t.Fatal("nothing was inserted during retention")
	}
	for _, coll := range []string{"events", "deliveries"} {
		n, err := st.RawCollection(coll).CountDocuments(ctx, bson.D{{Key: "group_id", Value: g.UID}})
		mustOK(t, err)
		if want := int64(len(fresh) / 2); n != want {
			t.Errorf("%s: %d left, want the %d inserted during retention", coll, n, want)
		}
	}
	evs, _, err := st.ListEvents(ctx, g.UID, store.EventFilter{}, store.Page{PerPage: 100})
	mustOK(t, err)
	if len(evs) == 0 || evs[0].CreatedAt.Before(cutoff) {
		t.Errorf("newest event after retention: %v", evs)
	}
}
