package store_test

import (
	"testing"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/store"
)

// EnsureSchema skips the secondary indexes on FerretDB, but ensureIndexes is
// what runs on a real MongoDB at every replica's start. Asking FerretDB again
// for indexes that exist crashed its connection, so run it twice there.
func TestEnsureIndexesTwice(t *testing.T) {
	uri, _ := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), uri, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	models := store.DeliveryIndexModels()
	for i := range 2 {
		if err := st.EnsureIndexes(t.Context(), "deliveries", models); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	specs, err := st.RawCollection("deliveries").Indexes().ListSpecifications(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if want := len(models) + 1; len(specs) != want { // plus _id_
		t.Errorf("%d indexes, want %d", len(specs), want)
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("store unhealthy after repeated index creation: %v", err)
	}
}
