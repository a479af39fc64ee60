package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// This file drives every route of the HTTP API through the real binaries:
// one pass with the admin key, the auth matrix, and bad input. Each
// top-level test starts one stack; its subtests share it.

// apiResp is one HTTP answer.
type apiResp struct {
	code   int
	header http.Header
	raw    []byte
	env    envelope
}

// data decodes the envelope's data into out.
func (r apiResp) data(t *testing.T, out any) {
	t.Helper()
	if err := json.Unmarshal(r.env.Data, out); err != nil {
		t.Fatalf("decode data: %v: %s", err, r.env.Data)
	}
}

// apiDo sends one request; body is JSON-encoded unless it is a rawBody or
// an io.Reader (sent as is, without a length).
func apiDo(t *testing.T, s *stack, method, path, key string, body any) apiResp {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case rawBody:
		rd = strings.NewReader(string(b))
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.Gateway+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiResp{code: resp.StatusCode, header: resp.Header, raw: raw}
	if err := json.Unmarshal(raw, &r.env); err != nil {
		t.Fatalf("%s %s: status %d, body is not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return r
}

// checkEnvelope checks {"status","message","data"} and nothing else, with
// status matching success and a message on every answer.
func checkEnvelope(t *testing.T, r apiResp, ok bool) {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(r.raw, &fields); err != nil {
		t.Fatalf("body is not a JSON object: %s", r.raw)
	}
	for _, k := range []string{"status", "message", "data"} {
		if _, present := fields[k]; !present {
			t.Fatalf("envelope lacks %q: %s", k, r.raw)
		}
	}
	if len(fields) != 3 {
		t.Fatalf("envelope has extra fields: %s", r.raw)
	}
	if r.env.Status != ok || r.env.Message == "" {
		t.Fatalf("envelope status %v message %q, want status %v and a message", r.env.Status, r.env.Message, ok)
	}
	if !ok && string(r.env.Data) != "null" {
		t.Fatalf("error answer carries data: %s", r.env.Data)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q", ct)
	}
}

var rfc3339UTC = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$`)

// checkResource checks a uid and RFC 3339 UTC timestamps on one resource.
func checkResource(t *testing.T, raw json.RawMessage, timeFields ...string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("resource is not an object: %s", raw)
	}
	if uid, _ := m["uid"].(string); uid == "" {
		t.Fatalf("resource without uid: %s", raw)
	}
	for _, f := range append([]string{"created_at"}, timeFields...) {
		if ts, _ := m[f].(string); !rfc3339UTC.MatchString(ts) {
			t.Fatalf("%s %q is not RFC 3339 UTC: %s", f, m[f], raw)
		}
	}
	return m
}

// checkList checks data = {"content": [...], "pagination": {...}} and
// returns the items.
func checkList(t *testing.T, r apiResp, perPage int) []json.RawMessage {
	t.Helper()
	var d struct {
		Content    []json.RawMessage          `json:"content"`
		Pagination map[string]json.RawMessage `json:"pagination"`
	}
	r.data(t, &d)
	if d.Content == nil {
		t.Fatalf("list without content array: %s", r.env.Data)
	}
	var p struct {
		PerPage        *int    `json:"per_page"`
		HasNextPage    *bool   `json:"has_next_page"`
		NextPageCursor *string `json:"next_page_cursor"`
	}
	pj, _ := json.Marshal(d.Pagination)
	if err := json.Unmarshal(pj, &p); err != nil || p.PerPage == nil || p.HasNextPage == nil || p.NextPageCursor == nil {
		t.Fatalf("pagination %s lacks per_page, has_next_page or next_page_cursor", pj)
	}
	if *p.PerPage != perPage {
		t.Fatalf("per_page %d, want %d", *p.PerPage, perPage)
	}
	if *p.HasNextPage == (*p.NextPageCursor == "") {
		t.Fatalf("has_next_page %v with cursor %q", *p.HasNextPage, *p.NextPageCursor)
	}
	return d.Content
}

// apiWalker makes admin calls on route templates and records which routes
// it exercised.
type apiWalker struct {
	s    *stack
	ids  map[string]string
	mu   sync.Mutex
	seen map[string]bool
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

func (w *apiWalker) do(t *testing.T, want int, method, tmpl string, body any) apiResp {
	t.Helper()
	return w.doAs(t, adminKey, want, method, tmpl, body)
}

// doAs is do with another credential.
func (w *apiWalker) doAs(t *testing.T, key string, want int, method, tmpl string, body any) apiResp {
	t.Helper()
	route, query, _ := strings.Cut(tmpl, "?")
	expand := func(m string) string {
		v := w.ids[m[1:len(m)-1]]
		if v == "" {
			t.Fatalf("%s: no value for %s yet", tmpl, m)
		}
		return url.PathEscape(v)
	}
	path := pathParam.ReplaceAllStringFunc(route, expand)
	if query != "" {
		path += "?" + pathParam.ReplaceAllStringFunc(query, expand)
	}
	// Placeholders naming a second resource of a kind stand for the route's.
	route = strings.NewReplacer("{failed_id}", "{delivery_id}", "{failing_id}", "{endpoint_id}").Replace(route)
	w.mu.Lock()
	w.seen[method+" "+route] = true
	w.mu.Unlock()
	r := apiDo(t, w.s, method, path, key, body)
	if r.code != want {
		t.Fatalf("%s %s: status %d (%s), want %d", method, path, r.code, r.env.Message, want)
	}
	checkEnvelope(t, r, want < 300)
	return r
}

// failingReceiver answers every request with 500.
func failingReceiver(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// waitDelivery polls a delivery until it is in status.
func waitDelivery(t *testing.T, s *stack, groupID, id, status string) {
	t.Helper()
	eventually(t, 15*time.Second, "delivery "+id+" to be "+status, func() bool {
		r := apiDo(t, s, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries/"+id, adminKey, nil)
		var d delivery
		return r.code == 200 && json.Unmarshal(r.env.Data, &d) == nil && d.Status == status
	})
}

// One pass over every route with the admin key, in the order a new user
// would take them; at the end the routes walked must be exactly the
// operations of the OpenAPI document.
func TestAPIRoutes(t *testing.T) {
	s := startStack(t)
	ok := newReceiver(t)
	bad := failingReceiver(t)
	w := &apiWalker{s: s, ids: map[string]string{}, seen: map[string]bool{}}
	g := "/api/v1/groups/{group_id}"
	app := g + "/applications/{app_id}"
	ep := app + "/endpoints/{endpoint_id}"
	dl := g + "/eventdeliveries"

	t.Run("health", func(t *testing.T) {
		r := w.do(t, 200, "GET", "/health", nil)
		var h struct{ Ingest string }
		r.data(t, &h)
		if h.Ingest != "SERVING" {
			t.Fatalf("health data %s", r.env.Data)
		}
	})

	t.Run("groups", func(t *testing.T) {
		r := w.do(t, 201, "POST", "/api/v1/groups", map[string]any{"name": "walk", "config": map[string]any{
			"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 1}, "disable_endpoint": false,
		}})
		m := checkResource(t, r.env.Data, "updated_at")
		w.ids["group_id"] = m["uid"].(string)
		var gv struct {
			Name   string
			Config struct {
				Strategy struct {
					Type       string
					Duration   int
					RetryCount int `json:"retry_count"`
				}
				Signature     struct{ Header, Hash, Format string }
				ReplayAttacks bool `json:"replay_attacks"`
			}
		}
		r.data(t, &gv)
		c := gv.Config
		if gv.Name != "walk" || c.Strategy.RetryCount != 1 || c.Strategy.Duration != 1 || c.Signature.Header != "X-Convoy-Signature" ||
			c.Signature.Hash != "SHA256" || c.Signature.Format != "simple" || !c.ReplayAttacks {
			t.Fatalf("group %s", r.env.Data)
		}
		items := checkList(t, w.do(t, 200, "GET", "/api/v1/groups", nil), 20)
		if len(items) != 1 {
			t.Fatalf("groups %d", len(items))
		}
		checkList(t, w.do(t, 200, "GET", "/api/v1/groups?per_page=5", nil), 5)
		w.do(t, 200, "GET", g, nil)
		r = w.do(t, 200, "PUT", g, map[string]any{"name": "walked", "config": map[string]any{"signature": map[string]any{"hash": "SHA512"}}})
		r.data(t, &gv)
		if gv.Name != "walked" || gv.Config.Signature.Hash != "SHA512" || gv.Config.Strategy.RetryCount != 1 {
			t.Fatalf("updated group %s", r.env.Data)
		}
	})

	t.Run("keys", func(t *testing.T) {
		r := w.do(t, 201, "POST", g+"/keys", map[string]any{"name": "ci"})
		var k struct{ UID, Name, Key string }
		r.data(t, &k)
		checkResource(t, r.env.Data)
		if k.Name != "ci" || k.Key == "" {
			t.Fatalf("key %s", r.env.Data)
		}
		w.ids["key_id"] = k.UID
		// The plain key works, and is never shown again.
		if code := apiDo(t, s, "GET", "/api/v1/groups/"+w.ids["group_id"], k.Key, nil).code; code != 200 {
			t.Fatalf("new key: %d", code)
		}
		items := checkList(t, w.do(t, 200, "GET", g+"/keys", nil), 20)
		if len(items) != 1 || strings.Contains(string(items[0]), k.Key) || strings.Contains(string(items[0]), `"key"`) {
			t.Fatalf("listed keys %s", items)
		}
		w.do(t, 200, "DELETE", g+"/keys/{key_id}", nil)
		w.do(t, 404, "DELETE", g+"/keys/{key_id}", nil)
		eventually(t, 5*time.Second, "the revoked key to be refused", func() bool {
			return apiDo(t, s, "GET", "/api/v1/groups/"+w.ids["group_id"], k.Key, nil).code == 401
		})
	})

	t.Run("applications", func(t *testing.T) {
		r := w.do(t, 201, "POST", g+"/applications", map[string]any{"name": "shop", "support_email": "ops@example.com"})
		w.ids["app_id"] = checkResource(t, r.env.Data, "updated_at")["uid"].(string)
		items := checkList(t, w.do(t, 200, "GET", g+"/applications", nil), 20)
		if len(items) != 1 {
			t.Fatalf("applications %d", len(items))
		}
		w.do(t, 200, "GET", app, nil)
		r = w.do(t, 200, "PUT", app, map[string]any{"name": "store"})
		var a struct{ Name, SupportEmail string }
		r.data(t, &a)
		if a.Name != "store" {
			t.Fatalf("updated application %s", r.env.Data)
		}
	})

	t.Run("endpoints", func(t *testing.T) {
		r := w.do(t, 201, "POST", app+"/endpoints", map[string]any{"url": ok.URL, "events": []string{"invoice.*"}, "description": "ok",
			"custom_headers": map[string]string{"X-Api-Key": "walk-key", "X-Tenant": "from-endpoint"}})
		m := checkResource(t, r.env.Data, "updated_at")
		if hs, _ := m["custom_headers"].(map[string]any); m["status"] != "active" || m["secret"] == "" || m["http_timeout"] == "" || m["rate_limit"] != 5000.0 ||
			len(hs) != 2 || hs["X-Api-Key"] != "walk-key" {
			t.Fatalf("endpoint %s", r.env.Data)
		}
		w.ids["endpoint_id"] = m["uid"].(string)
		r = w.do(t, 201, "POST", app+"/endpoints", map[string]any{"url": bad.URL, "events": []string{"invoice.paid"}, "secret": "failing-secret"})
		w.ids["failing_id"] = checkResource(t, r.env.Data)["uid"].(string)
		items := checkList(t, w.do(t, 200, "GET", app+"/endpoints", nil), 20)
		if len(items) != 2 {
			t.Fatalf("endpoints %d", len(items))
		}
		w.do(t, 200, "GET", ep, nil)
		r = w.do(t, 200, "PUT", ep, map[string]any{"description": "still ok", "rate_limit": 100})
		var e struct {
			Description string
			RateLimit   int `json:"rate_limit"`
			Events      []string
		}
		r.data(t, &e)
		if e.Description != "still ok" || e.RateLimit != 100 || !slices.Equal(e.Events, []string{"invoice.*"}) {
			t.Fatalf("updated endpoint %s", r.env.Data)
		}
		r = w.do(t, 200, "POST", ep+"/expire_secret", map[string]any{"secret": "rotated-secret", "expiration": 3600})
		var rot struct {
			Secret  string
			Secrets []struct {
				Value     string
				ExpiresAt *string `json:"expires_at"`
			}
		}
		r.data(t, &rot)
		if rot.Secret != "rotated-secret" || len(rot.Secrets) != 2 || rot.Secrets[0].ExpiresAt != nil ||
			rot.Secrets[1].ExpiresAt == nil || !rfc3339UTC.MatchString(*rot.Secrets[1].ExpiresAt) {
			t.Fatalf("rotated endpoint %s", r.env.Data)
		}
	})

	t.Run("events", func(t *testing.T) {
		payload := `{"amount": 4200,  "note": "caf\u00e9"}`
		body := rawBody(`{"app_id": "` + w.ids["app_id"] + `", "event_type": "invoice.paid", "data": ` + payload + `, "idempotency_key": "inv-1", "custom_headers": {"X-Tenant": "t1"}}`)
		r := w.do(t, 201, "POST", g+"/events", body)
		m := checkResource(t, r.env.Data)
		w.ids["event_id"] = m["uid"].(string)
		if !strings.Contains(string(r.env.Data), `"data":`+payload) {
			t.Fatalf("event data not byte for byte: %s", r.env.Data)
		}
		// The same idempotency key answers the original event.
		again := w.do(t, 201, "POST", g+"/events", map[string]any{"app_id": w.ids["app_id"], "event_type": "invoice.paid", "data": 1, "idempotency_key": "inv-1"})
		if checkResource(t, again.env.Data)["uid"] != w.ids["event_id"] {
			t.Fatalf("idempotent repeat answered %s", again.env.Data)
		}
		w.do(t, 201, "POST", g+"/events", map[string]any{"app_id": w.ids["app_id"], "event_type": "user.created", "data": []int{1}})

		items := checkList(t, w.do(t, 200, "GET", g+"/events", nil), 20)
		if len(items) != 2 {
			t.Fatalf("events %d", len(items))
		}
		filters := map[string]int{
			"app_id=" + w.ids["app_id"]:                                     2,
			"event_type=invoice.paid":                                       1,
			"event_type=invoice.PAID":                                       0,
			"idempotency_key=inv-1":                                         1,
			"idempotency_key=inv-1&event_type=user.created":                 0,
			"idempotency_key=inv-2":                                         0,
			"start_date=2000-01-01T00:00:00Z&end_date=2999-01-01T00:00:00Z": 2,
			"end_date=2000-01-01T00:00:00Z":                                 0,
			"start_date=" + url.QueryEscape(m["created_at"].(string)):       2,
			"per_page=1": 1,
		}
		for q, n := range filters {
			per := 20
			if q == "per_page=1" {
				per = 1
			}
			if got := checkList(t, w.do(t, 200, "GET", g+"/events?"+q, nil), per); len(got) != n {
				t.Fatalf("events?%s: %d, want %d", q, len(got), n)
			}
		}
		// Follow the cursor: newest first, every event once.
		var walked []string
		q := "per_page=1"
		for range 3 {
			r := w.do(t, 200, "GET", g+"/events?"+q, nil)
			for _, it := range checkList(t, r, 1) {
				walked = append(walked, checkResource(t, it)["uid"].(string))
			}
			var d struct {
				Pagination struct {
					NextPageCursor string `json:"next_page_cursor"`
				}
			}
			r.data(t, &d)
			if d.Pagination.NextPageCursor == "" {
				break
			}
			q = "per_page=1&next_page_cursor=" + url.QueryEscape(d.Pagination.NextPageCursor)
		}
		if len(walked) != 2 || walked[1] != w.ids["event_id"] || walked[0] <= walked[1] {
			t.Fatalf("paged events %v, want the newer event then %s", walked, w.ids["event_id"])
		}
		w.do(t, 200, "GET", g+"/events/{event_id}", nil)
	})

	t.Run("deliveries", func(t *testing.T) {
		storedDeliveries(t, s, w.ids["group_id"], w.ids["event_id"], 2)
		items := checkList(t, w.do(t, 200, "GET", dl+"?event_id={event_id}", nil), 20)
		if len(items) != 2 {
			t.Fatalf("the event reached %d endpoints, want 2", len(items))
		}
		for _, it := range items {
			m := checkResource(t, it, "updated_at")
			md, _ := m["metadata"].(map[string]any)
			for _, f := range []string{"num_trials", "retry_limit", "strategy", "interval_seconds", "next_send_time"} {
				if _, present := md[f]; !present {
					t.Fatalf("delivery metadata lacks %s: %s", f, it)
				}
			}
			if m["endpoint_id"] == w.ids["endpoint_id"] {
				w.ids["delivery_id"] = m["uid"].(string)
			} else {
				w.ids["failed_id"] = m["uid"].(string)
			}
		}
		waitDelivery(t, s, w.ids["group_id"], w.ids["delivery_id"], "Success")
		waitDelivery(t, s, w.ids["group_id"], w.ids["failed_id"], "Failure")
		// The receiver got the endpoint's custom headers, and the event's
		// where both set one.
		if got := ok.requests(); len(got) == 0 || got[0].header.Get("X-Api-Key") != "walk-key" || got[0].header.Get("X-Tenant") != "t1" {
			t.Fatalf("the receiver's first request lacks the endpoint's X-Api-Key or the event's X-Tenant: %v", got)
		}
		for q, n := range map[string]int{
			"":                               2,
			"?app_id={app_id}":               2,
			"?endpoint_id={endpoint_id}":     1,
			"?endpoint_id={failing_id}":      1,
			"?status=Success":                1,
			"?status=Failure&status=Success": 2,
			"?status=Failure,Success&event_id={event_id}": 2,
			"?status=Discarded":                           0,
		} {
			if got := checkList(t, w.do(t, 200, "GET", dl+q, nil), 20); len(got) != n {
				t.Fatalf("eventdeliveries%s: %d, want %d", q, len(got), n)
			}
		}
		r := w.do(t, 200, "GET", dl+"/{delivery_id}", nil)
		checkResource(t, r.env.Data, "updated_at")
		r = w.do(t, 200, "GET", dl+"/{delivery_id}/deliveryattempts", nil)
		var attempts []map[string]any
		r.data(t, &attempts)
		if len(attempts) != 1 || attempts[0]["status"] != true || attempts[0]["http_status"] != 200.0 {
			t.Fatalf("attempts %s", r.env.Data)
		}
		for _, f := range []string{"uid", "url", "method", "ip_address", "request_http_header", "response_http_header",
			"http_status", "response_data", "error", "status", "duration_ms", "created_at"} {
			if _, present := attempts[0][f]; !present {
				t.Fatalf("attempt lacks %s: %s", f, r.env.Data)
			}
		}
		w.ids["attempt_id"] = attempts[0]["uid"].(string)
		var one map[string]any
		w.do(t, 200, "GET", dl+"/{delivery_id}/deliveryattempts/{attempt_id}", nil).data(t, &one)
		if one["uid"] != w.ids["attempt_id"] || one["http_status"] != 200.0 {
			t.Fatalf("one attempt %v, want %v", one, attempts[0])
		}
	})

	t.Run("retries", func(t *testing.T) {
		gid := w.ids["group_id"]
		// Resend is for Failure and Discarded only.
		w.do(t, 409, "PUT", dl+"/{delivery_id}/resend", nil)
		r := w.do(t, 200, "PUT", dl+"/{failed_id}/resend", nil)
		checkResource(t, r.env.Data)
		waitDelivery(t, s, gid, w.ids["failed_id"], "Failure")

		r = w.do(t, 200, "POST", dl+"/batchretry", map[string]any{"ids": []string{w.ids["failed_id"], w.ids["delivery_id"]}})
		var br struct {
			Retried int
			IDs     []string
		}
		r.data(t, &br)
		if br.Retried != 1 || !slices.Equal(br.IDs, []string{w.ids["failed_id"]}) {
			t.Fatalf("batchretry by ids %s", r.env.Data)
		}
		waitDelivery(t, s, gid, w.ids["failed_id"], "Failure")
		var count struct{ Num int }
		w.do(t, 200, "GET", dl+"/countbatchretryevents?endpoint_id={failing_id}", nil).data(t, &count)
		if count.Num != 1 {
			t.Fatalf("countbatchretryevents?endpoint_id: %d, want 1", count.Num)
		}
		var counts struct {
			Counts map[string]int
			Total  int
		}
		w.do(t, 200, "GET", dl+"/counts?endpoint_id={failing_id}", nil).data(t, &counts)
		if len(counts.Counts) != 6 || counts.Counts["Failure"] != 1 || counts.Total != 1 {
			t.Fatalf("counts?endpoint_id: %v total %d, want the one Failure of six statuses", counts.Counts, counts.Total)
		}
		r = w.do(t, 200, "POST", dl+"/batchretry?endpoint_id={failing_id}", nil)
		r.data(t, &br)
		if br.Retried != 1 {
			t.Fatalf("batchretry by filter %s", r.env.Data)
		}
		waitDelivery(t, s, gid, w.ids["failed_id"], "Failure")

		r = w.do(t, 200, "POST", dl+"/forceresend", map[string]any{"ids": []string{w.ids["delivery_id"], w.ids["failed_id"]}})
		var fr struct {
			Resent int
			IDs    []string
		}
		r.data(t, &fr)
		if fr.Resent != 1 || !slices.Equal(fr.IDs, []string{w.ids["delivery_id"]}) {
			t.Fatalf("forceresend %s", r.env.Data)
		}
		eventually(t, 15*time.Second, "the forced resend to arrive", func() bool { return len(ok.requests()) == 2 })
		waitDelivery(t, s, gid, w.ids["delivery_id"], "Success")
		var attempts []attempt
		w.do(t, 200, "GET", dl+"/{failed_id}/deliveryattempts", nil).data(t, &attempts)
		if len(attempts) != 4 || attempts[0].HTTPStatus != 500 {
			t.Fatalf("failing delivery has %d attempts, want 4 (first, resend, two batch retries)", len(attempts))
		}
	})

	t.Run("meta events", func(t *testing.T) {
		gid := w.ids["group_id"]
		metaRecv := newReceiver(t)
		r := w.do(t, 200, "PUT", g, map[string]any{"config": map[string]any{"meta_event": map[string]any{"is_enabled": true, "url": metaRecv.URL}}})
		var gv struct {
			Config struct {
				MetaEvent struct {
					IsEnabled  bool     `json:"is_enabled"`
					URL        string   `json:"url"`
					Secret     string   `json:"secret"`
					EventTypes []string `json:"event_types"`
				} `json:"meta_event"`
			}
		}
		r.data(t, &gv)
		if m := gv.Config.MetaEvent; !m.IsEnabled || m.URL != metaRecv.URL || m.Secret == "" || m.EventTypes == nil || len(m.EventTypes) != 0 {
			t.Fatalf("group meta_event %s", r.env.Data)
		}
		w.do(t, 200, "PUT", app+"/endpoints/{failing_id}", map[string]any{"status": "inactive"})
		w.ids["meta_event_id"] = waitMetaEvent(t, s, gid, "endpoint.disabled", "", "Success").UID
		items := checkList(t, w.do(t, 200, "GET", g+"/meta-events", nil), 20)
		m := checkResource(t, items[0], "updated_at")
		if m["event_type"] == "" || m["attempts"] != nil {
			t.Fatalf("listed meta event %s", items[0])
		}
		checkList(t, w.do(t, 200, "GET", g+"/meta-events?per_page=1", nil), 1)
		r = w.do(t, 200, "GET", g+"/meta-events/{meta_event_id}", nil)
		var one metaEvent
		r.data(t, &one)
		if len(one.Attempts) != 1 || !one.Attempts[0].Status || strings.Contains(string(r.env.Data), `"delivery_id"`) {
			t.Fatalf("meta event %s", r.env.Data)
		}
		w.do(t, 200, "PUT", g+"/meta-events/{meta_event_id}/resend", nil)
		eventually(t, 15*time.Second, "the resent meta event to arrive", func() bool { return len(metaRecv.requests()) == 2 })
	})

	t.Run("endpoint public key", func(t *testing.T) {
		r := w.do(t, 200, "GET", ep+"/public_key", nil)
		var k struct {
			EndpointID string `json:"endpoint_id"`
			PublicKey  string `json:"public_key"`
		}
		r.data(t, &k)
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(k.PublicKey, "whpk_"))
		if k.EndpointID != w.ids["endpoint_id"] || !strings.HasPrefix(k.PublicKey, "whpk_") || err != nil || len(raw) != 32 {
			t.Fatalf("public key %s", r.env.Data)
		}
	})

	t.Run("endpoint stats and dead letters", func(t *testing.T) {
		r := w.do(t, 200, "GET", ep+"/stats?window=1h", nil)
		var st struct {
			EndpointID string `json:"endpoint_id"`
			Window     string
			Buckets    []map[string]any
			Circuit    struct{ State string }
		}
		r.data(t, &st)
		if st.EndpointID != w.ids["endpoint_id"] || st.Window != "1h0m0s" || len(st.Buckets) != 12 || st.Circuit.State != "closed" {
			t.Fatalf("endpoint stats %s", r.env.Data)
		}
		r = w.do(t, 200, "GET", "/api/v1/admin/deadletters", nil)
		if items := checkList(t, r, 20); len(items) != 0 {
			t.Fatalf("dead letters on a healthy stack: %s", r.env.Data)
		}
		r = w.do(t, 200, "POST", "/api/v1/admin/deadletters/redrive", map[string]any{})
		if string(r.env.Data) != `{"redriven":0,"failed":0}` {
			t.Fatalf("redrive of nothing %s", r.env.Data)
		}
		var enc encryptionStatus
		w.do(t, 200, "GET", "/api/v1/admin/encryption", nil).data(t, &enc)
		if enc.ActiveKeyID != "e2e1" || len(enc.Keys) != 1 || enc.Status != "idle" {
			t.Fatalf("encryption status %+v", enc)
		}
		w.do(t, 202, "POST", "/api/v1/admin/encryption/rotate", nil).data(t, &enc)
		if enc.Status != "pending" || enc.RotationKeyID != "e2e1" {
			t.Fatalf("rotation asked for: %+v", enc)
		}
		eventually(t, 30*time.Second, "the key rotation to finish", func() bool {
			apiDo(t, w.s, "GET", "/api/v1/admin/encryption", adminKey, nil).data(t, &enc)
			return enc.Status == "done"
		})
		if enc.Done != enc.Total || enc.Done == 0 || enc.StartedAt == nil || enc.FinishedAt == nil {
			t.Fatalf("finished rotation %+v", enc)
		}
	})

	t.Run("routing", func(t *testing.T) {
		r := w.do(t, 201, "POST", g+"/event-types", map[string]any{"name": "walk.done", "description": "d",
			"schema": map[string]any{"type": "object"}, "example": map[string]any{}})
		w.ids["event_type_id"] = checkResource(t, r.env.Data, "updated_at")["uid"].(string)
		checkList(t, w.do(t, 200, "GET", g+"/event-types", nil), 20)
		w.do(t, 200, "GET", g+"/event-types/{event_type_id}", nil)
		w.do(t, 200, "PUT", g+"/event-types/{event_type_id}", map[string]any{"description": "changed"})
		w.do(t, 200, "DELETE", g+"/event-types/{event_type_id}", nil)
		r = w.do(t, 200, "POST", g+"/filters/test", map[string]any{"filter": map[string]any{"body": map[string]any{"n": map[string]any{"$gt": 1}}},
			"payload": map[string]any{"n": 2}})
		if string(r.env.Data) != `{"matches":true}` {
			t.Fatalf("filter test %s", r.env.Data)
		}
		w.do(t, 200, "POST", g+"/events/precheck", map[string]any{"app_id": w.ids["app_id"], "event_type": "none.x", "data": map[string]any{}})
		checkResource(t, w.do(t, 201, "POST", g+"/events/broadcast", map[string]any{"event_type": "none.x", "data": map[string]any{}}).env.Data)
		checkResource(t, w.do(t, 201, "POST", g+"/events/fanout", map[string]any{"owner_id": "nobody", "event_type": "none.x", "data": map[string]any{}}).env.Data)
	})

	t.Run("test event", func(t *testing.T) {
		var sent struct {
			EventID    string `json:"event_id"`
			DeliveryID string `json:"delivery_id"`
		}
		w.do(t, 201, "POST", ep+"/test", nil).data(t, &sent)
		waitDelivery(t, s, w.ids["group_id"], sent.DeliveryID, "Success")
		var ev struct {
			EventType  string `json:"event_type"`
			Test       bool
			EndpointID string `json:"endpoint_id"`
			Data       map[string]any
		}
		r := apiDo(t, s, "GET", "/api/v1/groups/"+w.ids["group_id"]+"/events/"+sent.EventID, adminKey, nil)
		r.data(t, &ev)
		if ev.EventType != "convoy.test" || !ev.Test || ev.EndpointID != w.ids["endpoint_id"] || ev.Data["message"] == nil {
			t.Fatalf("test event %s", r.env.Data)
		}
		// Against a failing receiver the one attempt fails and is not retried.
		failing := apiDo(t, s, "POST", "/api/v1/groups/"+w.ids["group_id"]+"/applications/"+w.ids["app_id"]+"/endpoints", adminKey,
			map[string]any{"url": bad.URL, "events": []string{"never.sent"}})
		var fe resource
		failing.data(t, &fe)
		r = apiDo(t, s, "POST", "/api/v1/groups/"+w.ids["group_id"]+"/applications/"+w.ids["app_id"]+"/endpoints/"+fe.UID+"/test", adminKey,
			map[string]any{"event_type": "invoice.paid", "data": map[string]any{"id": 42}})
		r.data(t, &sent)
		waitDelivery(t, s, w.ids["group_id"], sent.DeliveryID, "Failure")
		var d delivery
		apiDo(t, s, "GET", "/api/v1/groups/"+w.ids["group_id"]+"/eventdeliveries/"+sent.DeliveryID, adminKey, nil).data(t, &d)
		if d.Metadata.NumTrials != 1 || d.Metadata.RetryLimit != 1 {
			t.Fatalf("failed test delivery %+v, want one trial and no retry", d)
		}
	})

	t.Run("portal links and the audit log", func(t *testing.T) {
		r := w.do(t, 201, "POST", app+"/portal_links", map[string]any{"expires_in": "2h", "frame_ancestors": []string{"https://app.example.com"}})
		var l struct {
			UID, URL, Token    string
			CanManageEndpoints bool     `json:"can_manage_endpoints"`
			FrameAncestors     []string `json:"frame_ancestors"`
		}
		r.data(t, &l)
		m := checkResource(t, r.env.Data, "expires_at")
		if l.Token == "" || l.URL != s.Gateway+"/ui/portal?token="+url.QueryEscape(l.Token) || l.CanManageEndpoints ||
			!slices.Equal(l.FrameAncestors, []string{"https://app.example.com"}) || m["app_id"] != w.ids["app_id"] {
			t.Fatalf("portal link %s", r.env.Data)
		}
		w.ids["portal_link_id"] = l.UID
		items := checkList(t, w.do(t, 200, "GET", app+"/portal_links", nil), 20)
		if len(items) != 1 || strings.Contains(string(items[0]), l.Token) {
			t.Fatalf("listed links %s", items)
		}
		r = w.doAs(t, l.Token, 200, "GET", "/api/v1/portal/session", nil)
		var sess struct {
			UID   string `json:"uid"`
			AppID string `json:"app_id"`
		}
		r.data(t, &sess)
		if sess.UID != l.UID || sess.AppID != w.ids["app_id"] {
			t.Fatalf("session %s", r.env.Data)
		}
		w.do(t, 401, "GET", "/api/v1/portal/session", nil)
		// The portal page may be framed by the link's sites alone.
		page, err := http.Get(l.URL)
		if err != nil {
			t.Fatal(err)
		}
		page.Body.Close()
		if csp := page.Header.Get("Content-Security-Policy"); page.StatusCode != 200 || !strings.Contains(csp, "frame-ancestors https://app.example.com;") && !strings.HasSuffix(csp, "frame-ancestors https://app.example.com") {
			t.Fatalf("portal page: %d, CSP %q", page.StatusCode, csp)
		}
		w.do(t, 200, "DELETE", app+"/portal_links/{portal_link_id}", nil)
		w.do(t, 404, "DELETE", app+"/portal_links/{portal_link_id}", nil)

		entries := checkList(t, w.do(t, 200, "GET", g+"/audit_log?per_page=100", nil), 100)
		var newest struct {
			Actor        string          `json:"actor"`
			Action       string          `json:"action"`
			ResourceType string          `json:"resource_type"`
			ResourceID   string          `json:"resource_id"`
			Before       json.RawMessage `json:"before"`
			After        json.RawMessage `json:"after"`
		}
		if len(entries) == 0 || json.Unmarshal(entries[0], &newest) != nil {
			t.Fatalf("audit log %s", entries)
		}
		if newest.Actor != "admin" || newest.Action != "delete" || newest.ResourceType != "portal_link" || newest.ResourceID != l.UID ||
			string(newest.After) != "null" || len(newest.Before) < 3 {
			t.Fatalf("newest audit entry %s", entries[0])
		}
		checkList(t, w.do(t, 200, "GET", "/api/v1/admin/audit_log?per_page=5", nil), 5)
	})

	t.Run("deletes", func(t *testing.T) {
		w.do(t, 200, "DELETE", ep, nil)
		w.do(t, 404, "GET", ep, nil)
		w.do(t, 200, "DELETE", app, nil)
		w.do(t, 404, "GET", app, nil)
		w.do(t, 200, "DELETE", g, nil)
		w.do(t, 404, "GET", g, nil)
	})

	t.Run("openapi lists exactly the routes", func(t *testing.T) {
		resp, err := http.Get(s.Gateway + "/api/v1/openapi.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("openapi.json: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var doc struct {
			OpenAPI string                                `json:"openapi"`
			Paths   map[string]map[string]json.RawMessage `json:"paths"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil || !strings.HasPrefix(doc.OpenAPI, "3.") {
			t.Fatalf("not an OpenAPI 3 document (%v): %.200s", err, raw)
		}
		w.seen["GET /api/v1/openapi.json"] = true
		var documented []string
		for p, ops := range doc.Paths {
			for m, raw := range ops {
				var op struct{ Tags []string }
				_ = json.Unmarshal(raw, &op)
				if slices.Contains(op.Tags, "convoy-v0.5") {
					continue // walked by TestConvoyCompat's contract case
				}
				switch m {
				case "get", "put", "post", "delete", "patch", "head", "options":
					documented = append(documented, strings.ToUpper(m)+" "+p)
				}
			}
		}
		var walked []string
		for k := range w.seen {
			walked = append(walked, k)
		}
		slices.Sort(documented)
		slices.Sort(walked)
		if !slices.Equal(documented, walked) {
			t.Fatalf("OpenAPI operations and walked routes differ:\ndocumented %v\nwalked     %v", documented, walked)
		}
	})
}

// While ingest-service is down, /health answers 503 and API calls 503 (not
// 500); once it is back, both recover.
func TestAPIHealthFollowsIngest(t *testing.T) {
	s := startStack(t)
	s.stop("ingest-service", syscall.SIGTERM)
	r := apiDo(t, s, "GET", "/health", "", nil)
	if r.code != 503 {
		t.Fatalf("/health with ingest down: %d, want 503", r.code)
	}
	checkEnvelope(t, r, false)
	r = apiDo(t, s, "GET", "/api/v1/groups", adminKey, nil)
	if r.code != 503 {
		t.Fatalf("API call with ingest down: %d (%s), want 503", r.code, r.env.Message)
	}
	checkEnvelope(t, r, false)
	s.start("ingest-service")
	eventually(t, 30*time.Second, "/health to answer 200 again", func() bool {
		return apiDo(t, s, "GET", "/health", "", nil).code == 200
	})
	if r := apiDo(t, s, "GET", "/api/v1/groups", adminKey, nil); r.code != 200 {
		t.Fatalf("API call after ingest came back: %d", r.code)
	}
}

// apiRow is one route of the auth matrix. build prepares what the call
// needs and returns its path and the group it acts in.
// portalSessionRow is the one route only a portal token may call.
const portalSessionRow = "get portal session"

// portalReads are the rows of TestAPIAuth a portal token of the matrix's
// application may call (each names that application's data), by name
// without the "convoy: " prefix; portalEndpointWrites those it may call
// when it manages endpoints.
var (
	portalReads = map[string]bool{
		"get application": true, "list endpoints": true, "get endpoint": true, "endpoint stats": true, "endpoint public key": true,
		"list events": true, "get event": true, "list deliveries": true, "get delivery": true, "list attempts": true,
		"get attempt": true, "resend": true, "batchretry": true, "batchretry by filter": true, "forceresend": true,
		"count for batchretry": true, "count by status": true, "batchretry as Convoy's SDK sends it": true, portalSessionRow: true,
	}
	portalEndpointWrites = map[string]bool{
		"create endpoint": true, "update endpoint": true, "delete endpoint": true, "expire secret": true, "send test event": true,
	}
)

type apiRow struct {
	method, name string
	adminOnly    bool
	okCode       int
	body         any
	build        func(t *testing.T) (path, group string)
}

// The auth matrix over HTTP: no key or a wrong key 401; the admin key and
// the group's own key succeed; another group's key 404; a group key on
// admin-only routes 403. Failures never carry data.
func TestAPIAuth(t *testing.T) {
	s := startStack(t)
	okRecv := newReceiver(t)
	badRecv := failingReceiver(t)
	metaRecv := newReceiver(t)

	var mu sync.Mutex
	keys := map[string]string{}
	keyOf := func(t *testing.T, group string) string {
		mu.Lock()
		defer mu.Unlock()
		if k, ok := keys[group]; ok {
			return k
		}
		var k struct{ Key string }
		r := apiDo(t, s, "POST", "/api/v1/groups/"+group+"/keys", adminKey, map[string]any{"name": "matrix"})
		if r.code != 201 {
			t.Fatalf("create key: %d %s", r.code, r.env.Message)
		}
		r.data(t, &k)
		keys[group] = k.Key
		return k.Key
	}
	create := func(t *testing.T, path string, body any) string {
		t.Helper()
		r := apiDo(t, s, "POST", path, adminKey, body)
		if r.code != 201 {
			t.Fatalf("POST %s: %d %s", path, r.code, r.env.Message)
		}
		var res resource
		r.data(t, &res)
		return res.UID
	}
	// Deliveries fail at the first attempt, and a failing endpoint stays active.
	// Only endpoint.disabled is wanted: the failed delivery would send
	// eventdelivery.failed too.
	cfg := map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 1}, "disable_endpoint": false,
		// Only the endpoint disabled below: the failing delivery's
		// eventdelivery.failed would make the count racy.
		"meta_event": map[string]any{"is_enabled": true, "url": metaRecv.URL, "event_types": []string{"endpoint.disabled"}},
		// Every caller that may resend fails the delivery again: the circuit
		// must not open and hold the next resend.
		"circuit_breaker": map[string]any{"min_requests": 1000}}
	ga := create(t, "/api/v1/groups", map[string]any{"name": "A", "config": cfg})
	gb := create(t, "/api/v1/groups", map[string]any{"name": "B"})
	G := "/api/v1/groups/" + ga
	app := create(t, G+"/applications", map[string]any{"name": "shop"})
	APP := G + "/applications/" + app
	okEp := create(t, APP+"/endpoints", map[string]any{"url": okRecv.URL, "events": []string{"ok.*"}})
	create(t, APP+"/endpoints", map[string]any{"url": badRecv.URL, "events": []string{"fail.*"}})
	okEvent := create(t, G+"/events", map[string]any{"app_id": app, "event_type": "ok.x", "data": map[string]any{}})
	failEvent := create(t, G+"/events", map[string]any{"app_id": app, "event_type": "fail.x", "data": map[string]any{}})
	okDelivery := storedDeliveries(t, s, ga, okEvent, 1)[0].UID
	failDelivery := storedDeliveries(t, s, ga, failEvent, 1)[0].UID
	// Disabling an endpoint gives A a meta event.
	doomedEp := create(t, APP+"/endpoints", map[string]any{"url": okRecv.URL, "events": []string{"never"}})
	if r := apiDo(t, s, "PUT", APP+"/endpoints/"+doomedEp, adminKey, map[string]any{"status": "inactive"}); r.code != 200 {
		t.Fatalf("disable endpoint: %d %s", r.code, r.env.Message)
	}
	// (A's failing deliveries bring it eventdelivery.failed events too.)
	metaID := waitMetaEvent(t, s, ga, "endpoint.disabled", "", "Success").UID
	var okAttempts []struct {
		UID string `json:"uid"`
	}
	eventually(t, 15*time.Second, "the delivery's attempt to be recorded", func() bool {
		r := apiDo(t, s, "GET", G+"/eventdeliveries/"+okDelivery+"/deliveryattempts", adminKey, nil)
		return r.code == 200 && json.Unmarshal(r.env.Data, &okAttempts) == nil && len(okAttempts) > 0
	})
	okAttempt := okAttempts[0].UID
	keyUID := func(t *testing.T) string {
		var k resource
		r := apiDo(t, s, "POST", G+"/keys", adminKey, map[string]any{"name": "read"})
		r.data(t, &k)
		return k.UID
	}
	// B has data of its own that A's key must not see either.
	bApp := create(t, "/api/v1/groups/"+gb+"/applications", map[string]any{"name": "theirs"})

	var typeSeq atomic.Int64
	newEventType := func(t *testing.T) string {
		return create(t, G+"/event-types", map[string]any{"name": fmt.Sprintf("auth.%d", typeSeq.Add(1))})
	}
	at := func(p string) func(*testing.T) (string, string) {
		return func(*testing.T) (string, string) { return p, ga }
	}
	rows := []apiRow{
		{"POST", "create group", true, 201, map[string]any{"name": "new"}, at("/api/v1/groups")},
		{"GET", "list groups", false, 200, nil, at("/api/v1/groups")},
		{"GET", "get group", false, 200, nil, at(G)},
		{"PUT", "update group", false, 200, map[string]any{"name": "A"}, at(G)},
		{"DELETE", "delete group", false, 200, nil, func(t *testing.T) (string, string) {
			g := create(t, "/api/v1/groups", map[string]any{"name": "doomed"})
			return "/api/v1/groups/" + g, g
		}},
		{"POST", "create key", true, 201, map[string]any{"name": "k"}, at(G + "/keys")},
		{"GET", "list keys", true, 200, nil, at(G + "/keys")},
		{"DELETE", "revoke key", true, 200, nil, func(t *testing.T) (string, string) {
			var k resource
			r := apiDo(t, s, "POST", G+"/keys", adminKey, map[string]any{"name": "doomed"})
			r.data(t, &k)
			return G + "/keys/" + k.UID, ga
		}},
		{"POST", "create application", false, 201, map[string]any{"name": "new"}, at(G + "/applications")},
		{"GET", "list applications", false, 200, nil, at(G + "/applications")},
		{"GET", "get application", false, 200, nil, at(APP)},
		{"PUT", "update application", false, 200, map[string]any{"name": "shop"}, at(APP)},
		{"DELETE", "delete application", false, 200, nil, func(t *testing.T) (string, string) {
			return G + "/applications/" + create(t, G+"/applications", map[string]any{"name": "doomed"}), ga
		}},
		{"POST", "create endpoint", false, 201, map[string]any{"url": okRecv.URL, "events": []string{"never"}}, at(APP + "/endpoints")},
		{"GET", "list endpoints", false, 200, nil, at(APP + "/endpoints")},
		{"GET", "get endpoint", false, 200, nil, at(APP + "/endpoints/" + okEp)},
		{"PUT", "update endpoint", false, 200, map[string]any{"description": "d"}, at(APP + "/endpoints/" + okEp)},
		{"DELETE", "delete endpoint", false, 200, nil, func(t *testing.T) (string, string) {
			return APP + "/endpoints/" + create(t, APP+"/endpoints", map[string]any{"url": okRecv.URL, "events": []string{"never"}}), ga
		}},
		{"POST", "expire secret", false, 200, map[string]any{"expiration": 60}, at(APP + "/endpoints/" + okEp + "/expire_secret")},
		{"GET", "endpoint stats", false, 200, nil, at(APP + "/endpoints/" + okEp + "/stats?window=1h")},
		{"POST", "send test event", false, 201, nil, at(APP + "/endpoints/" + okEp + "/test")},
		{"GET", "endpoint public key", false, 200, nil, at(APP + "/endpoints/" + okEp + "/public_key")},
		{"POST", "create event", false, 201, map[string]any{"app_id": app, "event_type": "none.x", "data": map[string]any{}}, at(G + "/events")},
		{"GET", "list events", false, 200, nil, at(G + "/events?app_id=" + app)},
		{"GET", "get event", false, 200, nil, at(G + "/events/" + okEvent)},
		{"POST", "broadcast event", false, 201, map[string]any{"event_type": "none.x", "data": map[string]any{}}, at(G + "/events/broadcast")},
		{"POST", "fanout event", false, 201, map[string]any{"owner_id": "nobody", "event_type": "none.x", "data": map[string]any{}}, at(G + "/events/fanout")},
		{"POST", "precheck event", false, 200, map[string]any{"event_type": "ok.x", "data": map[string]any{}}, at(G + "/events/precheck")},
		{"POST", "test filter", false, 200, map[string]any{"filter": map[string]any{"body": map[string]any{"a": 1}}, "payload": map[string]any{"a": 1}}, at(G + "/filters/test")},
		{"POST", "create event type", false, 201, freshEventType{&typeSeq}, at(G + "/event-types")},
		{"GET", "list event types", false, 200, nil, at(G + "/event-types")},
		{"GET", "get event type", false, 200, nil, func(t *testing.T) (string, string) { return G + "/event-types/" + newEventType(t), ga }},
		{"PUT", "update event type", false, 200, map[string]any{"description": "d"}, func(t *testing.T) (string, string) {
			return G + "/event-types/" + newEventType(t), ga
		}},
		{"DELETE", "delete event type", false, 200, nil, func(t *testing.T) (string, string) { return G + "/event-types/" + newEventType(t), ga }},
		{"GET", "list deliveries", false, 200, nil, at(G + "/eventdeliveries?status=Success")},
		{"GET", "get delivery", false, 200, nil, at(G + "/eventdeliveries/" + okDelivery)},
		{"GET", "list attempts", false, 200, nil, at(G + "/eventdeliveries/" + okDelivery + "/deliveryattempts")},
		{"PUT", "resend", false, 200, nil, func(t *testing.T) (string, string) {
			waitDelivery(t, s, ga, failDelivery, "Failure")
			return G + "/eventdeliveries/" + failDelivery + "/resend", ga
		}},
		{"POST", "batchretry", false, 200, map[string]any{"ids": []string{failDelivery}}, at(G + "/eventdeliveries/batchretry")},
		{"POST", "batchretry by filter", false, 200, nil, at(G + "/eventdeliveries/batchretry?status=Failure")},
		{"POST", "forceresend", false, 200, map[string]any{"ids": []string{okDelivery}}, func(t *testing.T) (string, string) {
			waitDelivery(t, s, ga, okDelivery, "Success")
			return G + "/eventdeliveries/forceresend", ga
		}},
		{"GET", "count for batchretry", false, 200, nil, at(G + "/eventdeliveries/countbatchretryevents?app_id=" + app)},
		{"GET", "count by status", false, 200, nil, at(G + "/eventdeliveries/counts?app_id=" + app)},
		{"GET", "get attempt", false, 200, nil, at(G + "/eventdeliveries/" + okDelivery + "/deliveryattempts/" + okAttempt)},
		{"GET", "list meta events", false, 200, nil, at(G + "/meta-events")},
		{"GET", "get meta event", false, 200, nil, at(G + "/meta-events/" + metaID)},
		{"PUT", "resend meta event", false, 200, nil, func(t *testing.T) (string, string) {
			waitMetaEvent(t, s, ga, "endpoint.disabled", metaID, "Success")
			return G + "/meta-events/" + metaID + "/resend", ga
		}},
		{"POST", "create portal link", false, 201, map[string]any{"expires_in": "1h"}, at(APP + "/portal_links")},
		{"GET", "list portal links", false, 200, nil, at(APP + "/portal_links")},
		{"DELETE", "revoke portal link", false, 200, nil, func(t *testing.T) (string, string) {
			return APP + "/portal_links/" + create(t, APP+"/portal_links", map[string]any{}), ga
		}},
		{"GET", portalSessionRow, false, 200, nil, at("/api/v1/portal/session")},
		{"GET", "list audit log", false, 200, nil, at(G + "/audit_log")},
		{"GET", "list every group's audit log", true, 200, nil, at("/api/v1/admin/audit_log")},
		{"GET", "list dead letters", true, 200, nil, at("/api/v1/admin/deadletters")},
		{"POST", "redrive dead letters", true, 200, map[string]any{}, at("/api/v1/admin/deadletters/redrive")},
		{"GET", "encryption status", true, 200, nil, at("/api/v1/admin/encryption")},
		{"POST", "rotate encryption key", true, 202, nil, at("/api/v1/admin/encryption/rotate")},
	}
	// Convoy v0.5's routes, naming the group with groupId (the key's own
	// group when omitted is TestConvoyCompat's).
	q := "?groupId=" + ga
	CA := "/api/v1/applications/" + app
	CD := "/api/v1/eventdeliveries"
	rows = append(rows, []apiRow{
		{"GET", "convoy: list applications", false, 200, nil, at("/api/v1/applications" + q)},
		{"POST", "convoy: create application", false, 200, map[string]any{"name": "new"}, at("/api/v1/applications" + q)},
		{"GET", "convoy: get application", false, 200, nil, at(CA + q)},
		{"PUT", "convoy: update application", false, 200, map[string]any{"name": "shop"}, at(CA + q)},
		{"DELETE", "convoy: delete application", false, 200, nil, func(t *testing.T) (string, string) {
			return "/api/v1/applications/" + create(t, G+"/applications", map[string]any{"name": "doomed"}) + q, ga
		}},
		{"GET", "convoy: list endpoints", false, 200, nil, at(CA + "/endpoints" + q)},
		{"POST", "convoy: create endpoint", false, 200, map[string]any{"url": okRecv.URL, "events": []string{"never"}}, at(CA + "/endpoints" + q)},
		{"GET", "convoy: get endpoint", false, 200, nil, at(CA + "/endpoints/" + okEp + q)},
		{"PUT", "convoy: update endpoint", false, 200, map[string]any{"description": "d"}, at(CA + "/endpoints/" + okEp + q)},
		{"DELETE", "convoy: delete endpoint", false, 200, nil, func(t *testing.T) (string, string) {
			return CA + "/endpoints/" + create(t, APP+"/endpoints", map[string]any{"url": okRecv.URL, "events": []string{"never"}}) + q, ga
		}},
		{"GET", "convoy: list events", false, 200, nil, at("/api/v1/events" + q + "&appId=" + app)},
		{"POST", "convoy: create event", false, 200, map[string]any{"app_id": app, "event_type": "none.x", "data": map[string]any{}}, at("/api/v1/events" + q)},
		{"GET", "convoy: get event", false, 200, nil, at("/api/v1/events/" + okEvent + q)},
		{"GET", "convoy: list deliveries", false, 200, nil, at(CD + q + "&status=Success")},
		{"GET", "convoy: get delivery", false, 200, nil, at(CD + "/" + okDelivery + q)},
		{"GET", "convoy: list attempts", false, 200, nil, at(CD + "/" + okDelivery + "/deliveryattempts" + q)},
		{"GET", "convoy: get attempt", false, 200, nil, at(CD + "/" + okDelivery + "/deliveryattempts/" + okAttempt + q)},
		{"PUT", "convoy: resend", false, 200, nil, func(t *testing.T) (string, string) {
			waitDelivery(t, s, ga, failDelivery, "Failure")
			return CD + "/" + failDelivery + "/resend" + q, ga
		}},
		{"POST", "convoy: batchretry", false, 200, map[string]any{"ids": []string{failDelivery}}, at(CD + "/batchretry" + q)},
		{"POST", "convoy: batchretry by filter", false, 200, nil, at(CD + "/batchretry" + q + "&appId=" + app)},
		{"PUT", "convoy: batchretry as Convoy's SDK sends it", false, 200, map[string]any{"ids": []string{failDelivery}}, at(CD + "/batchretry" + q)},
		{"GET", "convoy: count for batchretry", false, 200, nil, at(CD + "/countbatchretryevents" + q + "&appId=" + app)},
		{"POST", "convoy: forceresend", false, 200, map[string]any{"ids": []string{okDelivery}}, func(t *testing.T) (string, string) {
			waitDelivery(t, s, ga, okDelivery, "Success")
			return CD + "/forceresend" + q, ga
		}},
		{"POST", "convoy: create key", true, 200, map[string]any{"name": "k", "role": map[string]any{"type": "admin", "groups": []string{ga}}}, at("/api/v1/security/keys")},
		{"GET", "convoy: list keys", true, 200, nil, at("/api/v1/security/keys")},
		{"GET", "convoy: get key", true, 200, nil, func(t *testing.T) (string, string) { return "/api/v1/security/keys/" + keyUID(t), ga }},
		{"PUT", "convoy: update key", true, 200, map[string]any{"role": map[string]any{"groups": []string{ga}}}, func(t *testing.T) (string, string) {
			return "/api/v1/security/keys/" + keyUID(t), ga
		}},
		{"PUT", "convoy: revoke key", true, 200, nil, func(t *testing.T) (string, string) {
			var k resource
			r := apiDo(t, s, "POST", G+"/keys", adminKey, map[string]any{"name": "doomed"})
			r.data(t, &k)
			return "/api/v1/security/keys/" + k.UID + "/revoke", ga
		}},
	}...)
	type caller struct {
		name string
		key  func(t *testing.T, group string) string
		want func(r apiRow) int
	}
	// Keys and tokens of every other kind, all of group A (and of app for
	// the portal links).
	newKey := func(t *testing.T, body map[string]any) string {
		var k struct{ Key string }
		r := apiDo(t, s, "POST", G+"/keys", adminKey, body)
		if r.code != 201 {
			t.Fatalf("create key %v: %d %s", body, r.code, r.env.Message)
		}
		r.data(t, &k)
		return k.Key
	}
	readOnly := newKey(t, map[string]any{"name": "reader", "role": "read_only"})
	expired := newKey(t, map[string]any{"name": "brief", "expires_at": time.Now().Add(time.Second).UTC().Format(time.RFC3339Nano)})
	eventually(t, 10*time.Second, "the brief key to expire", func() bool {
		return apiDo(t, s, "GET", G, expired, nil).code == 401
	})
	portalToken := func(manage bool) string {
		var l struct{ Token string }
		r := apiDo(t, s, "POST", APP+"/portal_links", adminKey, map[string]any{"can_manage_endpoints": manage})
		if r.code != 201 {
			t.Fatalf("create portal link: %d %s", r.code, r.env.Message)
		}
		r.data(t, &l)
		return l.Token
	}
	portalManage, portalView := portalToken(true), portalToken(false)
	fixed := func(k string) func(*testing.T, string) string { return func(*testing.T, string) string { return k } }
	notPortal := func(want func(apiRow) int) func(apiRow) int {
		return func(r apiRow) int {
			if r.name == portalSessionRow {
				return 401
			}
			return want(r)
		}
	}
	portalWant := func(manage bool) func(apiRow) int {
		return func(r apiRow) int {
			switch {
			case r.name == "convoy: resend" && !manage:
				return 403 // Convoy's resend reactivates the endpoint: managing it
			case portalReads[strings.TrimPrefix(r.name, "convoy: ")]:
				return r.okCode
			case portalEndpointWrites[strings.TrimPrefix(r.name, "convoy: ")] && manage:
				return r.okCode
			}
			return 403
		}
	}
	callers := []caller{
		{"no key", func(*testing.T, string) string { return "" }, func(apiRow) int { return 401 }},
		{"wrong key", func(*testing.T, string) string { return "convoy_wrong" }, func(apiRow) int { return 401 }},
		{"wrong portal token", func(*testing.T, string) string { return "convoy_portal_wrong" }, func(apiRow) int { return 401 }},
		{"expired key", fixed(expired), func(apiRow) int { return 401 }},
		{"admin key", func(*testing.T, string) string { return adminKey }, notPortal(func(r apiRow) int { return r.okCode })},
		{"own group key", keyOf, notPortal(func(r apiRow) int {
			if r.adminOnly {
				return 403
			}
			return r.okCode
		})},
		{"own group read-only key", fixed(readOnly), notPortal(func(r apiRow) int {
			if r.adminOnly || r.method != "GET" {
				return 403
			}
			return r.okCode
		})},
		{"other group key", func(t *testing.T, _ string) string { return keyOf(t, gb) }, notPortal(func(r apiRow) int {
			switch {
			case r.adminOnly:
				return 403
			case r.name == "list groups":
				return 200 // it names no group: the list is the key's own
			}
			return 404
		})},
		{"portal token that manages endpoints", fixed(portalManage), portalWant(true)},
		{"portal token that views", fixed(portalView), portalWant(false)},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for _, c := range callers {
				path, group := row.build(t)
				r := apiDo(t, s, row.method, path, c.key(t, group), row.body)
				want := c.want(row)
				if r.code != want {
					t.Errorf("%s: %s %s: status %d (%s), want %d", c.name, row.method, path, r.code, r.env.Message, want)
					continue
				}
				checkEnvelope(t, r, want < 300)
			}
		})
	}

	t.Run("a group key lists its own group only", func(t *testing.T) {
		for _, g := range []string{ga, gb} {
			var list struct{ Content []resource }
			r := apiDo(t, s, "GET", "/api/v1/groups", keyOf(t, g), nil)
			r.data(t, &list)
			if r.code != 200 || len(list.Content) != 1 || list.Content[0].UID != g {
				t.Errorf("group %s's key lists %d %+v, want only its group", g, r.code, list.Content)
			}
		}
	})

	t.Run("own key on another group's ids", func(t *testing.T) {
		key := keyOf(t, ga)
		for _, p := range []string{
			G + "/applications/" + bApp,
			"/api/v1/groups/" + gb + "/applications/" + bApp,
			"/api/v1/groups/" + gb + "/applications",
			"/api/v1/groups/" + gb + "/events",
			"/api/v1/groups/" + gb + "/eventdeliveries",
			"/api/v1/groups/" + gb + "/meta-events",
			"/api/v1/groups/" + gb + "/meta-events/" + metaID,
		} {
			r := apiDo(t, s, "GET", p, key, nil)
			if r.code != 404 {
				t.Errorf("GET %s: %d, want 404", p, r.code)
			}
			checkEnvelope(t, r, false)
		}
		r := apiDo(t, s, "POST", G+"/events", key, map[string]any{"app_id": bApp, "event_type": "x", "data": 1})
		if r.code != 404 {
			t.Errorf("event for another group's application: %d, want 404", r.code)
		}
	})

	t.Run("malformed authorization", func(t *testing.T) {
		for _, h := range []string{"Basic " + adminKey, adminKey, "Bearer", "Bearer  "} {
			req, _ := http.NewRequest("GET", s.Gateway+"/api/v1/groups", nil)
			req.Header.Set("Authorization", h)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 401 {
				t.Errorf("Authorization %q: %d, want 401", h, resp.StatusCode)
			}
		}
	})
}

// Bad input answers 400 (or 404, 405, 413) with a message naming the
// field, never 500.
func TestAPIBadInput(t *testing.T) {
	s := startStack(t)
	var g, a resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "bad"}, &g)
	G := "/api/v1/groups/" + g.UID
	s.must(201, "POST", G+"/applications", map[string]any{"name": "a"}, &a)
	APP := G + "/applications/" + a.UID
	var e resource
	s.must(201, "POST", APP+"/endpoints", map[string]any{"url": "https://example.com"}, &e)
	big := strings.Repeat("a", 1<<20)
	const none = "01J00000000000000000000000"

	cases := []struct {
		name, method, path string
		body               any
		code               int
		want               string
	}{
		{"malformed JSON", "POST", "/api/v1/groups", rawBody(`{"name": "x",`), 400, "malformed JSON"},
		{"not JSON", "POST", G + "/events", rawBody(`app_id=1`), 400, "malformed JSON"},
		{"array body", "POST", G + "/applications", rawBody(`[{"name": "x"}]`), 400, "must be a JSON object"},
		{"name wrong type", "POST", "/api/v1/groups", rawBody(`{"name": 5}`), 400, "name must be a string"},
		{"nested wrong type", "POST", "/api/v1/groups", rawBody(`{"name": "x", "config": {"strategy": {"retry_count": "3"}}}`), 400, "retry_count must be"},
		{"bool wrong type", "POST", "/api/v1/groups", rawBody(`{"name": "x", "config": {"replay_attacks": "yes"}}`), 400, "replay_attacks must be a boolean"},
		{"int overflow", "POST", APP + "/endpoints", rawBody(`{"url": "https://example.com", "rate_limit": 99999999999}`), 400, "rate_limit must be an integer"},
		{"events wrong type", "POST", APP + "/endpoints", rawBody(`{"url": "https://example.com", "events": "invoice.paid"}`), 400, "events must be"},
		{"events entries wrong type", "POST", APP + "/endpoints", rawBody(`{"url": "https://example.com", "events": [1]}`), 400, "events must be an array of strings"},
		{"app_id wrong type", "POST", G + "/events", rawBody(`{"app_id": 1, "event_type": "x", "data": {}}`), 400, "app_id must be a string"},
		{"custom headers wrong type", "POST", G + "/events", rawBody(`{"app_id": "` + a.UID + `", "event_type": "x", "data": {}, "custom_headers": {"X-A": 1}}`), 400, "custom_headers"},
		{"ids wrong type", "POST", G + "/eventdeliveries/batchretry", rawBody(`{"ids": "x"}`), 400, "ids must be"},
		{"expiration wrong type", "POST", APP + "/endpoints/" + e.UID + "/expire_secret", rawBody(`{"expiration": "1h"}`), 400, "expiration must be"},
		{"bad hash", "POST", "/api/v1/groups", map[string]any{"name": "x", "config": map[string]any{"signature": map[string]any{"hash": "SHA257"}}}, 400, "hash must be one of MD5, SHA1"},
		{"bad hash on update", "PUT", G, map[string]any{"config": map[string]any{"signature": map[string]any{"hash": "md5"}}}, 400, "hash must be one of"},
		{"bad strategy", "POST", "/api/v1/groups", map[string]any{"name": "x", "config": map[string]any{"strategy": map[string]any{"type": "linear"}}}, 400, "strategy.type"},
		{"group name missing", "POST", "/api/v1/groups", map[string]any{}, 400, "name is required"},
		{"empty body", "POST", G + "/applications", nil, 400, "name is required"},
		{"url missing", "POST", APP + "/endpoints", map[string]any{}, 400, "url is required"},
		{"url scheme", "POST", APP + "/endpoints", map[string]any{"url": "ftp://example.com"}, 400, "url must be http or https"},
		{"http_timeout", "POST", APP + "/endpoints", map[string]any{"url": "https://example.com", "http_timeout": "forever"}, 400, "http_timeout"},
		{"endpoint status", "PUT", APP + "/endpoints/" + e.UID, map[string]any{"status": "paused"}, 400, "status must be"},
		{"event_type missing", "POST", G + "/events", map[string]any{"app_id": a.UID, "data": map[string]any{}}, 400, "event_type is required"},
		{"app_id missing", "POST", G + "/events", map[string]any{"event_type": "x", "data": map[string]any{}}, 400, "app_id is required"},
		{"data missing", "POST", G + "/events", map[string]any{"app_id": a.UID, "event_type": "x"}, 400, "data is required"},
		{"support email", "POST", G + "/applications", map[string]any{"name": "a", "support_email": "nope"}, 400, "support_email"},
		{"forceresend without ids", "POST", G + "/eventdeliveries/forceresend", map[string]any{}, 400, "ids is required"},
		{"per_page zero", "GET", G + "/applications?per_page=0", nil, 400, "per_page"},
		{"per_page too big", "GET", G + "/events?per_page=101", nil, 400, "per_page"},
		{"per_page not a number", "GET", "/api/v1/groups?per_page=ten", nil, 400, "per_page"},
		{"per_page twice", "GET", G + "/eventdeliveries?per_page=1&per_page=2", nil, 400, "per_page"},
		{"start_date", "GET", G + "/events?start_date=yesterday", nil, 400, "start_date"},
		{"dates reversed", "GET", G + "/events?start_date=2024-02-01T00:00:00Z&end_date=2024-01-01T00:00:00Z", nil, 400, "end_date"},
		{"status filter", "GET", G + "/eventdeliveries?status=Failed", nil, 400, "status must be one of"},
		{"batchretry status filter", "POST", G + "/eventdeliveries/batchretry?status=nope", nil, 400, "status"},
		{"body over the cap", "POST", "/api/v1/groups", rawBody(`{"name": "` + big + `"}`), 413, "must not exceed"},
		{"event over the cap", "POST", G + "/events", rawBody(`{"app_id": "` + a.UID + `", "event_type": "x", "data": "` + big + `"}`), 413, "must not exceed"},
		{"chunked body over the cap", "POST", G + "/events", io.MultiReader(strings.NewReader(`{"app_id": "x", "data": "`), strings.NewReader(big), strings.NewReader(`"}`)), 413, "must not exceed"},
		{"unknown group", "GET", "/api/v1/groups/" + none, nil, 404, "not found"},
		{"unknown application", "GET", G + "/applications/" + none, nil, 404, "not found"},
		{"unknown endpoint", "GET", APP + "/endpoints/" + none, nil, 404, "not found"},
		{"unknown event", "GET", G + "/events/" + none, nil, 404, "not found"},
		{"unknown delivery", "GET", G + "/eventdeliveries/" + none, nil, 404, "not found"},
		{"unknown delivery attempts", "GET", G + "/eventdeliveries/" + none + "/deliveryattempts", nil, 404, "not found"},
		{"unknown delivery resend", "PUT", G + "/eventdeliveries/" + none + "/resend", nil, 404, "not found"},
		{"unknown app for event", "POST", G + "/events", map[string]any{"app_id": none, "event_type": "x", "data": 1}, 404, "not found"},
		{"unknown group's events", "GET", "/api/v1/groups/" + none + "/events", nil, 404, "not found"},
		{"unknown key", "DELETE", G + "/keys/" + none, nil, 404, "not found"},
		{"unknown route", "GET", "/api/v1/nothing", nil, 404, "no route"},
		{"wrong method", "PATCH", G, nil, 405, "not allowed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := apiDo(t, s, c.method, c.path, adminKey, c.body)
			if r.code != c.code {
				t.Fatalf("%s %s: status %d (%s), want %d", c.method, c.path, r.code, r.env.Message, c.code)
			}
			checkEnvelope(t, r, false)
			if !strings.Contains(r.env.Message, c.want) {
				t.Fatalf("message %q does not name %q", r.env.Message, c.want)
			}
		})
	}

	// A body within the cap whose data cannot be queued is refused up front,
	// naming data, rather than stored and answered 503; large data that fits
	// is accepted.
	t.Run("body at the cap", func(t *testing.T) {
		prefix := `{"app_id": "` + a.UID + `", "event_type": "big", "data": "`
		body := prefix + strings.Repeat("b", 1<<20-len(prefix)-2) + `"}`
		if len(body) != 1<<20 {
			t.Fatalf("body is %d bytes", len(body))
		}
		r := apiDo(t, s, "POST", G+"/events", adminKey, rawBody(body))
		if r.code != 400 || !strings.Contains(r.env.Message, "data") {
			t.Fatalf("a body of exactly 1 MiB: %d (%s), want 400 naming data", r.code, r.env.Message)
		}
		var p page[resource]
		s.must(200, "GET", G+"/events?event_type=big", nil, &p)
		if len(p.Content) != 0 {
			t.Fatal("the refused event was stored")
		}
		r = apiDo(t, s, "POST", G+"/events", adminKey, map[string]any{"app_id": a.UID, "event_type": "large", "data": strings.Repeat("c", 900<<10)})
		if r.code != 201 {
			t.Fatalf("a 900 KiB event: %d (%s)", r.code, r.env.Message)
		}
	})

	t.Run("gateway still serves", func(t *testing.T) {
		r := apiDo(t, s, "GET", G, adminKey, nil)
		if r.code != 200 {
			t.Fatalf("after bad input: %d", r.code)
		}
	})
}

// The body cap is configurable (CONVOY_MAX_BODY_BYTES); whatever its value,
// a body over it answers 413 before reaching ingest.
func TestAPIBodyCapIsConfigurable(t *testing.T) {
	s := startStack(t, "CONVOY_MAX_BODY_BYTES=2048")
	var g, a resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "cap"}, &g)
	s.must(201, "POST", "/api/v1/groups/"+g.UID+"/applications", map[string]any{"name": "a"}, &a)
	path := "/api/v1/groups/" + g.UID + "/events"
	r := apiDo(t, s, "POST", path, adminKey, map[string]any{"app_id": a.UID, "event_type": "x", "data": strings.Repeat("d", 1500)})
	if r.code != 201 {
		t.Fatalf("a body under the cap: %d (%s)", r.code, r.env.Message)
	}
	r = apiDo(t, s, "POST", path, adminKey, map[string]any{"app_id": a.UID, "event_type": "x", "data": strings.Repeat("d", 2100)})
	if r.code != 413 || !strings.Contains(r.env.Message, "2048 bytes") {
		t.Fatalf("a body over the cap: %d (%s), want 413 naming the cap", r.code, r.env.Message)
	}
	checkEnvelope(t, r, false)
}

// freshEventType is an event type body with a new name each time it is
// sent, so that every caller of a matrix row creates rather than collides.
type freshEventType struct{ seq *atomic.Int64 }

func (f freshEventType) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"name": fmt.Sprintf("auth.fresh.%d", f.seq.Add(1))})
}
