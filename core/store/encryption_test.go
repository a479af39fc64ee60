package store_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/secretbox"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"

	"go.mongodb.org/mongo-driver/v2/bson"
)

func testKey(t *testing.T, id string) string {
	t.Helper()
	k, err := secretbox.NewKey(id)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func testKeyring(t *testing.T, keys ...string) *secretbox.Keyring {
	t.Helper()
	kr, err := secretbox.Parse(strings.Join(keys, ","))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// sealedFixture is one document of each type with sealed fields, each
// secret a distinct recognisable string.
type sealedFixture struct {
	group *model.Group
	app   *model.Application
	ep    *model.Endpoint
	plain []string
}

func writeSealedFixture(t *testing.T, st *store.Store, tag string) sealedFixture {
	t.Helper()
	at := ms(time.Now())
	exp := at.Add(time.Hour)
	f := sealedFixture{plain: []string{"meta-" + tag + "-secret-value", "app-" + tag + "-secret-value", "ep-" + tag + "-current-secret", "ep-" + tag + "-retired-secret",
		"whsk_ep-" + tag + "-signing-key", "ep-" + tag + "-basic-password"}}
	cfg := model.DefaultGroupConfig()
	cfg.MetaEvent = model.MetaEventConfig{IsEnabled: true, URL: "https://example.com/meta", Secret: f.plain[0]}
	f.group = &model.Group{UID: ids.New(), Name: "g", Config: cfg, CreatedAt: at, UpdatedAt: at}
	mustOK(t, st.CreateGroup(t.Context(), f.group))
	f.app = &model.Application{UID: ids.New(), GroupID: f.group.UID, Name: "a", Secret: f.plain[1], CreatedAt: at, UpdatedAt: at}
	mustOK(t, st.CreateApplication(t.Context(), f.app))
	f.ep = &model.Endpoint{UID: ids.New(), GroupID: f.group.UID, AppID: f.app.UID, URL: "https://example.com/hook",
		Secrets: []model.Secret{{Value: f.plain[2], CreatedAt: at}, {Value: f.plain[3], CreatedAt: at, ExpiresAt: &exp}},
		Events:  []string{"*"}, Status: model.EndpointActive, CreatedAt: at, UpdatedAt: at,
		SigningKey:     f.plain[4],
		Authentication: &model.EndpointAuthentication{Type: model.AuthBasic, Basic: &model.BasicAuth{Username: "u", Password: f.plain[5]}}}
	mustOK(t, st.CreateEndpoint(t.Context(), f.ep))
	return f
}

// raw reads a document as stored, past the store's decoder.
func raw(t *testing.T, st *store.Store, coll, id string) bson.Raw {
	t.Helper()
	r, err := st.RawCollection(coll).FindOne(t.Context(), bson.D{{Key: "_id", Value: id}}).Raw()
	if err != nil {
		t.Fatalf("raw %s %s: %v", coll, id, err)
	}
	return r
}

// sealedValues returns a fixture's stored secret strings, raw.
func sealedValues(t *testing.T, st *store.Store, f sealedFixture) []string {
	t.Helper()
	g := raw(t, st, "groups", f.group.UID)
	a := raw(t, st, "applications", f.app.UID)
	e := raw(t, st, "endpoints", f.ep.UID)
	str := func(r bson.Raw, path ...string) string {
		v, err := r.LookupErr(path...)
		if err != nil {
			return "" // absent: not set
		}
		return v.StringValue()
	}
	out := []string{str(g, "config", "meta_event", "secret"), str(a, "secret")}
	vals, _ := e.Lookup("secrets").Array().Values()
	for _, v := range vals {
		out = append(out, str(v.Document(), "value"))
	}
	return append(out, str(e, "signing_key"), str(e, "authentication", "basic", "password"))
}

// wantReadable checks that the store reads the fixture's secrets in plain
// text.
func wantReadable(t *testing.T, st *store.Store, f sealedFixture) {
	t.Helper()
	g, err := st.GetGroup(t.Context(), f.group.UID)
	mustOK(t, err)
	a, err := st.GetApplication(t.Context(), f.group.UID, f.app.UID)
	mustOK(t, err)
	e, err := st.EndpointByID(t.Context(), f.ep.UID)
	mustOK(t, err)
	got := []string{g.Config.MetaEvent.Secret, a.Secret, e.Secrets[0].Value, e.Secrets[1].Value, e.SigningKey, e.Authentication.Basic.Password}
	if strings.Join(got, ",") != strings.Join(f.plain, ",") {
		t.Fatalf("read %v, want %v", got, f.plain)
	}
	// The lists go through the same decoder.
	eps, err := st.EndpointsOfApp(t.Context(), f.app.UID)
	mustOK(t, err)
	if len(eps) != 1 || eps[0].Secrets[0].Value != f.plain[2] {
		t.Fatalf("EndpointsOfApp = %+v", eps)
	}
}

func TestSecretsAreSealedAtRest(t *testing.T) {
	fdb := embeddedtest.FerretDB(t)
	kr := testKeyring(t, testKey(t, "k1"))
	st := openStore(t, fdb.URI(), "convoy_sealed", store.WithKeyring(kr))
	mustOK(t, st.CheckKeyring(t.Context()))
	f := writeSealedFixture(t, st, "a")

	for _, c := range []struct{ coll, id string }{{"groups", f.group.UID}, {"applications", f.app.UID}, {"endpoints", f.ep.UID}} {
		doc := raw(t, st, c.coll, c.id)
		for _, p := range f.plain {
			if bytes.Contains(doc, []byte(p)) {
				t.Errorf("%s %s holds %q in plain text", c.coll, c.id, p)
			}
		}
	}
	for i, v := range sealedValues(t, st, f) {
		if secretbox.KeyID(v) != "k1" {
			t.Errorf("stored secret %d = %q, want sealed with k1", i, v)
		}
	}
	wantReadable(t, st, f)
	// Documents the SQLite index reads from FerretDB's rows open too.
	ix := sqliteindex.Open(fdb.Dir(), "convoy_sealed")
	t.Cleanup(func() { ix.Close() })
	wantReadable(t, openStore(t, fdb.URI(), "convoy_sealed", store.WithKeyring(kr), store.WithIndex(ix)), f)
	// The caller's value is not sealed in place.
	if f.ep.Secrets[0].Value != f.plain[2] || f.ep.SigningKey != f.plain[4] || f.ep.Authentication.Basic.Password != f.plain[5] {
		t.Errorf("CreateEndpoint changed its argument: %+v", f.ep)
	}

	// A sealed value moved into another document does not open.
	other := writeSealedFixture(t, st, "b")
	stolen := raw(t, st, "endpoints", f.ep.UID).Lookup("secrets")
	_, err := st.RawCollection("endpoints").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: other.ep.UID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "secrets", Value: stolen}}}})
	mustOK(t, err)
	if _, err := st.EndpointByID(t.Context(), other.ep.UID); !errors.Is(err, secretbox.ErrTampered) {
		t.Errorf("swapped secret: err = %v, want ErrTampered", err)
	}

	// Without a key the store neither starts nor reads a sealed secret.
	none := openStore(t, fdb.URI(), "convoy_sealed")
	if err := none.CheckKeyring(t.Context()); !errors.Is(err, store.ErrKeyringMismatch) || !strings.Contains(err.Error(), "CONVOY_ENCRYPTION_KEYS") {
		t.Errorf("CheckKeyring without a key = %v", err)
	}
	if _, err := none.EndpointByID(t.Context(), f.ep.UID); !errors.Is(err, secretbox.ErrNoKeyring) {
		t.Errorf("read without a key: err = %v", err)
	}
}

func TestRotationResealsWithTheNewKey(t *testing.T) {
	fdb := embeddedtest.FerretDB(t)
	keyA, keyB := testKey(t, "A"), testKey(t, "B")
	const db = "convoy_rotation"

	// Documents from before encryption, then documents under key A.
	legacy := writeSealedFixture(t, openStore(t, fdb.URI(), db), "legacy")
	stA := openStore(t, fdb.URI(), db, store.WithKeyring(testKeyring(t, keyA)))
	mustOK(t, stA.CheckKeyring(t.Context()))
	underA := []sealedFixture{writeSealedFixture(t, stA, "a1"), writeSealedFixture(t, stA, "a2")}
	for _, v := range sealedValues(t, stA, legacy) {
		if secretbox.KeyID(v) != "" {
			t.Fatalf("legacy value sealed: %q", v)
		}
	}
	wantReadable(t, stA, legacy)

	// B goes first; A still opens.
	stBA := openStore(t, fdb.URI(), db, store.WithKeyring(testKeyring(t, keyB, keyA)))
	mustOK(t, stBA.CheckKeyring(t.Context()))
	state, err := stBA.RequestRotation(t.Context(), "B")
	mustOK(t, err)
	if state.Rotation.Status != store.RotationPending || state.Rotation.ActiveKeyID != "B" {
		t.Fatalf("requested rotation = %+v", state.Rotation)
	}
	if _, err := stBA.RequestRotation(t.Context(), "B"); !errors.Is(err, store.ErrRotationRunning) {
		t.Fatalf("second request: err = %v, want ErrRotationRunning", err)
	}
	// Removing A before the rotation finished is refused.
	stB := openStore(t, fdb.URI(), db, store.WithKeyring(testKeyring(t, keyB)))
	if err := stB.CheckKeyring(t.Context()); !errors.Is(err, store.ErrKeyringMismatch) || !strings.Contains(err.Error(), "[A]") {
		t.Fatalf("CheckKeyring without A before the rotation = %v", err)
	}

	// A field this version does not know survives the rotation's write.
	_, err = stA.RawCollection("groups").UpdateOne(t.Context(), bson.D{{Key: "_id", Value: underA[0].group.UID}},
		bson.D{{Key: "$set", Value: bson.D{{Key: "config.from_a_later_version", Value: "kept"}}}})
	mustOK(t, err)

	var last int64
	stBA.SetRotateList(2) // three documents of each type: two listings each
	mustOK(t, stBA.Reseal(t.Context(), func(done int64) error { last = done; return nil }))
	if last != 9 {
		t.Errorf("rotation read %d documents, want 9 (three of each type)", last)
	}
	mustOK(t, stBA.FinishRotation(t.Context(), store.Rotation{Status: store.RotationDone, ActiveKeyID: "B", Total: 9, Done: last}))

	for _, f := range append(underA, legacy) {
		for i, v := range sealedValues(t, stBA, f) {
			if secretbox.KeyID(v) != "B" {
				t.Errorf("after rotation, secret %d of %s = %q, want sealed with B", i, f.ep.UID, v)
			}
		}
		// A is no longer needed.
		wantReadable(t, stB, f)
	}
	if v, err := raw(t, stB, "groups", underA[0].group.UID).LookupErr("config", "from_a_later_version"); err != nil || v.StringValue() != "kept" {
		t.Errorf("the rotation dropped a field it does not know: %v %v", v, err)
	}
	mustOK(t, stB.CheckKeyring(t.Context()))
	state, err = stB.EncryptionState(t.Context())
	mustOK(t, err)
	if strings.Join(state.KeyIDs, ",") != "B" || state.Rotation.Status != store.RotationDone {
		t.Errorf("state after rotation = %+v", state)
	}
	// A second pass finds nothing to do and still succeeds.
	mustOK(t, stB.Reseal(t.Context(), func(int64) error { return nil }))
}

// A secret changed between the rotation's read of a document and its write
// is kept, not overwritten with the value the rotation read.
func TestRotationKeepsAConcurrentChange(t *testing.T) {
	fdb := embeddedtest.FerretDB(t)
	keyA, keyB := testKey(t, "A"), testKey(t, "B")
	const db = "convoy_rotation_race"
	stA := openStore(t, fdb.URI(), db, store.WithKeyring(testKeyring(t, keyA)))
	f := writeSealedFixture(t, stA, "race")
	stBA := openStore(t, fdb.URI(), db, store.WithKeyring(testKeyring(t, keyB, keyA)))

	changed := map[string]bool{}
	stBA.SetBeforeReseal(func(id string) {
		if changed[id] {
			return
		}
		changed[id] = true
		// Another replica, still sealing with A, rolls the secrets.
		switch id {
		case f.ep.UID:
			e := *f.ep
			e.Secrets = []model.Secret{{Value: "rolled-endpoint-secret", CreatedAt: f.ep.CreatedAt}}
			mustOK(t, stA.ReplaceEndpoint(t.Context(), &e))
		case f.app.UID:
			a := *f.app
			a.Secret = ""
			mustOK(t, stA.ReplaceApplication(t.Context(), &a))
		case f.group.UID:
			g := *f.group
			g.Config.MetaEvent.Secret = "rolled-meta-secret"
			mustOK(t, stA.ReplaceGroup(t.Context(), &g))
		}
	})
	mustOK(t, stBA.Reseal(t.Context(), func(int64) error { return nil }))
	if len(changed) != 3 {
		t.Fatalf("the hook ran for %d documents, want 3", len(changed))
	}

	e, err := stBA.EndpointByID(t.Context(), f.ep.UID)
	mustOK(t, err)
	if len(e.Secrets) != 1 || e.Secrets[0].Value != "rolled-endpoint-secret" {
		t.Errorf("endpoint secrets after the rotation: %+v, want the rolled one", e.Secrets)
	}
	a, err := stBA.GetApplication(t.Context(), f.group.UID, f.app.UID)
	mustOK(t, err)
	if a.Secret != "" {
		t.Errorf("application secret %q, want the cleared one", a.Secret)
	}
	g, err := stBA.GetGroup(t.Context(), f.group.UID)
	mustOK(t, err)
	if g.Config.MetaEvent.Secret != "rolled-meta-secret" {
		t.Errorf("meta secret %q, want the rolled one", g.Config.MetaEvent.Secret)
	}
	// And the changed values are sealed with B all the same.
	for i, v := range sealedValues(t, stBA, f) {
		if v != "" && secretbox.KeyID(v) != "B" {
			t.Errorf("secret %d = %q, want sealed with B", i, v)
		}
	}
}
