package consume_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/dispatcher-service/internal/consume"
)

// orderedReceiver answers each event's first fails[event] requests 500 and
// records the order of requests, their times and the most in flight at once.
type orderedReceiver struct {
	mu       sync.Mutex
	fails    map[string]int
	got      []string
	at       map[string][]time.Time
	inFlight int
	maxIn    int
}

func (r *orderedReceiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	id := req.Header.Get("X-Convoy-Event-ID")
	r.mu.Lock()
	r.inFlight++
	r.maxIn = max(r.maxIn, r.inFlight)
	r.got = append(r.got, id)
	r.at[id] = append(r.at[id], time.Now())
	fail := r.fails[id] > 0
	if fail {
		r.fails[id]--
	}
	r.mu.Unlock()
	time.Sleep(5 * time.Millisecond) // long enough for a second attempt to overlap, if one were let out
	r.mu.Lock()
	r.inFlight--
	r.mu.Unlock()
	if fail {
		w.WriteHeader(500)
		return
	}
	w.WriteHeader(200)
}

func TestOrderedEndpoint(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	// A second replica: one at a time must hold across dispatchers too.
	h.startDispatcher(t, harnessOptions{})
	tests := []struct {
		name        string
		retryCount  int32
		headFails   int
		wantHead    string
		wantTrials  int32
		wantHeadReq int
	}{
		{"the head succeeds on its third attempt, then the rest go", 5, 2, model.StatusSuccess, 3, 3},
		{"the head fails every attempt: Failure, then the rest go", 2, 100, model.StatusFailure, 2, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc := &orderedReceiver{fails: map[string]int{}, at: map[string][]time.Time{}}
			srv := httptest.NewServer(rc)
			t.Cleanup(srv.Close)
			g := h.group(t, func(c *model.GroupConfig) {
				c.Strategy = model.Strategy{Type: model.StrategyLinear, Duration: 1, RetryCount: tc.retryCount}
				c.DisableEndpoint = false
			})
			ep := h.endpoint(t, g, srv.URL, func(e *model.Endpoint) { e.Ordered = true })
			var events []string
			var deliveries []*model.Delivery
			for i := range 4 {
				d, task := h.send(t, g, ep, 0, nil)
				if i == 0 {
					rc.mu.Lock()
					rc.fails[task.EventId] = tc.headFails
					rc.mu.Unlock()
				}
				events = append(events, task.EventId)
				deliveries = append(deliveries, d)
			}
			for i, d := range deliveries {
				want := []string{model.StatusSuccess}
				if i == 0 {
					want = []string{tc.wantHead}
				}
				h.waitStatus(t, d.UID, 20*time.Second, want...)
			}
			head := h.waitStatus(t, deliveries[0].UID, time.Second, tc.wantHead)
			if head.Metadata.NumTrials != tc.wantTrials || len(h.attempts(t, head)) != int(tc.wantTrials) {
				t.Errorf("head: %d trials, %d attempts; want %d", head.Metadata.NumTrials, len(h.attempts(t, head)), tc.wantTrials)
			}
			rc.mu.Lock()
			defer rc.mu.Unlock()
			want := slices.Repeat(events[:1], tc.wantHeadReq)
			want = append(want, events[1:]...)
			if !slices.Equal(rc.got, want) {
				t.Errorf("requests in order %v, want %v", rc.got, want)
			}
			if rc.maxIn != 1 {
				t.Errorf("%d requests in flight at once, want 1", rc.maxIn)
			}
			// The head's retries follow the group's linear second.
			at := rc.at[events[0]]
			for i := 1; i < len(at); i++ {
				if gap := at[i].Sub(at[i-1]); gap < time.Second || gap > 2500*time.Millisecond {
					t.Errorf("head retry %d came %v after the attempt before, want the strategy's 1s", i, gap)
				}
			}
		})
	}
}

// An ordered endpoint still to pass the ownership handshake is held like any
// other: its deliveries are stored, none is attempted.
func TestOrderedEndpointPendingVerificationIsHeld(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	rc := &orderedReceiver{fails: map[string]int{}, at: map[string][]time.Time{}}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	g := h.group(t, nil)
	ep := h.endpoint(t, g, srv.URL, func(e *model.Endpoint) {
		e.Ordered = true
		e.Verification = &model.EndpointVerification{}
	})
	var deliveries []*model.Delivery
	for range 2 {
		d, _ := h.send(t, g, ep, 0, nil)
		deliveries = append(deliveries, d)
	}
	for _, d := range deliveries {
		got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusDiscarded)
		if got.Description != consume.HeldUnverified {
			t.Errorf("description %q, want %q", got.Description, consume.HeldUnverified)
		}
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if len(rc.got) != 0 {
		t.Errorf("%d requests to an unverified endpoint, want none", len(rc.got))
	}
}
