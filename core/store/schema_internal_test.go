package store

import (
	"testing"

	"convoy/core/embedded/embeddedtest"
)

// EnsureSchema skips the secondary indexes on FerretDB, but ensureIndexes is
// what runs on a real MongoDB at every replica's start. Asking FerretDB again
// for indexes that exist crashed its connection, so run it twice there.
func TestEnsureIndexesTwice(t *testing.T) {
	uri, _ := embeddedtest.ForTest(t)
	st, err := Open(t.Context(), uri, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	models := indexes()[collDeliveries]
	for i := range 2 {
		if err := st.ensureIndexes(t.Context(), st.coll(collDeliveries), models); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	specs, err := st.coll(collDeliveries).Indexes().ListSpecifications(t.Context())
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
