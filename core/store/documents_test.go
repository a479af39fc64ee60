package store_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"convoy/core/embedded"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// The SQLite index reads whole documents from FerretDB's rows for the
// queries that return every document of a group or application. What it
// reads must be byte for byte what FerretDB answers, for every BSON type
// FerretDB stores, and the store's answers must not change with it.
func TestIndexDocumentsMatchFerretDB(t *testing.T) {
	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(t.TempDir(), "ferretdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	plain := openStore(t, f.URI(), "convoy")
	ix := sqliteindex.Open(f.Dir(), "convoy")
	t.Cleanup(func() { ix.Close() })
	indexed := openStore(t, f.URI(), "convoy", store.WithIndex(ix))

	// One document of every type, nested and in arrays, straight through
	// the driver.
	oid := bson.NewObjectID()
	odd := bson.D{
		{Key: "_id", Value: "odd-1"}, {Key: "group_id", Value: "g-odd"}, {Key: "app_id", Value: "a-odd"},
		{Key: "s", Value: "text with \"quotes\" and ünïcode"}, {Key: "empty", Value: ""},
		{Key: "i32", Value: int32(-7)}, {Key: "i64", Value: int64(1) << 53}, {Key: "f", Value: 2.5},
		{Key: "t", Value: true}, {Key: "n", Value: nil}, {Key: "when", Value: bson.DateTime(1767225600123)},
		{Key: "bin", Value: bson.Binary{Subtype: 0, Data: []byte{0, 1, 2, 255}}},
		{Key: "uuid", Value: bson.Binary{Subtype: 4, Data: bytes.Repeat([]byte{7}, 16)}},
		{Key: "oid", Value: oid}, {Key: "ts", Value: bson.Timestamp{T: 1767225600, I: 3}},
		{Key: "doc", Value: bson.D{{Key: "z", Value: int32(1)}, {Key: "a", Value: bson.D{}}}},
		{Key: "arr", Value: bson.A{"x", int64(2), bson.D{{Key: "k", Value: bson.A{}}}, nil, false}},
		{Key: "emptyarr", Value: bson.A{}},
	}
	if _, err := plain.RawCollection("endpoints").InsertOne(t.Context(), odd); err != nil {
		t.Fatal(err)
	}
	// And real endpoints, as the store writes them.
	expires := time.Now().Add(time.Hour).UTC().Truncate(time.Millisecond)
	for _, id := range []string{"ep-1", "ep-2"} {
		ep := &model.Endpoint{UID: id, GroupID: "g-1", AppID: "a-1", URL: "https://example.com/" + id,
			Secrets: []model.Secret{{Value: "s1", CreatedAt: expires.Add(-time.Hour)}, {Value: "s2", ExpiresAt: &expires}},
			Events:  []string{"invoice.*"}, HTTPTimeout: 30 * time.Second, RateLimit: 5000, Status: model.EndpointActive,
			Filter: `{"body":{"a":1}}`, CreatedAt: expires, UpdatedAt: expires}
		if err := plain.CreateEndpoint(t.Context(), ep); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.EnsureIDIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}

	docs, ok, err := ix.Documents(t.Context(), "endpoints", []store.FieldValue{{Field: "group_id", Value: "g-odd"}})
	if err != nil || !ok || len(docs) != 1 {
		t.Fatalf("Documents = %d docs, ok %v, err %v", len(docs), ok, err)
	}
	var viaFerret bson.Raw
	if err := plain.RawCollection("endpoints").FindOne(t.Context(), bson.D{{Key: "_id", Value: "odd-1"}}).Decode(&viaFerret); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(docs[0], viaFerret) {
		t.Fatalf("read from SQLite:\n%s\nfrom FerretDB:\n%s", docs[0], viaFerret)
	}

	// By id: the same bytes, in the order asked, those not stored left out;
	// and an excluding projection's answer, field for field.
	byID, err := ix.DocumentsByID(t.Context(), "endpoints", []string{"ep-2", "missing", "odd-1", "ep-1", "odd-1"}, nil)
	if err != nil || len(byID) != 3 {
		t.Fatalf("DocumentsByID = %d docs, %v; want 3", len(byID), err)
	}
	for i, want := range []string{"ep-2", "odd-1", "ep-1"} {
		if id := byID[i].Lookup("_id").StringValue(); id != want {
			t.Errorf("document %d is %s, want %s", i, id, want)
		}
	}
	if !bytes.Equal(byID[1], viaFerret) {
		t.Fatalf("read by id from SQLite:\n%s\nfrom FerretDB:\n%s", byID[1], viaFerret)
	}
	without, err := ix.DocumentsByID(t.Context(), "endpoints", []string{"odd-1"}, []string{"arr", "doc", "absent"})
	if err != nil || len(without) != 1 {
		t.Fatalf("DocumentsByID without fields = %d docs, %v", len(without), err)
	}
	var projected bson.Raw
	if err := plain.RawCollection("endpoints").FindOne(t.Context(), bson.D{{Key: "_id", Value: "odd-1"}},
		options.FindOne().SetProjection(bson.D{{Key: "arr", Value: 0}, {Key: "doc", Value: 0}, {Key: "absent", Value: 0}})).Decode(&projected); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(without[0], projected) {
		t.Fatalf("without arr and doc from SQLite:\n%s\nfrom FerretDB:\n%s", without[0], projected)
	}

	for _, q := range []struct {
		name string
		get  func(*store.Store) ([]model.Endpoint, error)
	}{
		{"of group", func(s *store.Store) ([]model.Endpoint, error) { return s.EndpointsOfGroup(t.Context(), "g-1") }},
		{"of app", func(s *store.Store) ([]model.Endpoint, error) { return s.EndpointsOfApp(t.Context(), "a-1") }},
	} {
		want, err := q.get(plain)
		if err != nil {
			t.Fatal(err)
		}
		got, err := q.get(indexed)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || len(want) != 2 {
			t.Fatalf("%s: %d through the index, %d through FerretDB, want 2", q.name, len(got), len(want))
		}
		for i := range want {
			a, _ := bson.Marshal(want[i])
			b, _ := bson.Marshal(got[i])
			if !bytes.Equal(a, b) {
				t.Errorf("%s: endpoint %s differs:\n%+v\n%+v", q.name, want[i].UID, want[i], got[i])
			}
		}
	}

	if _, ok, _ := ix.Documents(t.Context(), "endpoints", []store.FieldValue{{Field: "url", Value: "x"}}); ok {
		t.Error("Documents served a field it has no index for")
	}
}

// StoredDeliveries answers which ids are stored, the same through the
// SQLite index as through FerretDB.
func TestStoredDeliveries(t *testing.T) {
	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(t.TempDir(), "ferretdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	plain := openStore(t, f.URI(), "convoy")
	ix := sqliteindex.Open(f.Dir(), "convoy")
	t.Cleanup(func() { ix.Close() })
	indexed := openStore(t, f.URI(), "convoy", store.WithIndex(ix))
	at := time.Now().UTC().Truncate(time.Millisecond)
	var ds []model.Delivery
	for _, id := range []string{"dlv-1", "dlv-2", "dlv-3"} {
		ds = append(ds, model.Delivery{UID: id, GroupID: "g", EventID: "e", EndpointID: "ep", Status: model.StatusSuccess, CreatedAt: at, UpdatedAt: at})
	}
	if err := plain.InsertDeliveries(t.Context(), ds); err != nil {
		t.Fatal(err)
	}
	if err := f.EnsureIDIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	// More than one query's worth of ids (500), read in the order asked.
	var many []model.Delivery
	var manyIDs []string
	for i := range 1200 {
		id := fmt.Sprintf("dlv-m%04d", 1199-i)
		many = append(many, model.Delivery{UID: id, GroupID: "g", EventID: "e", EndpointID: "ep", Status: model.StatusSuccess, CreatedAt: at, UpdatedAt: at})
		manyIDs = append(manyIDs, id)
	}
	if err := plain.InsertDeliveries(t.Context(), many); err != nil {
		t.Fatal(err)
	}
	got, err := indexed.StoredDeliveries(t.Context(), manyIDs)
	if err != nil || len(got) != len(manyIDs) {
		t.Fatalf("stored of 1,200 = %d, %v", len(got), err)
	}
	docs, err := ix.DocumentsByID(t.Context(), "deliveries", manyIDs, []string{"attempts"})
	if err != nil || len(docs) != len(manyIDs) {
		t.Fatalf("DocumentsByID of 1,200 = %d, %v", len(docs), err)
	}
	for i, d := range docs {
		if id := d.Lookup("_id").StringValue(); id != manyIDs[i] {
			t.Fatalf("document %d is %s, want %s", i, id, manyIDs[i])
		}
	}

	ask := []string{"dlv-1", "dlv-0", "dlv-3", "dlv-9", "dlv-2"}
	for name, st := range map[string]*store.Store{"plain": plain, "indexed": indexed} {
		got, err := st.StoredDeliveries(t.Context(), ask)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != 3 || !got["dlv-1"] || !got["dlv-2"] || !got["dlv-3"] {
			t.Errorf("%s: stored = %v, want dlv-1, dlv-2 and dlv-3", name, got)
		}
		if none, err := st.StoredDeliveries(t.Context(), nil); err != nil || len(none) != 0 {
			t.Errorf("%s: no ids = %v, %v", name, none, err)
		}
	}
}
