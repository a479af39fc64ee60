package rotation_test

import (
	"strings"
	"sync"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/secretbox"
	"convoy/core/store"
	"convoy/scheduler-service/internal/rotation"

	"github.com/nats-io/nats.go/jetstream"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
	"go.uber.org/zap"
)

const db = "convoy"

func keyring(t *testing.T, keys ...string) *secretbox.Keyring {
	t.Helper()
	kr, err := secretbox.Parse(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func newKey(t *testing.T, id string) string {
	t.Helper()
	k, err := secretbox.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func open(t *testing.T, uri string, kr *secretbox.Keyring) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), uri, db, store.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := st.CheckKeyring(t.Context()); err != nil {
		t.Fatal(err)
	}
	return st
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestRotationRunsOnceAcrossReplicas seals endpoints under key A, puts B
// first, asks for a rotation and lets two replicas race for it: one runs
// it, every stored secret then names B, and A can go.
func TestRotationRunsOnceAcrossReplicas(t *testing.T) {
	uri, natsURL := embeddedtest.ForTest(t)
	keyA, keyB := newKey(t, "A"), newKey(t, "B")
	stA := open(t, uri, keyring(t, keyA))
	var eps []string
	for i := range 150 { // more than one progress report
		e := &model.Endpoint{UID: ids.New(), GroupID: "g", AppID: "a", URL: "https://example.com",
			Secrets: []model.Secret{{Value: "secret-" + string(rune('a'+i%26))}}, Status: model.EndpointActive}
		mustOK(t, stA.CreateEndpoint(t.Context(), e))
		eps = append(eps, e.UID)
	}
	stBA := open(t, uri, keyring(t, keyB, keyA))

	nc, js, err := queue.Connect(natsURL, "test", zap.NewNop())
	mustOK(t, err)
	t.Cleanup(nc.Close)
	kv, err := rotation.EnsureBucket(t.Context(), js, 1)
	mustOK(t, err)

	replicas := []*rotation.Rotator{
		rotation.New(stBA, kv, rotation.Options{ActiveKeyID: "B", Interval: time.Second, Holder: "r1"}, zap.NewNop()),
		rotation.New(stBA, kv, rotation.Options{ActiveKeyID: "B", Interval: time.Second, Holder: "r2"}, zap.NewNop()),
	}
	// Nothing asked for: nothing runs.
	mustOK(t, replicas[0].Once(t.Context()))
	if s, _ := stBA.EncryptionState(t.Context()); s.Rotation.Status != store.RotationIdle {
		t.Fatalf("status = %q, want idle", s.Rotation.Status)
	}

	_, err = stBA.RequestRotation(t.Context(), "B")
	mustOK(t, err)
	// A lease held elsewhere keeps both replicas out.
	rev, err := kv.Create(t.Context(), "encryption_rotation", []byte("elsewhere"))
	mustOK(t, err)
	for _, r := range replicas {
		mustOK(t, r.Once(t.Context()))
	}
	if s, _ := stBA.EncryptionState(t.Context()); s.Rotation.Status != store.RotationPending {
		t.Fatalf("status with the lease held elsewhere = %q, want pending", s.Rotation.Status)
	}
	mustOK(t, kv.Delete(t.Context(), "encryption_rotation", jetstream.LastRevision(rev)))

	var wg sync.WaitGroup
	for _, r := range replicas {
		wg.Go(func() { mustOK(t, r.Once(t.Context())) })
	}
	wg.Wait()
	s, err := stBA.EncryptionState(t.Context())
	mustOK(t, err)
	r := s.Rotation
	if r.Status != store.RotationDone || r.ActiveKeyID != "B" || r.Done != r.Total || r.Total < int64(len(eps)) ||
		r.StartedAt == nil || r.FinishedAt == nil || r.FinishedAt.Before(*r.StartedAt) {
		t.Fatalf("rotation = %+v", r)
	}

	// Every stored secret names B, read past the store's decoder.
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	mustOK(t, err)
	t.Cleanup(func() { c.Disconnect(t.Context()) })
	for _, id := range eps {
		raw, err := c.Database(db).Collection("endpoints").FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Raw()
		mustOK(t, err)
		v := raw.Lookup("secrets", "0", "value").StringValue()
		if secretbox.KeyID(v) != "B" {
			t.Fatalf("endpoint %s secret = %q, want sealed with B", id, v)
		}
	}
	// A can go: a store with only B starts and reads them.
	stB := open(t, uri, keyring(t, keyB))
	e, err := stB.EndpointByID(t.Context(), eps[1])
	mustOK(t, err)
	if e.Secrets[0].Value != "secret-b" {
		t.Errorf("secret = %q", e.Secrets[0].Value)
	}
	// The lease was released.
	if _, err := kv.Get(t.Context(), "encryption_rotation"); err == nil {
		t.Error("the lease is still held after the rotation")
	}
}

// TestRotationRefusesAnotherActiveKey fails a rotation asked for with a key
// the scheduler does not seal with, saying why.
func TestRotationRefusesAnotherActiveKey(t *testing.T) {
	uri, natsURL := embeddedtest.ForTest(t)
	st := open(t, uri, keyring(t, newKey(t, "A")))
	nc, js, err := queue.Connect(natsURL, "test", zap.NewNop())
	mustOK(t, err)
	t.Cleanup(nc.Close)
	kv, err := rotation.EnsureBucket(t.Context(), js, 1)
	mustOK(t, err)
	_, err = st.RequestRotation(t.Context(), "C")
	mustOK(t, err)
	mustOK(t, rotation.New(st, kv, rotation.Options{ActiveKeyID: "A", Interval: time.Second, Holder: "r"}, zap.NewNop()).Once(t.Context()))
	s, err := st.EncryptionState(t.Context())
	mustOK(t, err)
	if s.Rotation.Status != store.RotationFailed || !strings.Contains(s.Rotation.Error, `"C"`) {
		t.Fatalf("rotation = %+v", s.Rotation)
	}
	// A failed rotation can be asked for again.
	if _, err := st.RequestRotation(t.Context(), "A"); err != nil {
		t.Fatalf("request after a failure: %v", err)
	}
}
