package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
)

// startReplicaWith starts one more process of service name with the
// service's environment, the given variables replaced, and an ops address of
// its own; it waits until the process is ready.
func (s *stack) startReplicaWith(name, instance string, set ...string) string {
	s.t.Helper()
	key := name + "#" + instance
	replaced := map[string]bool{"CONVOY_OPS_ADDR": true}
	for _, kv := range set {
		k, _, _ := strings.Cut(kv, "=")
		replaced[k] = true
	}
	var env []string
	for _, kv := range s.env[name] {
		if k, _, _ := strings.Cut(kv, "="); !replaced[k] {
			env = append(env, kv)
		}
	}
	opsAddr := freeAddr(s.t)
	s.env[key] = append(append(env, set...), "CONVOY_OPS_ADDR="+opsAddr)
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = s.env[key]
	s.logs[key] = &bytes.Buffer{}
	w := lockedWriter{&s.mu, s.logs[key]}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", key, err)
	}
	s.procs[key] = cmd
	eventually(s.t, 30*time.Second, key+" to be ready", func() bool {
		resp, err := http.Get("http://" + opsAddr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return key
}

// The per-key limit holds across two gateways that talk to two ingest
// replicas: they share only NATS and the store, so the count must be there.
func TestAPIRateLimitAcrossGateways(t *testing.T) {
	const limit = 5
	s := startStack(t, "CONVOY_API_RATE_LIMIT="+strconv.Itoa(limit))
	grpc2, http2 := freeAddr(t), freeAddr(t)
	s.startReplicaWith("ingest-service", "2", "CONVOY_GRPC_ADDR="+grpc2)
	s.startReplicaWith("api-gateway", "2", "CONVOY_HTTP_ADDR="+http2, "CONVOY_INGEST_ADDR="+grpc2)
	gateways := []string{s.Gateway, "http://" + http2}

	var g resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "limited"}, &g)
	var k struct{ Key string }
	s.must(201, "POST", "/api/v1/groups/"+g.UID+"/keys", map[string]any{"name": "k"}, &k)

	type answer struct {
		code       int
		retryAfter string
		// sent and answered bound the second the call was counted in.
		sent, answered int64
	}
	var mu sync.Mutex
	var answers []answer
	var wg sync.WaitGroup
	for i := range 40 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", gateways[i%2]+"/api/v1/groups/"+g.UID, nil)
			req.Header.Set("Authorization", "Bearer "+k.Key)
			sent := time.Now().Unix()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			answers = append(answers, answer{resp.StatusCode, resp.Header.Get("Retry-After"), sent, time.Now().Unix()})
			mu.Unlock()
		})
	}
	wg.Wait()
	ok, limited := 0, 0
	first, last := answers[0].sent, answers[0].answered
	for _, a := range answers {
		first, last = min(first, a.sent), max(last, a.answered)
		switch a.code {
		case 200:
			ok++
		case 429:
			limited++
			if n, err := strconv.Atoi(a.retryAfter); err != nil || n < 1 {
				t.Errorf("429 with Retry-After %q, want whole seconds", a.retryAfter)
			}
		default:
			t.Errorf("status %d", a.code)
		}
	}
	// A count kept per replica would let up to twice the limit through
	// each second.
	seconds := int(last-first) + 1
	if limited == 0 || ok > limit*seconds {
		t.Fatalf("%d allowed, %d limited over about %d seconds, want at most %d a second", ok, limited, seconds, limit)
	}
	t.Logf("%d allowed, %d limited over %d seconds", ok, limited, seconds)
	for _, gw := range gateways {
		req, _ := http.NewRequest("GET", gw+"/api/v1/groups/"+g.UID, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("admin key through %s: %d, want 200 (not limited)", gw, resp.StatusCode)
		}
	}
}

// Portal links end to end: scope, revocation within 2 s, expiry, the
// audit log of every kind of change with no secret in it, read-only keys.
func TestPortalLinksAndAuditEndToEnd(t *testing.T) {
	mongoURI, natsURL := embeddedtest.ForTest(t)
	s := startStackOn(t, mongoURI, natsURL)
	recv := newReceiver(t)
	const appSecret, epSecret, rotated = "app-secret-e2e-0123456789", "ep-secret-e2e-0123456789", "rotated-e2e-0123456789"

	var g, mine, theirs, myEp, theirEp, myEv, theirEv resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "portal"}, &g)
	G := "/api/v1/groups/" + g.UID
	s.must(201, "POST", G+"/applications", map[string]any{"name": "mine", "secret": appSecret}, &mine)
	s.must(201, "POST", G+"/applications", map[string]any{"name": "theirs"}, &theirs)
	MINE, THEIRS := G+"/applications/"+mine.UID, G+"/applications/"+theirs.UID
	s.must(201, "POST", MINE+"/endpoints", map[string]any{"url": recv.URL, "secret": epSecret}, &myEp)
	s.must(201, "POST", THEIRS+"/endpoints", map[string]any{"url": recv.URL}, &theirEp)
	s.must(201, "POST", G+"/events", map[string]any{"app_id": mine.UID, "event_type": "x", "data": map[string]any{}}, &myEv)
	s.must(201, "POST", G+"/events", map[string]any{"app_id": theirs.UID, "event_type": "x", "data": map[string]any{}}, &theirEv)
	theirD := storedDeliveries(t, s, g.UID, theirEv.UID, 1)[0].UID
	myD := storedDeliveries(t, s, g.UID, myEv.UID, 1)[0].UID

	var link struct {
		UID, URL, Token    string
		FrameAncestors     []string `json:"frame_ancestors"`
		CanManageEndpoints bool     `json:"can_manage_endpoints"`
	}
	s.must(201, "POST", MINE+"/portal_links", map[string]any{"can_manage_endpoints": true, "frame_ancestors": []string{"'self'", "https://app.example.com"}}, &link)
	if !strings.HasPrefix(link.URL, s.Gateway+"/ui/portal?token=") || !strings.Contains(link.URL, link.Token) || !link.CanManageEndpoints || len(link.FrameAncestors) != 2 {
		t.Fatalf("link %+v", link)
	}
	tok := link.Token

	t.Run("session", func(t *testing.T) {
		var sess struct {
			UID     string `json:"uid"`
			AppID   string `json:"app_id"`
			AppName string `json:"app_name"`
		}
		r := apiDo(t, s, "GET", "/api/v1/portal/session", tok, nil)
		r.data(t, &sess)
		if r.code != 200 || sess.UID != link.UID || sess.AppID != mine.UID || sess.AppName != "mine" {
			t.Fatalf("session %d %+v", r.code, sess)
		}
		if r := apiDo(t, s, "GET", "/api/v1/portal/session", adminKey, nil); r.code != 401 {
			t.Errorf("session with the admin key: %d, want 401", r.code)
		}
	})
	t.Run("another application's data, listed or got", func(t *testing.T) {
		var evs []resource
		r := apiDo(t, s, "GET", G+"/events", tok, nil)
		r.data(t, &struct{ Content *[]resource }{&evs})
		if r.code != 200 || len(evs) != 1 || evs[0].UID != myEv.UID {
			t.Errorf("events without an app filter: %d %v, want only %s", r.code, evs, myEv.UID)
		}
		var ds []resource
		r = apiDo(t, s, "GET", G+"/eventdeliveries", tok, nil)
		r.data(t, &struct{ Content *[]resource }{&ds})
		if r.code != 200 || len(ds) != 1 || ds[0].UID != myD {
			t.Errorf("deliveries without an app filter: %d %v, want only %s", r.code, ds, myD)
		}
		for _, p := range []string{
			G + "/events?app_id=" + theirs.UID, G + "/events/" + theirEv.UID,
			G + "/eventdeliveries?app_id=" + theirs.UID, G + "/eventdeliveries/" + theirD,
			G + "/eventdeliveries/" + theirD + "/deliveryattempts",
			THEIRS, THEIRS + "/endpoints", THEIRS + "/endpoints/" + theirEp.UID, MINE + "/endpoints/" + theirEp.UID,
			"/api/v1/events/" + theirEv.UID, "/api/v1/eventdeliveries/" + theirD,
		} {
			if r := apiDo(t, s, "GET", p, tok, nil); r.code != 404 {
				t.Errorf("GET %s: %d, want 404", p, r.code)
			}
		}
		for _, p := range []string{G + "/applications", G, G + "/keys", G + "/audit_log", MINE + "/portal_links", "/api/v1/admin/audit_log"} {
			if r := apiDo(t, s, "GET", p, tok, nil); r.code != 403 {
				t.Errorf("GET %s: %d, want 403", p, r.code)
			}
		}
		for _, p := range []string{G + "/events/" + myEv.UID, G + "/eventdeliveries/" + myD, MINE + "/endpoints/" + myEp.UID} {
			if r := apiDo(t, s, "GET", p, tok, nil); r.code != 200 {
				t.Errorf("GET %s (its own): %d, want 200", p, r.code)
			}
		}
	})
	t.Run("read-only key", func(t *testing.T) {
		var k struct{ Key, Role string }
		s.must(201, "POST", G+"/keys", map[string]any{"name": "reader", "role": "read_only"}, &k)
		if k.Role != "read_only" {
			t.Fatalf("role %q", k.Role)
		}
		if r := apiDo(t, s, "GET", MINE+"/endpoints", k.Key, nil); r.code != 200 {
			t.Errorf("read: %d", r.code)
		}
		if r := apiDo(t, s, "POST", G+"/applications", k.Key, map[string]any{"name": "x"}); r.code != 403 {
			t.Errorf("write: %d, want 403", r.code)
		}
	})

	// Changes of every kind, by the admin, a group key and the portal link.
	var key struct{ UID, Key string }
	s.must(201, "POST", G+"/keys", map[string]any{"name": "ops"}, &key)
	as := func(k, method, path string, body any, want int) {
		t.Helper()
		if r := apiDo(t, s, method, path, k, body); r.code != want {
			t.Fatalf("%s %s: %d %s, want %d", method, path, r.code, r.env.Message, want)
		}
	}
	as(key.Key, "PUT", G, map[string]any{"name": "portal2"}, 200)
	as(key.Key, "PUT", MINE, map[string]any{"name": "mine2"}, 200)
	as(key.Key, "POST", MINE+"/endpoints/"+myEp.UID+"/expire_secret", map[string]any{"secret": rotated, "expiration": 60}, 200)
	var pep, et resource
	r := apiDo(t, s, "POST", MINE+"/endpoints", tok, map[string]any{"url": recv.URL, "events": []string{"never"}})
	r.data(t, &pep)
	as(tok, "PUT", MINE+"/endpoints/"+pep.UID, map[string]any{"status": "inactive"}, 200)
	as(tok, "DELETE", MINE+"/endpoints/"+pep.UID, nil, 200)
	r = apiDo(t, s, "POST", G+"/event-types", key.Key, map[string]any{"name": "invoice.paid"})
	r.data(t, &et)
	as(key.Key, "DELETE", G+"/event-types/"+et.UID, nil, 200)

	t.Run("revoked stops within 2 s", func(t *testing.T) {
		as(key.Key, "DELETE", MINE+"/portal_links/"+link.UID, nil, 200)
		start := time.Now()
		eventually(t, 3*time.Second, "the revoked token to be refused", func() bool {
			return apiDo(t, s, "GET", MINE, tok, nil).code == 401
		})
		if d := time.Since(start); d > 2500*time.Millisecond {
			t.Errorf("refused after %v, want within 2 s", d)
		}
	})
	t.Run("expired link", func(t *testing.T) {
		st, err := store.Open(t.Context(), mongoURI, "convoy")
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close(context.Background())
		plain := "convoy_portal_" + ids.New()
		at := time.Now().UTC()
		if err := st.CreatePortalLink(t.Context(), &model.PortalLink{Hash: hashKey(plain), UID: ids.New(), GroupID: g.UID, AppID: mine.UID,
			ExpiresAt: at.Add(-time.Second), CreatedAt: at.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if r := apiDo(t, s, "GET", MINE, plain, nil); r.code != 401 {
			t.Errorf("expired link: %d, want 401", r.code)
		}
	})
	t.Run("audit log", func(t *testing.T) {
		var entries []struct {
			Actor        string `json:"actor"`
			Action       string `json:"action"`
			ResourceType string `json:"resource_type"`
			ResourceID   string `json:"resource_id"`
		}
		r := apiDo(t, s, "GET", G+"/audit_log?per_page=100", adminKey, nil)
		r.data(t, &struct{ Content any }{&entries})
		if r.code != 200 {
			t.Fatalf("audit log: %d %s", r.code, r.env.Message)
		}
		for _, secret := range []string{appSecret, epSecret, rotated, key.Key, tok} {
			if bytes.Contains(r.raw, []byte(secret)) {
				t.Errorf("the audit log shows a secret (%s…)", secret[:8])
			}
		}
		seen := map[string]string{}
		for _, e := range entries {
			seen[e.ResourceType+" "+e.Action] = e.Actor
		}
		for what, actor := range map[string]string{
			"group create": "admin", "group update": key.UID, "application create": "admin", "application update": key.UID,
			"endpoint create": "admin", "endpoint rotate_secret": key.UID, "endpoint update": link.UID, "endpoint delete": link.UID,
			"api_key create": "admin", "portal_link create": "admin", "portal_link delete": key.UID,
			"event_type create": key.UID, "event_type delete": key.UID,
		} {
			if got, ok := seen[what]; !ok || got != actor {
				t.Errorf("%s: actor %q (recorded: %v), want %q", what, got, ok, actor)
			}
		}
		if !bytes.Contains(r.raw, []byte("[REDACTED]")) {
			t.Error("no redacted secret in the log")
		}
	})
}

// hashKey is how ingest stores a key or token (auth.HashKey).
func hashKey(plain string) string {
	sum := sha256.Sum256([]byte(plain))
	return hex.EncodeToString(sum[:])
}
