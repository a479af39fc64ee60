package store_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The conformance suite runs against every store we ship against: the
// embedded FerretDB always, and a real MongoDB when one is configured.

func TestStoreEmbeddedFerretDB(t *testing.T) {
	mongoURI, _ := embeddedtest.ForTest(t)
	runConformance(t, openStore(t, mongoURI, "convoy_conformance"))
}

// TestStoreEmbeddedIndexed runs the suite on the embedded FerretDB with the
// store reading the SQLite list indexes, as the local stack does.
func TestStoreEmbeddedIndexed(t *testing.T) {
	f := embeddedtest.FerretDB(t)
	ix := sqliteindex.Open(f.Dir(), "convoy_conformance")
	t.Cleanup(func() { ix.Close() })
	st := openStore(t, f.URI(), "convoy_conformance", store.WithIndex(ix))
	// The list indexes now, rather than within the indexer's few seconds.
	if err := f.EnsureIDIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	runConformance(t, st)
}

// TestStoreMongoDB runs the suite against a real MongoDB, for example
// CONVOY_TEST_MONGODB_URI=mongodb://127.0.0.1:27017. It uses a fresh database
// and drops it afterwards.
func TestStoreMongoDB(t *testing.T) {
	uri := os.Getenv("CONVOY_TEST_MONGODB_URI")
	if uri == "" {
		t.Skip("CONVOY_TEST_MONGODB_URI not set")
	}
	name := "convoy_conformance_" + ids.New()
	t.Cleanup(func() {
		c, err := mongo.Connect(options.Client().ApplyURI(uri))
		if err != nil {
			t.Logf("drop %s: %v", name, err)
			return
		}
		defer c.Disconnect(context.Background())
		if err := c.Database(name).Drop(context.Background()); err != nil {
			t.Logf("drop %s: %v", name, err)
		}
	})
	runConformance(t, openStore(t, uri, name))
}

func openStore(t *testing.T, uri, name string, opts ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), uri, name, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatalf("ensure schema: %v", err)
	}
	// A second run, as every replica does at start, must be harmless.
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatalf("ensure schema again: %v", err)
	}
	return st
}

// runConformance checks every behaviour callers rely on. Subtests share the
// database, so each works in groups, applications and endpoints of its own.
func runConformance(t *testing.T, st *store.Store) {
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st *store.Store)
	}{
		{"Groups", testGroups},
		{"PagingUnderLoad", testPagingUnderLoad},
		{"APIKeys", testAPIKeys},
		{"Applications", testApplications},
		{"Endpoints", testEndpoints},
		{"DuplicateKeys", testDuplicateKeys},
		{"Events", testEvents},
		{"EventPagingAndFilters", testEventPaging},
		{"InsertEventsIdempotent", testInsertEventsIdempotent},
		{"ClaimIdempotencyKey", testClaimIdempotencyKey},
		{"Deliveries", testDeliveries},
		{"InsertDeliveriesIdempotent", testInsertDeliveriesIdempotent},
		{"DeliveryPagingAndFilters", testDeliveryPaging},
		{"UpdateDeliveries", testUpdateDeliveries},
		{"UpdateDeliveriesOrder", testUpdateDeliveriesOrder},
		{"UpdateDeliveriesInsertsNew", testUpdateDeliveriesInsertsNew},
		{"UpdateDeliveriesMoreThanOneBulk", testUpdateDeliveriesBulk},
		{"UpdateDeliveriesConcurrently", testUpdateDeliveriesConcurrent},
		{"RestartDelivery", testRestartDelivery},
		{"OverdueDeliveries", testOverdueDeliveries},
		{"DeliveriesOfEndpoint", testDeliveriesOfEndpoint},
		{"DeleteOlderThan", testDeleteOlderThan},
		{"DeleteOlderThanUnderInserts", testDeleteOlderThanUnderInserts},
		{"DeleteGroupCascades", testDeleteGroupCascades},
		{"MetaEvents", testMetaEvents},
		{"EndpointStats", testEndpointStats},
		{"CountPendingDeliveries", testCountPendingDeliveries},
		{"EventsCreatedBetween", testEventsCreatedBetween},
		{"Marks", testMarks},
		{"ConvoyQueries", testConvoyQueries},
		{"Verifications", testVerifications},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.run(t, st) })
	}
}

// ---- helpers ----

// ms is the store's time precision (BSON dates are milliseconds).
func ms(tm time.Time) time.Time { return tm.UTC().Truncate(time.Millisecond) }

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func newGroup(t *testing.T, st *store.Store) *model.Group {
	t.Helper()
	at := ms(time.Now())
	g := &model.Group{UID: ids.New(), Name: "g", Config: model.DefaultGroupConfig(), CreatedAt: at, UpdatedAt: at}
	mustOK(t, st.CreateGroup(t.Context(), g))
	return g
}

func newApp(t *testing.T, st *store.Store, groupID string) *model.Application {
	t.Helper()
	at := ms(time.Now())
	a := &model.Application{UID: ids.New(), GroupID: groupID, Name: "shop", Secret: "s", CreatedAt: at, UpdatedAt: at}
	mustOK(t, st.CreateApplication(t.Context(), a))
	return a
}

func newEndpoint(t *testing.T, st *store.Store, groupID, appID string) *model.Endpoint {
	t.Helper()
	at := ms(time.Now())
	exp := at.Add(time.Hour)
	e := &model.Endpoint{
		UID: ids.New(), GroupID: groupID, AppID: appID, URL: "https://example.com/hook",
		Secrets:     []model.Secret{{Value: "new", CreatedAt: at}, {Value: "old", CreatedAt: at, ExpiresAt: &exp}},
		Events:      []string{"invoice.*"},
		HTTPTimeout: 10 * time.Second, RateLimit: 10, RateLimitDuration: time.Second,
		Status: model.EndpointActive, CreatedAt: at, UpdatedAt: at,
	}
	mustOK(t, st.CreateEndpoint(t.Context(), e))
	return e
}

func event(groupID, appID, eventType string, at time.Time) model.Event {
	return model.Event{
		UID: ids.At(at), GroupID: groupID, AppID: appID, EventType: eventType,
		Data: []byte(`{"n": 1, "s": "caf\u00e9"}`), CreatedAt: ms(at),
	}
}

func delivery(ev model.Event, endpointID string, at time.Time) model.Delivery {
	due := ms(at)
	return model.Delivery{
		UID: ids.Delivery(ev.UID, endpointID), GroupID: ev.GroupID, EventID: ev.UID, AppID: ev.AppID,
		EndpointID: endpointID, EventType: ev.EventType, Status: model.StatusScheduled,
		Metadata:  model.DeliveryMetadata{RetryLimit: 3, Strategy: model.StrategyLinear, IntervalSeconds: 10, NextSendTime: &due},
		CreatedAt: ms(at), UpdatedAt: ms(at),
	}
}

// uidsOf maps items to their ids, in order.
func uidsOf[T any](items []T, id func(*T) string) []string {
	out := make([]string, len(items))
	for i := range items {
		out[i] = id(&items[i])
	}
	return out
}

// newestFirst sorts ids the way a newest-first list returns them.
func newestFirst(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	slices.Reverse(out)
	return out
}

// collectPages walks a list page by page and checks the cursor contract:
// has_next on every page but the last, the cursor being the page's last id.
func collectPages[T any](t *testing.T, perPage int, id func(*T) string, list func(store.Page) ([]T, store.PageInfo, error)) (all []string, pages int) {
	t.Helper()
	p := store.Page{PerPage: perPage}
	for {
		items, info, err := list(p)
		mustOK(t, err)
		pages++
		if len(items) > perPage {
			t.Fatalf("page %d has %d items, per_page %d", pages, len(items), perPage)
		}
		all = append(all, uidsOf(items, id)...)
		if !info.HasNext {
			if info.NextCursor != "" {
				t.Fatalf("last page has a cursor %q", info.NextCursor)
			}
			return all, pages
		}
		if len(items) != perPage || info.NextCursor != id(&items[len(items)-1]) {
			t.Fatalf("page %d: %d items, cursor %q, want a full page ending at the cursor", pages, len(items), info.NextCursor)
		}
		p.Cursor = info.NextCursor
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
	}
}
