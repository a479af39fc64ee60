package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file checks what a client migrating from Convoy v0.5 relies on: its
// names are understood, and nothing it sends is silently dropped. The cases
// share one stack and run in parallel.

// compatStack is one stack shared by the Convoy compatibility cases.
func TestConvoyCompat(t *testing.T) {
	s := startStack(t)
	c := &compat{s: s}
	t.Run("batch retry filtered by Convoy's appId touches only that application", c.batchRetryByAppID)
	t.Run("Convoy's default retry fields make a delivery's schedule", c.convoyDefaultStrategy)
	t.Run("Convoy's exponential retry limit makes a delivery's schedule", c.convoyExponentialStrategy)
	t.Run("unknown input is refused, not ignored", c.unknownInputRefused)
}

type compat struct{ s *stack }

// create POSTs body to path with the admin key, expects 201 and returns the
// new resource's uid.
func (c *compat) create(t *testing.T, path string, body any) string {
	t.Helper()
	r := apiDo(t, c.s, "POST", path, adminKey, body)
	if r.code != 201 {
		t.Fatalf("POST %s: %d %s", path, r.code, r.env.Message)
	}
	var res resource
	r.data(t, &res)
	return res.UID
}

// getDelivery fetches one delivery through our API.
func (c *compat) getDelivery(t *testing.T, group, id string) delivery {
	t.Helper()
	r := apiDo(t, c.s, "GET", "/api/v1/groups/"+group+"/eventdeliveries/"+id, adminKey, nil)
	if r.code != 200 {
		t.Fatalf("get delivery %s: %d %s", id, r.code, r.env.Message)
	}
	var d delivery
	r.data(t, &d)
	return d
}

// waitStatus polls a delivery until it is in status with at least trials
// attempts made.
func (c *compat) waitStatus(t *testing.T, group, id, status string, trials int) delivery {
	t.Helper()
	var d delivery
	eventually(t, 20*time.Second, "delivery "+id+" to be "+status, func() bool {
		d = c.getDelivery(t, group, id)
		return d.Status == status && d.Metadata.NumTrials >= trials
	})
	return d
}

// pathCounter is a receiver that fails every request and counts them by
// URL path, so one receiver stands for several endpoints.
type pathCounter struct {
	*httptest.Server
	mu sync.Mutex
	n  map[string]int
}

func newPathCounter(t *testing.T) *pathCounter {
	p := &pathCounter{n: map[string]int{}}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.n[r.URL.Path]++
		p.mu.Unlock()
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pathCounter) count(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[path]
}

// The failure this guards against: Convoy's appId was dropped, so a batch
// retry meant for one application retried every application's failures.
func (c *compat) batchRetryByAppID(t *testing.T) {
	t.Parallel()
	recv := newPathCounter(t)
	// One attempt each, and the failing endpoints stay active so that they
	// can be retried.
	g := c.create(t, "/api/v1/groups", map[string]any{"name": "batch", "config": map[string]any{
		"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 1}, "disable_endpoint": false,
	}})
	G := "/api/v1/groups/" + g
	deliveryOf := map[string]string{}
	for _, name := range []string{"a", "b"} {
		app := c.create(t, G+"/applications", map[string]any{"name": name})
		c.create(t, G+"/applications/"+app+"/endpoints", map[string]any{"url": recv.URL + "/" + name})
		ev := c.create(t, G+"/events", map[string]any{"app_id": app, "event_type": "x", "data": map[string]any{}})
		id := storedDeliveries(t, c.s, g, ev, 1)[0].UID
		c.waitStatus(t, g, id, "Failure", 1)
		deliveryOf[name] = id
		deliveryOf[name+"-app"] = app
	}

	r := apiDo(t, c.s, "POST", G+"/eventdeliveries/batchretry?appId="+deliveryOf["a-app"], adminKey, nil)
	if r.code != 200 {
		t.Fatalf("batchretry?appId: %d %s", r.code, r.env.Message)
	}
	var br struct {
		Retried int      `json:"retried"`
		IDs     []string `json:"ids"`
	}
	r.data(t, &br)
	if br.Retried != 1 || !slices.Equal(br.IDs, []string{deliveryOf["a"]}) {
		t.Fatalf("batchretry?appId=A answered %s, want only A's delivery %s", r.env.Data, deliveryOf["a"])
	}
	// A's delivery gets a second attempt (a retry starts a fresh budget, so
	// count the attempts recorded); B's, queued at the same moment had it
	// been retried, gets none.
	eventually(t, 20*time.Second, "A's retry to be recorded", func() bool {
		return recv.count("/a") == 2 && len(c.attempts(t, g, deliveryOf["a"])) == 2
	})
	if n := len(c.attempts(t, g, deliveryOf["b"])); n != 1 || recv.count("/b") != 1 {
		t.Fatalf("B's delivery has %d attempts and its endpoint %d requests, want 1 and 1: the filter was not applied",
			n, recv.count("/b"))
	}
}

// attempts lists a delivery's attempts through our API.
func (c *compat) attempts(t *testing.T, group, id string) []attempt {
	t.Helper()
	r := apiDo(t, c.s, "GET", "/api/v1/groups/"+group+"/eventdeliveries/"+id+"/deliveryattempts", adminKey, nil)
	if r.code != 200 {
		t.Fatalf("attempts of %s: %d %s", id, r.code, r.env.Message)
	}
	var out []attempt
	r.data(t, &out)
	return out
}

// groupStrategy is the part of our group answer these cases read.
type groupStrategy struct {
	Config struct {
		Strategy struct {
			Type       string `json:"type"`
			Duration   int    `json:"duration"`
			RetryCount int    `json:"retry_count"`
		} `json:"strategy"`
	} `json:"config"`
}

// deliveryMeta is a delivery's schedule as our API answers it.
type deliveryMeta struct {
	Status   string `json:"status"`
	Metadata struct {
		NumTrials       int     `json:"num_trials"`
		RetryLimit      int     `json:"retry_limit"`
		Strategy        string  `json:"strategy"`
		IntervalSeconds int     `json:"interval_seconds"`
		NextSendTime    *string `json:"next_send_time"`
	} `json:"metadata"`
}

// convoyGroup creates a group from Convoy v0.5's config the way its Go SDK
// sends it (both strategy blocks, zeros in the unused one), with one
// application and an endpoint at url; it returns the group answer and the
// ids.
func (c *compat) convoyGroup(t *testing.T, strategy map[string]any, url string) (groupStrategy, string, string) {
	t.Helper()
	r := apiDo(t, c.s, "POST", "/api/v1/groups", adminKey, map[string]any{
		"name": "convoy-strategy",
		"config": map[string]any{
			"strategy":         strategy,
			"signature":        map[string]any{"header": "X-Convoy-Signature", "hash": "SHA256"},
			"disable_endpoint": false,
			"replay_attacks":   false,
		},
	})
	if r.code != 201 {
		t.Fatalf("create group with Convoy's strategy: %d %s", r.code, r.env.Message)
	}
	var g struct {
		UID string `json:"uid"`
		groupStrategy
	}
	r.data(t, &g)
	app := c.create(t, "/api/v1/groups/"+g.UID+"/applications", map[string]any{"name": "shop"})
	c.create(t, "/api/v1/groups/"+g.UID+"/applications/"+app+"/endpoints", map[string]any{"url": url})
	return g.groupStrategy, g.UID, app
}

func (c *compat) firstDelivery(t *testing.T, group, app string) (string, deliveryMeta) {
	t.Helper()
	ev := c.create(t, "/api/v1/groups/"+group+"/events", map[string]any{"app_id": app, "event_type": "x", "data": map[string]any{}})
	id := storedDeliveries(t, c.s, group, ev, 1)[0].UID
	var d deliveryMeta
	eventually(t, 20*time.Second, "the first attempt to be recorded", func() bool {
		r := apiDo(t, c.s, "GET", "/api/v1/groups/"+group+"/eventdeliveries/"+id, adminKey, nil)
		return r.code == 200 && json.Unmarshal(r.env.Data, &d) == nil && d.Metadata.NumTrials >= 1
	})
	return id, d
}

func (c *compat) convoyDefaultStrategy(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 500, 500, 500)
	g, group, app := c.convoyGroup(t, map[string]any{
		"type":               "default",
		"default":            map[string]any{"intervalSeconds": 2, "retryLimit": 2},
		"exponentialBackoff": map[string]any{"retryLimit": 0},
	}, recv.URL)
	if s := g.Config.Strategy; s.Type != "default" || s.Duration != 2 || s.RetryCount != 2 {
		t.Fatalf("group strategy %+v, want default, 2 s, 2 attempts", s)
	}
	id, d := c.firstDelivery(t, group, app)
	if m := d.Metadata; m.RetryLimit != 2 || m.IntervalSeconds != 2 || m.Strategy != "default" || d.Status != "Retry" || m.NextSendTime == nil {
		t.Fatalf("after the first attempt: %+v, want Retry on default, 2 s, limit 2", d)
	}
	final := c.waitStatus(t, group, id, "Failure", 2)
	if final.Metadata.NumTrials != 2 {
		t.Fatalf("%d trials, want the retryLimit 2", final.Metadata.NumTrials)
	}
	at := recv.times()
	if len(at) != 2 {
		t.Fatalf("%d attempts, want 2", len(at))
	}
	if gap := at[1].Sub(at[0]); gap < 2*time.Second || gap > 2500*time.Millisecond {
		t.Errorf("retry came %v after the first attempt, want intervalSeconds 2", gap)
	}
}

func (c *compat) convoyExponentialStrategy(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 500, 500)
	g, group, app := c.convoyGroup(t, map[string]any{
		"type":               "exponential-backoff",
		"default":            map[string]any{"intervalSeconds": 0, "retryLimit": 0},
		"exponentialBackoff": map[string]any{"retryLimit": 3},
	}, recv.URL)
	if s := g.Config.Strategy; s.Type != "exponential-backoff" || s.RetryCount != 3 {
		t.Fatalf("group strategy %+v, want exponential-backoff with 3 attempts", s)
	}
	_, d := c.firstDelivery(t, group, app)
	if m := d.Metadata; m.RetryLimit != 3 || m.Strategy != "exponential-backoff" || m.NextSendTime == nil {
		t.Fatalf("after the first attempt: %+v, want exponential-backoff with limit 3", d)
	}
	next, err := time.Parse(time.RFC3339Nano, *d.Metadata.NextSendTime)
	if err != nil {
		t.Fatal(err)
	}
	if wait := next.Sub(recv.times()[0]); wait < 9500*time.Millisecond || wait > 10500*time.Millisecond {
		t.Errorf("next_send_time is %v after the first attempt, want exponential backoff's first 10 s", wait)
	}
}

func (c *compat) unknownInputRefused(t *testing.T) {
	t.Parallel()
	g := c.create(t, "/api/v1/groups", map[string]any{"name": "strict"})
	G := "/api/v1/groups/" + g
	for _, tc := range []struct {
		method, path string
		body         any
		want         string
	}{
		{"POST", G + "/eventdeliveries/batchretry?appID=x", nil, `unknown query parameter "appID"`},
		{"GET", G + "/events?eventType=x", nil, `unknown query parameter "eventType"`},
		{"POST", "/api/v1/groups", map[string]any{"name": "x", "config": map[string]any{"strategy": map[string]any{"foo": 1}}}, `unknown field "config.strategy.foo"`},
		{"PUT", G, map[string]any{"config": map[string]any{"signature": map[string]any{"algorithm": "x"}}}, `unknown field "config.signature.algorithm"`},
	} {
		r := apiDo(t, c.s, tc.method, tc.path, adminKey, tc.body)
		if r.code != 400 || !strings.Contains(r.env.Message, tc.want) {
			t.Errorf("%s %s: %d %q, want 400 naming %s", tc.method, tc.path, r.code, r.env.Message, tc.want)
		}
		checkEnvelope(t, r, false)
	}
}
