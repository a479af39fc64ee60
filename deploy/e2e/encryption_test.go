package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/secretbox"
	"convoy/core/verify"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

// encryptionStatus is GET /api/v1/admin/encryption's data.
type encryptionStatus struct {
	ActiveKeyID   string   `json:"active_key_id"`
	Keys          []string `json:"keys"`
	Status        string   `json:"status"`
	RotationKeyID string   `json:"rotation_key_id"`
	Total         int64    `json:"total"`
	Done          int64    `json:"done"`
	StartedAt     *string  `json:"started_at"`
	FinishedAt    *string  `json:"finished_at"`
	Error         string   `json:"error"`
}

// storedSecrets returns every secret string stored in the groups,
// applications and endpoints collections, read past the store's decoder.
func storedSecrets(t *testing.T, mongoURI string) []string {
	t.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Disconnect(context.Background())
	db := c.Database("convoy")
	var out []string
	each := func(coll string, pick func(bson.Raw) []string) {
		cur, err := db.Collection(coll).Find(t.Context(), bson.D{})
		if err != nil {
			t.Fatal(err)
		}
		defer cur.Close(t.Context())
		for cur.Next(t.Context()) {
			for _, v := range pick(cur.Current) {
				if v != "" {
					out = append(out, v)
				}
			}
		}
	}
	str := func(r bson.Raw, path ...string) string {
		v, err := r.LookupErr(path...)
		if err != nil {
			return ""
		}
		return v.StringValue()
	}
	each("groups", func(r bson.Raw) []string { return []string{str(r, "config", "meta_event", "secret")} })
	each("applications", func(r bson.Raw) []string { return []string{str(r, "secret")} })
	each("endpoints", func(r bson.Raw) []string {
		var vs []string
		arr, _ := r.Lookup("secrets").Array().Values()
		for _, v := range arr {
			vs = append(vs, str(v.Document(), "value"))
		}
		return vs
	})
	return out
}

// A key rotation while events keep flowing: secrets are stored sealed with
// key A; every service is restarted with B first (A still configured), a
// rotation is asked for and runs; every delivery sent meanwhile verifies
// with the endpoint's secret; afterwards every stored secret names B, and
// the stack runs, and signs, with B alone.
func TestKeyRotationKeepsSigning(t *testing.T) {
	mongoURI, natsURL := embeddedtest.ForTest(t)
	keyA, err := secretbox.NewKey("A")
	if err != nil {
		t.Fatal(err)
	}
	keyB, err := secretbox.NewKey("B")
	if err != nil {
		t.Fatal(err)
	}
	s := startStackOn(t, mongoURI, natsURL, "CONVOY_ENCRYPTION_KEYS="+keyA)

	type target struct {
		recv       *receiver
		group, app string
		secret     string
	}
	var targets []target
	for range 3 {
		recv := newReceiver(t)
		group, app, ep := setup(s, map[string]any{"meta_event": map[string]any{"is_enabled": true, "url": recv.URL + "/meta", "secret": "meta-secret-" + strconv.Itoa(len(targets))}}, recv.URL)
		s.must(200, "PUT", "/api/v1/groups/"+group.UID+"/applications/"+app.UID, map[string]any{"name": "shop", "secret": "app-secret-value-" + strconv.Itoa(len(targets))}, nil)
		targets = append(targets, target{recv: recv, group: group.UID, app: app.UID, secret: ep.Secret})
	}
	for _, v := range storedSecrets(t, mongoURI) {
		if secretbox.KeyID(v) != "A" {
			t.Fatalf("stored secret %q, want sealed with A", v)
		}
	}

	// Events flow through the whole rotation; only accepted ones count.
	var (
		mu       sync.Mutex
		accepted = map[int]int{} // target -> events accepted
		stop     = make(chan struct{})
		done     sync.WaitGroup
	)
	for i, tg := range targets {
		done.Go(func() {
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(30 * time.Millisecond):
				}
				// Services restart meanwhile: a refused connection or a 503
				// is simply not an accepted event.
				body := fmt.Sprintf(`{"app_id": %q, "event_type": "invoice.paid", "data": {"n": %d}}`, tg.app, n)
				req, _ := http.NewRequest("POST", s.Gateway+"/api/v1/groups/"+tg.group+"/events", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+adminKey)
				req.Header.Set("Content-Type", "application/json")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 201 {
					mu.Lock()
					accepted[i]++
					mu.Unlock()
				}
			}
		})
	}

	// B goes first on every service, one at a time; A stays to open what
	// it sealed.
	for _, name := range services {
		s.env[name] = append(s.env[name], "CONVOY_ENCRYPTION_KEYS="+keyB+","+keyA)
		s.restart(name, syscall.SIGTERM)
		s.waitHealthy()
	}
	var st encryptionStatus
	eventually(t, 30*time.Second, "the rotation to be accepted", func() bool {
		r := apiDo(t, s, "POST", "/api/v1/admin/encryption/rotate", adminKey, nil)
		r.data(t, &st)
		return r.code == 202
	})
	if st.ActiveKeyID != "B" || strings.Join(st.Keys, ",") != "B,A" || st.RotationKeyID != "B" {
		t.Fatalf("rotation asked for: %+v", st)
	}
	eventually(t, 60*time.Second, "the rotation to finish", func() bool {
		apiDo(t, s, "GET", "/api/v1/admin/encryption", adminKey, nil).data(t, &st)
		if st.Status == "failed" {
			t.Fatalf("rotation failed: %s", st.Error)
		}
		return st.Status == "done"
	})
	for _, v := range storedSecrets(t, mongoURI) {
		if secretbox.KeyID(v) != "B" {
			t.Errorf("after the rotation, stored secret %q, want sealed with B", v)
		}
	}

	// A goes: every service restarts with B alone, and keeps delivering.
	for _, name := range services {
		s.env[name] = append(s.env[name], "CONVOY_ENCRYPTION_KEYS="+keyB)
		s.restart(name, syscall.SIGTERM)
		s.waitHealthy()
	}
	close(stop)
	done.Wait()

	for i, tg := range targets {
		mu.Lock()
		want := accepted[i]
		mu.Unlock()
		if want == 0 {
			t.Fatalf("no event accepted for endpoint %d", i)
		}
		eventually(t, 60*time.Second, "every accepted event to be delivered", func() bool {
			return len(hooks(tg.recv)) >= want
		})
		for _, got := range hooks(tg.recv) {
			opts := verify.Options{Format: "simple", Hash: "SHA256", ReplayAttacks: true}
			if err := verify.Verify(opts, []string{tg.secret}, got.header, got.body); err != nil {
				t.Fatalf("endpoint %d: delivery %s does not verify: %v", i, got.body, err)
			}
		}
	}
	mu.Lock()
	t.Logf("events accepted per endpoint across the restarts and the rotation: %v; rotation %+v", accepted, st)
	mu.Unlock()
	var final encryptionStatus
	apiDo(t, s, "GET", "/api/v1/admin/encryption", adminKey, nil).data(t, &final)
	if final.ActiveKeyID != "B" || strings.Join(final.Keys, ",") != "B" || final.Status != "done" {
		t.Errorf("status with B alone: %+v", final)
	}
}

// hooks are the webhook requests a receiver got (not its meta events).
func hooks(r *receiver) []received {
	var out []received
	for _, got := range r.requests() {
		if bytes.HasPrefix(got.body, []byte(`{"n":`)) {
			out = append(out, got)
		}
	}
	return out
}
