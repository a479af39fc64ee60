// Package e2e drives the real service binaries over HTTP, as a user would,
// against embedded NATS and FerretDB.
package e2e

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"convoy/core/verify"
)

// received is one request a test receiver got.
type received struct {
	at     time.Time
	header http.Header
	body   []byte
}

// receiver is a webhook endpoint that records every request and answers
// with its handlers in turn, the last one repeating.
type receiver struct {
	*httptest.Server
	mu       sync.Mutex
	got      []received
	handlers []http.HandlerFunc
}

// newReceiver answers with the statuses in plan, then 200.
func newReceiver(t *testing.T, plan ...int) *receiver {
	handlers := make([]http.HandlerFunc, 0, len(plan)+1)
	for _, code := range plan {
		handlers = append(handlers, answer(code))
	}
	return newScriptedReceiver(t, append(handlers, answer(200))...)
}

func newScriptedReceiver(t *testing.T, handlers ...http.HandlerFunc) *receiver {
	r := &receiver{handlers: handlers}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		h := r.handlers[min(len(r.got), len(r.handlers)-1)]
		r.got = append(r.got, received{at: time.Now(), header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		req.Body = io.NopCloser(bytes.NewReader(body)) // the handler may read it too
		h(w, req)
	}))
	t.Cleanup(r.Close)
	return r
}

func answer(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(code)
		io.WriteString(w, `{"ok":true}`)
	}
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// times returns when each request arrived.
func (r *receiver) times() []time.Time {
	var out []time.Time
	for _, req := range r.requests() {
		out = append(out, req.at)
	}
	return out
}

type resource struct {
	UID    string `json:"uid"`
	Secret string `json:"secret"`
	Status string `json:"status"`
}

type delivery struct {
	UID      string `json:"uid"`
	Status   string `json:"status"`
	Metadata struct {
		NumTrials  int     `json:"num_trials"`
		RetryLimit int     `json:"retry_limit"`
		NextSend   *string `json:"next_send_time"`
	} `json:"metadata"`
}

type attempt struct {
	HTTPStatus int    `json:"http_status"`
	Status     bool   `json:"status"`
	IPAddress  string `json:"ip_address"`
	Error      string `json:"error"`
}

type page[T any] struct {
	Content    []T `json:"content"`
	Pagination struct {
		HasNext bool `json:"has_next_page"`
	} `json:"pagination"`
}

// setup creates a group (with config), an application and an endpoint at url.
func setup(s *stack, config map[string]any, url string) (group, app, endpoint resource) {
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "e2e", "config": config}, &group)
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications", map[string]any{"name": "shop"}, &app)
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications/"+app.UID+"/endpoints",
		map[string]any{"url": url, "events": []string{"invoice.*"}}, &endpoint)
	return group, app, endpoint
}

func deliveriesOf(s *stack, groupID, eventID string) []delivery {
	var p page[delivery]
	s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries?event_id="+eventID, nil, &p)
	return p.Content
}

// storedDeliveries waits until the event's n deliveries are stored (the
// dispatcher stores each with its first outcome) and returns them.
func storedDeliveries(t *testing.T, s *stack, groupID, eventID string, n int) []delivery {
	t.Helper()
	var ds []delivery
	eventually(t, 20*time.Second, "the event's deliveries to be stored", func() bool {
		ds = deliveriesOf(s, groupID, eventID)
		return len(ds) >= n
	})
	if len(ds) != n {
		t.Fatalf("%d deliveries stored for event %s, want %d", len(ds), eventID, n)
	}
	return ds
}

// The whole path: HTTP → gateway → ingest → store + JetStream → dispatcher →
// receiver, with a signature the receiver verifies without our signer.
func TestEventIsDeliveredSignedAndRecorded(t *testing.T) {
	s := startStack(t)
	recv := newReceiver(t)
	group, app, endpoint := setup(s, nil, recv.URL)

	payload := `{"invoice": "in_1", "amount": 4200, "note": "caf\u00e9 ☕"}`
	var ev resource
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
		rawBody(`{"app_id": "`+app.UID+`", "event_type": "invoice.paid", "data": `+payload+`}`), &ev)

	eventually(t, 20*time.Second, "the receiver to get the event", func() bool { return len(recv.requests()) == 1 })
	got := recv.requests()[0]
	if string(got.body) != payload {
		t.Fatalf("receiver got body %q, want the exact bytes sent %q", got.body, payload)
	}
	// Verify independently: HMAC-SHA256 over "<timestamp>,<body>", lowercase hex.
	ts := got.header.Get("Convoy-Timestamp")
	mac := hmac.New(sha256.New, []byte(endpoint.Secret))
	mac.Write([]byte(ts + "," + string(got.body)))
	if want := hex.EncodeToString(mac.Sum(nil)); got.header.Get("X-Convoy-Signature") != want {
		t.Fatalf("signature %q, want %q", got.header.Get("X-Convoy-Signature"), want)
	}
	// And through the receivers' package.
	if err := verify.Verify(verify.Options{Format: "simple", Hash: "SHA256", ReplayAttacks: true}, []string{endpoint.Secret}, got.header, got.body); err != nil {
		t.Fatalf("verify package rejected the delivery: %v", err)
	}
	if got.header.Get("X-Convoy-Event-ID") != ev.UID || got.header.Get("X-Convoy-Event-Type") != "invoice.paid" {
		t.Fatalf("event headers %v", got.header)
	}

	var ds []delivery
	eventually(t, 10*time.Second, "the delivery to be Success", func() bool {
		ds = deliveriesOf(s, group.UID, ev.UID)
		return len(ds) == 1 && ds[0].Status == "Success"
	})
	if got.header.Get("X-Convoy-Delivery-ID") != ds[0].UID {
		t.Fatalf("X-Convoy-Delivery-ID %q, want %q", got.header.Get("X-Convoy-Delivery-ID"), ds[0].UID)
	}
	var d delivery
	s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+ds[0].UID, nil, &d)
	if d.Metadata.NumTrials != 1 || d.Metadata.NextSend != nil {
		t.Fatalf("delivery metadata %+v, want one trial and no next send time", d.Metadata)
	}
	var attempts []attempt
	s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &attempts)
	if len(attempts) != 1 || !attempts[0].Status || attempts[0].HTTPStatus != 200 || attempts[0].IPAddress != "127.0.0.1" {
		t.Fatalf("attempts %+v, want one successful attempt to 127.0.0.1", attempts)
	}
}

// An endpoint that fails once gets the event again when its retry is due.
func TestFailedAttemptIsRetried(t *testing.T) {
	s := startStack(t)
	recv := newReceiver(t, 500)
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 3}}, recv.URL)

	var ev resource
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
		"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": 1},
	}, &ev)
	var ds []delivery
	eventually(t, 30*time.Second, "the retried delivery to be Success", func() bool {
		ds = deliveriesOf(s, group.UID, ev.UID)
		return len(ds) == 1 && ds[0].Status == "Success"
	})
	if ds[0].Metadata.NumTrials != 2 || ds[0].Metadata.RetryLimit != 3 {
		t.Fatalf("metadata %+v, want 2 trials of 3", ds[0].Metadata)
	}
	reqs := recv.requests()
	if len(reqs) != 2 {
		t.Fatalf("receiver got %d requests, want 2", len(reqs))
	}
	if reqs[0].header.Get("X-Convoy-Delivery-ID") != reqs[1].header.Get("X-Convoy-Delivery-ID") {
		t.Fatal("delivery id changed between attempts")
	}
	var attempts []attempt
	s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &attempts)
	if len(attempts) != 2 || attempts[0].HTTPStatus != 500 || attempts[0].Status || !attempts[1].Status {
		t.Fatalf("attempts %+v, want a failed 500 then a success", attempts)
	}
}
