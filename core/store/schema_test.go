package store_test

import (
	"testing"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/store"
)

// Every replica runs EnsureSchema at start, so it must succeed on a store
// that already has every collection and index.
func TestEnsureSchemaIsIdempotent(t *testing.T) {
	uri, _ := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), uri, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	for i := range 3 {
		if err := st.EnsureSchema(t.Context()); err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
	}
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("store unhealthy after repeated EnsureSchema: %v", err)
	}
}
