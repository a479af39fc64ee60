package store_test

import (
	"sync"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/store"
)

// testPagingUnderLoad pages through a group's events and deliveries while
// more keep arriving, and checks that every one stored before paging began
// is seen exactly once and that nothing is seen twice.
func testPagingUnderLoad(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	app := newApp(t, st, g.UID)
	ep := newEndpoint(t, st, g.UID, app.UID)
	batch := func(n int) ([]model.Event, []model.Delivery) {
		var evs []model.Event
		var ds []model.Delivery
		for range n {
			e := event(g.UID, app.UID, "invoice.paid", time.Now())
			evs, ds = append(evs, e), append(ds, delivery(e, ep.UID, time.Now()))
		}
		return evs, ds
	}
	before := map[string]bool{}
	for range 6 {
		evs, ds := batch(50)
		mustOK(t, st.InsertEvents(ctx, evs))
		mustOK(t, st.InsertDeliveries(ctx, ds))
		for i := range evs {
			before[evs[i].UID], before[ds[i].UID] = true, true
		}
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var arrived int
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond) // arrivals paced, not a flood
		defer tick.Stop()
		for range 100 {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			evs, ds := batch(10)
			if st.InsertEvents(ctx, evs) != nil || st.InsertDeliveries(ctx, ds) != nil {
				return
			}
			arrived += len(evs)
		}
	}()

	seen := map[string]int{}
	pageAll := func(list func(p store.Page) ([]string, store.PageInfo, error)) {
		p := store.Page{PerPage: 25}
		for pages := 0; ; pages++ {
			got, info, err := list(p)
			mustOK(t, err)
			for _, id := range got {
				seen[id]++
			}
			if !info.HasNext {
				return
			}
			if pages > 1000 {
				t.Fatal("paging never ends")
			}
			p.Cursor = info.NextCursor
		}
	}
	pageAll(func(p store.Page) ([]string, store.PageInfo, error) {
		evs, info, err := st.ListEvents(ctx, g.UID, store.EventFilter{}, p)
		return uidsOf(evs, func(e *model.Event) string { return e.UID }), info, err
	})
	pageAll(func(p store.Page) ([]string, store.PageInfo, error) {
		ds, info, err := st.ListDeliveries(ctx, g.UID, store.DeliveryFilter{Statuses: []string{model.StatusScheduled}}, p)
		return uidsOf(ds, func(d *model.Delivery) string { return d.UID }), info, err
	})
	close(stop)
	wg.Wait()
	if arrived == 0 {
		t.Fatal("nothing arrived while paging: the test proved nothing")
	}
	for id := range before {
		if seen[id] != 1 {
			t.Errorf("%s seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("%s seen %d times", id, n)
		}
	}
}
