package e2e

import (
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// orderedReceiver records the first successful receipt of each event, in
// the order they came, and answers with fail's verdict.
type orderedReceiver struct {
	*httptest.Server
	mu       sync.Mutex
	first    []string
	seen     map[string]bool
	requests map[string]int
}

func newOrderedReceiver(t *testing.T, fail func(eventID string, w http.ResponseWriter) bool) *orderedReceiver {
	r := &orderedReceiver{seen: map[string]bool{}, requests: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		id := req.Header.Get("X-Convoy-Event-ID")
		r.mu.Lock()
		r.requests[id]++
		r.mu.Unlock()
		if fail(id, w) {
			return
		}
		r.mu.Lock()
		if !r.seen[id] {
			r.seen[id] = true
			r.first = append(r.first, id)
		}
		r.mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *orderedReceiver) received() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.first)
}

func (r *orderedReceiver) attempts(eventID string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[eventID]
}

type orderedDelivery struct {
	UID         string `json:"uid"`
	Status      string `json:"status"`
	Description string `json:"description"`
}

// setupOrdered makes a group retrying every second, an application and an
// ordered endpoint to url.
func setupOrdered(t *testing.T, s *stack, url string) (group, app, endpoint resource) {
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "ordered", "config": map[string]any{
		"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 30},
		// 20% of answers fail here: well below the breaker's threshold, but
		// keep it out of the way all the same.
		"circuit_breaker": map[string]any{"failure_threshold": 100, "min_requests": 1000},
	}}, &group)
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications", map[string]any{"name": "shop"}, &app)
	var ep struct {
		resource
		Ordered bool `json:"ordered"`
	}
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications/"+app.UID+"/endpoints",
		map[string]any{"url": url, "events": []string{"*"}, "ordered": true, "rate_limit": 1_000_000, "rate_limit_duration": "1s"}, &ep)
	if !ep.Ordered {
		t.Fatal("the created endpoint does not answer ordered: true")
	}
	return group, app, ep.resource
}

func sendEvent(s *stack, groupID, appID string, n int) string {
	var ev resource
	s.must(201, "POST", "/api/v1/groups/"+groupID+"/events", map[string]any{
		"app_id": appID, "event_type": "invoice.paid", "data": map[string]int{"n": n},
	}, &ev)
	return ev.UID
}

func TestOrderedDelivery(t *testing.T) {
	s := startStack(t, "CONVOY_DISPATCH_ACK_WAIT=10s")

	t.Run("a failing head holds back the deliveries behind it", func(t *testing.T) {
		t.Parallel()
		var release atomic.Bool
		var head atomic.Value
		head.Store("")
		recv := newOrderedReceiver(t, func(id string, w http.ResponseWriter) bool {
			if id == head.Load().(string) && !release.Load() {
				w.WriteHeader(500)
				return true
			}
			return false
		})
		group, app, ep := setupOrdered(t, s, recv.URL)
		first := sendEvent(s, group.UID, app.UID, 0)
		head.Store(first)
		events := []string{first, sendEvent(s, group.UID, app.UID, 1), sendEvent(s, group.UID, app.UID, 2)}

		deliveryOf := func(eventID string) orderedDelivery {
			var p page[orderedDelivery]
			s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries?event_id="+eventID, nil, &p)
			if len(p.Content) != 1 {
				t.Fatalf("event %s has %d deliveries, want 1", eventID, len(p.Content))
			}
			return p.Content[0]
		}
		eventually(t, 30*time.Second, "the head to fail twice", func() bool { return recv.attempts(first) >= 2 })
		headDelivery := deliveryOf(first)
		if headDelivery.Status != "Retry" {
			t.Fatalf("head is %s, want Retry", headDelivery.Status)
		}
		for _, ev := range events[1:] {
			d := deliveryOf(ev)
			if d.Status != "Scheduled" || d.Description != "waiting for delivery "+headDelivery.UID {
				t.Errorf("held-back delivery %s: %s %q, want Scheduled waiting for delivery %s", d.UID, d.Status, d.Description, headDelivery.UID)
			}
			var one orderedDelivery
			s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+d.UID, nil, &one)
			if one.Description != d.Description {
				t.Errorf("GET of %s describes it %q, the list %q", d.UID, one.Description, d.Description)
			}
		}
		if got := recv.received(); len(got) != 0 {
			t.Fatalf("%d events passed the failing head", len(got))
		}

		release.Store(true)
		eventually(t, 40*time.Second, "every event to arrive", func() bool { return len(recv.received()) == len(events) })
		if got := recv.received(); !slices.Equal(got, events) {
			t.Fatalf("arrival order %v, want %v", got, events)
		}
		for _, ev := range events {
			if d := deliveryOf(ev); d.Status != "Success" {
				t.Errorf("delivery of %s is %s, want Success", ev, d.Status)
			}
		}

		// Turning ordered off shows in the answers.
		var upd struct {
			Ordered bool `json:"ordered"`
		}
		path := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints/" + ep.UID
		s.must(200, "PUT", path, map[string]any{"ordered": false}, &upd)
		if upd.Ordered {
			t.Fatal("update to ordered: false still answers ordered: true")
		}
		s.must(200, "GET", path, nil, &upd)
		if upd.Ordered {
			t.Fatal("GET still answers ordered: true after turning it off")
		}
	})

	t.Run("1000 events through a flaky receiver arrive in acceptance order across kill -9 of the dispatcher", func(t *testing.T) {
		t.Parallel()
		const total = 1000
		var slowFails atomic.Int64
		recv := newOrderedReceiver(t, func(_ string, w http.ResponseWriter) bool {
			if rand.IntN(5) != 0 {
				return false
			}
			// Most failures ask for an immediate retry, so that the run is
			// about order rather than waiting; one in twenty waits out the
			// group's linear second.
			if rand.IntN(20) != 0 {
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(503)
				return true
			}
			slowFails.Add(1)
			w.WriteHeader(500)
			return true
		})
		group, app, _ := setupOrdered(t, s, recv.URL)
		start := time.Now()
		accepted := make([]string, 0, total)
		for i := range total {
			accepted = append(accepted, sendEvent(s, group.UID, app.UID, i))
			if i == total/2 {
				// Mid-run: the head is held by the dispatcher that dies.
				eventually(t, 30*time.Second, "deliveries to be under way", func() bool { return len(recv.received()) > 50 })
				t.Logf("kill -9 dispatcher-service after %d receipts", len(recv.received()))
				s.restart("dispatcher-service", syscall.SIGKILL)
			}
		}
		t.Logf("%d events accepted in %v", total, time.Since(start).Round(time.Millisecond))
		eventually(t, 120*time.Second, "every event to arrive", func() bool { return len(recv.received()) == total })
		got := recv.received()
		for i := range got {
			if got[i] != accepted[i] {
				t.Fatalf("receipt %d is event %s, want %s (accepted %d-th)", i, got[i], accepted[i], slices.Index(accepted, got[i]))
			}
		}
		// And every delivery ended Success: none is left behind in the queue.
		eventually(t, 30*time.Second, "every delivery to be recorded Success", func() bool {
			var p page[orderedDelivery]
			s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries?status=Scheduled&status=Processing&status=Retry&status=Failure&status=Discarded&per_page=1", nil, &p)
			return len(p.Content) == 0
		})
		dups := 0
		for _, id := range accepted {
			dups += recv.attempts(id) - 1
		}
		t.Logf("%d events in acceptance order in %v; %d requests beyond the first (failures, a duplicate after the kill), %d linear waits",
			total, time.Since(start).Round(time.Millisecond), dups, slowFails.Load())
	})
}
