package embeddedtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"convoy/core/embedded/embeddedtest"
)

func TestForTest(t *testing.T) {
	mongoURI, natsURL := embeddedtest.ForTest(t)
	ctx := t.Context()

	mc, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mc.Disconnect(context.Background()) })
	if err := mc.Ping(ctx, nil); err != nil {
		t.Fatalf("ping mongo: %v", err)
	}
	if _, err := mc.Database("t").Collection("c").InsertOne(ctx, bson.D{{Key: "_id", Value: "a"}}); err != nil {
		t.Fatalf("insert: %v", err)
	}

	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s"}}); err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	if _, err := js.Publish(ctx, "s", []byte("x")); err != nil {
		t.Fatalf("publish: %v", err)
	}
}

// TestForTestCleanupIsQuick guards the cleanup order: clients closed by the test go first, so
// FerretDB does not wait out its grace period for them.
func TestForTestCleanupIsQuick(t *testing.T) {
	var start time.Time
	t.Run("inner", func(t *testing.T) {
		mongoURI, _ := embeddedtest.ForTest(t)
		mc, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = mc.Disconnect(context.Background())
			start = time.Now()
		})
		if err := mc.Ping(t.Context(), nil); err != nil {
			t.Fatal(err)
		}
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("servers took %s to stop", d)
	}
}
