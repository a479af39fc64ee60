package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"convoy/core/embedded"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	"github.com/oklog/ulid/v2"
)

// costStore starts, for a gated measurement, an embedded store with its
// `_id` indexes, and returns the events to fill (CONVOY_LISTCOST_EVENTS), the
// server, a plain store on it and its SQLite index.
func costStore(t *testing.T) (int, *embedded.FerretDB, *store.Store, *sqliteindex.Index) {
	t.Helper()
	n, _ := strconv.Atoi(os.Getenv("CONVOY_LISTCOST_EVENTS"))
	if n <= 0 {
		t.Skip("CONVOY_LISTCOST_EVENTS not set")
	}
	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(t.TempDir(), "ferretdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	plain := openStore(t, f.URI(), "convoy")
	if err := f.EnsureIDIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	ix := sqliteindex.Open(f.Dir(), "convoy")
	t.Cleanup(func() { ix.Close() })
	return n, f, plain, ix
}

// TestListCost fills an embedded store with CONVOY_LISTCOST_EVENTS events (one
// delivery each, spread over the last day) through the store's own batched
// inserts, then times page 1 and page 10 of every list query, a sweep query
// and a retention pass. It is a measurement, not part of `make test`.
func TestListCost(t *testing.T) {
	n, f, plain, ix := costStore(t)
	indexed := openStore(t, f.URI(), "convoy", store.WithIndex(ix))

	h := fillHistory(t, plain, n)
	t.Logf("filled %d events and deliveries: %.0f docs/s", n, float64(2*n)/h.took.Seconds())
	measureLists(t, indexed, h, "indexed")
	if os.Getenv("CONVOY_LISTCOST_SCAN") != "" {
		measureLists(t, plain, h, "scan")
	}
}

func measureLists(t *testing.T, st *store.Store, h history, label string) {
	ctx := t.Context()

	mid := h.start.Add(h.span / 2)
	queries := []struct {
		name string
		list func(p store.Page) (store.PageInfo, int, error)
	}{
		{"events", events(st, h.group, store.EventFilter{})},
		{"events app", events(st, h.group, store.EventFilter{AppID: h.apps[1]})},
		{"events app, none", events(st, h.group, store.EventFilter{AppID: "app-none"})},
		{"events event_type", events(st, h.group, store.EventFilter{EventType: h.types[3]})},
		{"events time range", events(st, h.group, store.EventFilter{Start: mid.Add(-time.Hour), End: mid})},
		{"deliveries", deliveries(st, h.group, store.DeliveryFilter{})},
		{"deliveries status", deliveries(st, h.group, store.DeliveryFilter{Statuses: []string{model.StatusFailure}})},
		{"deliveries status, none", deliveries(st, h.group, store.DeliveryFilter{Statuses: []string{model.StatusProcessing}})},
		{"deliveries app", deliveries(st, h.group, store.DeliveryFilter{AppID: h.apps[2]})},
		{"deliveries endpoint", deliveries(st, h.group, store.DeliveryFilter{EndpointID: h.endpoints[4]})},
		{"deliveries event", deliveries(st, h.group, store.DeliveryFilter{EventID: h.someEvent})},
		{"deliveries event_type", deliveries(st, h.group, store.DeliveryFilter{EventType: h.types[3]})},
		{"deliveries time range", deliveries(st, h.group, store.DeliveryFilter{Start: mid.Add(-time.Hour), End: mid})},
		{"deliveries type, none", deliveries(st, h.group, store.DeliveryFilter{EventType: "none.such"})},
	}
	for _, q := range queries {
		var first, tenth time.Duration
		p := store.Page{PerPage: 20}
		got := 0
		for i := range 10 {
			start := time.Now()
			info, k, err := q.list(p)
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v", q.name, err)
			}
			got += k
			if i == 0 {
				first = d
			}
			tenth = d
			if !info.HasNext {
				break
			}
			p.Cursor = info.NextCursor
		}
		t.Logf("%s %-22s page 1 %8.1f ms   page 10 %8.1f ms   (%d items)", label, q.name, millis(first), millis(tenth), got)
	}

	start := time.Now()
	overdue, err := st.OverdueDeliveries(ctx, time.Now().Add(-2*time.Minute), 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s overdue deliveries: %d in %.1f ms", label, len(overdue), millis(time.Since(start)))

	start = time.Now()
	replay, err := st.DeliveriesOfEndpoint(ctx, h.endpoints[11], model.StatusDiscarded, 100) // i%500 == 11 goes to endpoint 11
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s endpoint replay batch: %d in %.1f ms", label, len(replay), millis(time.Since(start)))

	// Retention of the oldest tenth, given at most a minute, in the
	// scheduler's batches with its pause between them.
	start = time.Now()
	var deleted int64
	cutoff := h.start.Add(h.span / 10)
	if label == "scan" {
		cutoff = h.start.Add(h.span / 5) // the indexed pass took the first tenth
	}
	batches := 0
	for time.Since(start) < time.Minute {
		k, err := st.DeleteOlderThan(ctx, h.group, cutoff, 500)
		if err != nil {
			t.Fatal(err)
		}
		deleted += k
		batches++
		if k == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond) // the scheduler's pause between batches
	}
	t.Logf("%s retention of the oldest tenth: %d documents in %d batches, %.1f s", label, deleted, batches, time.Since(start).Seconds())
}

func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

type history struct {
	group                  string
	apps, types, endpoints []string
	someEvent              string
	start                  time.Time
	span                   time.Duration
	took                   time.Duration
}

func newHistory() history {
	h := history{group: "grp-history", span: 24 * time.Hour}
	h.start = time.Now().Add(-h.span)
	for i := range 5 {
		h.apps = append(h.apps, fmt.Sprintf("app-%d", i))
	}
	for i := range 10 {
		h.types = append(h.types, fmt.Sprintf("invoice.kind%d", i))
	}
	for i := range 20 {
		h.endpoints = append(h.endpoints, fmt.Sprintf("ep-%02d", i))
	}
	return h
}

// fillHistory stores n events of one group, over the last day, and one
// delivery per event: 5 applications, 10 event types, 20 endpoints; 94%
// Success, 5% Failure, 1% Retry (due in the future), 0.2% Discarded.
func fillHistory(t *testing.T, st *store.Store, n int) history {
	ctx := t.Context()
	h := newHistory()
	const batch = 500
	begin := time.Now()
	for off := 0; off < n; off += batch {
		evs, ds := historyBatchOf(h, off, min(batch, n-off), n)
		if err := st.InsertDeliveries(ctx, ds); err != nil {
			t.Fatal(err)
		}
		if err := st.InsertEvents(ctx, evs); err != nil {
			t.Fatal(err)
		}
		if off <= n/2 && n/2 < off+batch {
			h.someEvent = evs[n/2-off].UID
		}
	}
	h.took = time.Since(begin)
	return h
}

func events(st *store.Store, group string, f store.EventFilter) func(store.Page) (store.PageInfo, int, error) {
	return func(p store.Page) (store.PageInfo, int, error) {
		evs, info, err := st.ListEvents(context.Background(), group, f, p)
		return info, len(evs), err
	}
}

func deliveries(st *store.Store, group string, f store.DeliveryFilter) func(store.Page) (store.PageInfo, int, error) {
	return func(p store.Page) (store.PageInfo, int, error) {
		ds, info, err := st.ListDeliveries(context.Background(), group, f, p)
		return info, len(ds), err
	}
}

// TestInsertCost measures what the list indexes cost the hot path's batched
// inserts: batches go alternately to a database with them and one without,
// so both see the same machine.
func TestInsertCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CONVOY_LISTCOST_EVENTS"))
	if n <= 0 {
		t.Skip("CONVOY_LISTCOST_EVENTS not set")
	}
	ctx := t.Context()
	f, err := embedded.StartFerretDB(ctx, embedded.FerretOptions{Dir: filepath.Join(t.TempDir(), "ferretdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	with := openStore(t, f.URI(), "with")
	first := openStore(t, f.URI(), "first")
	without := openStore(t, f.URI(), "without")
	if err := f.EnsureIDIndexes(ctx); err != nil {
		t.Fatal(err)
	}
	// "first" has the first list index set: deliveries' covering index
	// without event_type, and no index of Discarded deliveries.
	fdb, err := sql.Open("sqlite", "file:"+filepath.Join(f.Dir(), "first.sqlite")+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	tables, err := sqliteindex.Tables(ctx, fdb)
	if err != nil {
		t.Fatal(err)
	}
	dt := tables["deliveries"]
	for _, q := range []string{
		fmt.Sprintf(`DROP INDEX %q`, sqliteindex.Prefix+dt+"_group2"),
		fmt.Sprintf(`DROP INDEX %q`, sqliteindex.Prefix+dt+"_discarded"),
		fmt.Sprintf(`CREATE INDEX %q ON %q (%s)`, sqliteindex.Prefix+dt+"_group", dt, strings.Join([]string{
			"_ferretdb_sjson->>'$.group_id'", "_ferretdb_sjson->>'$._id'", "_ferretdb_sjson->>'$.status'",
			"_ferretdb_sjson->>'$.app_id'", "_ferretdb_sjson->>'$.endpoint_id'"}, ", ")),
	} {
		if _, err := fdb.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	fdb.Close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(f.Dir(), "without.sqlite")+"?mode=rw&_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	names, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?`, sqliteindex.Prefix+"%")
	if err != nil {
		t.Fatal(err)
	}
	var drop []string
	for names.Next() {
		var s string
		_ = names.Scan(&s)
		drop = append(drop, s)
	}
	names.Close()
	for _, s := range drop {
		if _, err := db.ExecContext(ctx, fmt.Sprintf("DROP INDEX %q", s)); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	t.Logf("dropped %d list indexes from the last database", len(drop))

	const batch = 500
	var took [3]time.Duration
	for off := 0; off < n; off += batch {
		evs, ds := historyBatch(off, batch)
		for i, st := range []*store.Store{with, first, without} {
			start := time.Now()
			if err := st.InsertDeliveries(ctx, ds); err != nil {
				t.Fatal(err)
			}
			if err := st.InsertEvents(ctx, evs); err != nil {
				t.Fatal(err)
			}
			took[i] += time.Since(start)
		}
	}
	rate := func(i int) float64 { return float64(2*n) / took[i].Seconds() }
	t.Logf("with list indexes %.0f docs/s, with the first round's %.0f docs/s, without %.0f docs/s", rate(0), rate(1), rate(2))
}

// historyBatch is a batch of history for TestInsertCost.
func historyBatch(off, size int) ([]model.Event, []model.Delivery) {
	return historyBatchOf(newHistory(), off, size, 1_000_000)
}

// historyBatchOf builds events off..off+size of n, spread over h's span.
func historyBatchOf(h history, off, size, n int) ([]model.Event, []model.Delivery) {
	data := []byte(`{"invoice":"in_1","amount":4200,"currency":"eur","customer":"cus_123456789","lines":[1,2,3]}`)
	var evs []model.Event
	var ds []model.Delivery
	for i := off; i < off+size; i++ {
		at := h.start.Add(time.Duration(int64(h.span) / int64(n) * int64(i))).UTC().Truncate(time.Millisecond)
		id := ulid.MustNew(ulid.Timestamp(at), ulid.DefaultEntropy()).String()
		app := h.apps[i%len(h.apps)]
		ev := model.Event{UID: id, GroupID: h.group, AppID: app, EventType: h.types[i%len(h.types)], Data: data, CreatedAt: at}
		evs = append(evs, ev)
		status := model.StatusSuccess
		var next *time.Time
		switch {
		case i%100 == 7:
			status = model.StatusRetry
			due := time.Now().Add(time.Hour)
			next = &due
		case i%20 == 3:
			status = model.StatusFailure
		case i%500 == 11:
			status = model.StatusDiscarded // to an endpoint since made inactive
		}
		ep := h.endpoints[i%len(h.endpoints)]
		ds = append(ds, model.Delivery{
			UID: id, GroupID: h.group, EventID: id, AppID: app, EndpointID: ep, EventType: ev.EventType,
			Status: status, Metadata: model.DeliveryMetadata{NumTrials: 1, RetryLimit: 10, Strategy: "default", IntervalSeconds: 100, NextSendTime: next},
			Attempts: []model.Attempt{{
				UID: id, URL: "http://127.0.0.1:9000/webhooks/" + ep, Method: "POST", IPAddress: "127.0.0.1",
				RequestHeader:  map[string]string{"Content-Type": "application/json", "X-Convoy-Event-ID": id, "X-Convoy-Signature": "[redacted]"},
				ResponseHeader: map[string]string{"Content-Type": "text/plain"}, HTTPStatus: 200, ResponseData: "ok", Status: true,
				DurationMs: 2, CreatedAt: at,
			}},
			CreatedAt: at, UpdatedAt: at,
		})
	}
	return evs, ds
}
