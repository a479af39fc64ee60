package store_test

import (
	"context"
	"testing"

	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

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

// On FerretDB the secondary indexes are skipped: it maintains them on every
// write but answers no query with them.
func TestEnsureSchemaSkipsSecondaryIndexesOnFerretDB(t *testing.T) {
	uri, _ := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), uri, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatal(err)
	}
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Disconnect(context.Background()) })
	for _, coll := range []string{"deliveries", "events", "endpoints"} {
		specs, err := c.Database("convoy").Collection(coll).Indexes().ListSpecifications(t.Context())
		if err != nil {
			t.Fatalf("list indexes of %s: %v", coll, err)
		}
		if len(specs) != 1 || specs[0].Name != "_id_" {
			t.Errorf("%s has indexes %v, want only _id_", coll, specs)
		}
	}
}
