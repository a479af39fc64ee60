package consume_test

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"convoy/core/endpointhealth"
	"convoy/core/model"
	"convoy/core/queue"

	"github.com/nats-io/nats.go"
)

// Slow endpoints together take only the slow pool: while five of them hang
// with a backlog, a healthy endpoint's deliveries go through at once.
func TestSlowEndpointsCannotStarveAHealthyOne(t *testing.T) {
	h := newHarness(t, harnessOptions{concurrency: 8, perEndpoint: 4})
	var inFlight, peak atomic.Int32
	slow := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, r *http.Request, _ int, released <-chan struct{}) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		hold(r, released, 6*time.Second)
	})
	fast := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	for range 5 {
		ep := h.endpoint(t, g, slow.URL, func(e *model.Endpoint) { e.HTTPTimeout = 20 * time.Second })
		for range 20 {
			h.send(t, g, ep, 0, nil)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow endpoints got %d requests", inFlight.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	fastEp := h.endpoint(t, h.group(t, nil), fast.URL, nil)
	start := time.Now()
	var sent []*model.Delivery
	for range 20 {
		d, _ := h.send(t, g, fastEp, 0, nil)
		sent = append(sent, d)
	}
	for _, d := range sent {
		h.waitStatus(t, d.UID, time.Until(start.Add(3*time.Second)), model.StatusSuccess)
	}
	if n := len(fast.requests()); n != 20 {
		t.Fatalf("the healthy endpoint got %d of 20 deliveries", n)
	}
	t.Logf("20 healthy deliveries in %v while 5 endpoints hang", time.Since(start))
	// Each slow endpoint never answered fast: its window stays at one.
	if p := peak.Load(); p > 5 {
		t.Fatalf("%d slow requests in flight at once, want at most one per slow endpoint", p)
	}
}

// A failing endpoint's circuit opens: later deliveries wait without an
// attempt, showing when they will be tried, and after the cooldown one probe
// that succeeds closes it and they go out.
func TestCircuitOpensWaitsAndCloses(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var healthy atomic.Bool
	rc := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, _ *http.Request, _ int, _ <-chan struct{}) {
		if !healthy.Load() {
			w.WriteHeader(500)
		}
	})
	g := h.group(t, func(c *model.GroupConfig) {
		c.CircuitBreaker = model.CircuitBreaker{FailureThreshold: 50, MinRequests: 4, Window: time.Minute, Cooldown: 3 * time.Second}
		c.Strategy.RetryCount = 5
	})
	ep := h.endpoint(t, g, rc.URL, nil)
	for range 4 {
		d, _ := h.send(t, g, ep, 0, nil)
		h.waitStatus(t, d.UID, 5*time.Second, model.StatusRetry)
	}
	kv, err := h.js.KeyValue(t.Context(), endpointhealth.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := endpointhealth.Get(t.Context(), kv, ep.UID)
	if err != nil || s.CircuitState() != endpointhealth.Open || s.FailureRate != 1 || s.OpenedAt == nil || s.ConsecutiveFailures != 4 {
		t.Fatalf("after 4 failures: %+v (%v), want an open circuit", s, err)
	}
	waiting, _ := h.send(t, g, ep, 0, nil)
	got := h.waitStatus(t, waiting.UID, 2*time.Second, model.StatusScheduled)
	reopen := s.OpenedAt.Add(3 * time.Second)
	if got.Metadata.NumTrials != 0 || got.Metadata.NextSendTime == nil || got.Metadata.NextSendTime.Sub(reopen).Abs() > 100*time.Millisecond {
		t.Fatalf("waiting delivery: %d trials, next send %v, want none and about %v", got.Metadata.NumTrials, got.Metadata.NextSendTime, reopen)
	}
	if n := len(rc.requests()); n != 4 {
		t.Fatalf("the open circuit let %d requests through, want only the 4 that opened it", n-4)
	}
	healthy.Store(true)
	got = h.waitStatus(t, waiting.UID, 8*time.Second, model.StatusSuccess)
	if got.Metadata.NumTrials != 1 || time.Now().Before(reopen) {
		t.Fatalf("after the cooldown: %s with %d trials", got.Status, got.Metadata.NumTrials)
	}
	// The probe's outcome is recorded first, then told to the breaker.
	eventually(t, "the probe to close the circuit", func() bool {
		s, _, _ = endpointhealth.Get(t.Context(), kv, ep.UID)
		return s.CircuitState() == endpointhealth.Closed && s.ConsecutiveFailures == 0
	})
}

// A task that is not a task goes to the dead letters, once, and leaves the
// dispatch stream.
func TestUndecodableTaskIsDeadLettered(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if _, err := h.js.PublishMsg(t.Context(), &nats.Msg{Subject: queue.DispatchSubject("not-a-task"), Data: []byte{0xff, 0x01, 0x02}}); err != nil {
		t.Fatal(err)
	}
	dead, err := h.js.Stream(t.Context(), queue.StreamDeadLetter)
	if err != nil {
		t.Fatal(err)
	}
	dispatch, err := h.js.Stream(t.Context(), queue.StreamDispatch)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, "one dead letter and an empty dispatch stream", func() bool {
		di, _ := dead.Info(t.Context())
		qi, _ := dispatch.Info(t.Context())
		return di != nil && qi != nil && di.State.Msgs == 1 && qi.State.Msgs == 0
	})
}

// attachedSet is a Listeners whose answer the test sets.
type attachedSet struct{ on atomic.Bool }

func (a *attachedSet) Attached(string) bool { return a.on.Load() }

// While a listener is attached the endpoint's circuit neither holds its
// deliveries back (the listener, not the URL, answers them) nor counts
// their outcomes.
func TestListenerBypassesCircuit(t *testing.T) {
	listening := &attachedSet{}
	h := newHarness(t, harnessOptions{listeners: listening})
	var healthy atomic.Bool
	rc := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, _ *http.Request, _ int, _ <-chan struct{}) {
		if !healthy.Load() {
			w.WriteHeader(500)
		}
	})
	g := h.group(t, func(c *model.GroupConfig) {
		c.CircuitBreaker = model.CircuitBreaker{FailureThreshold: 50, MinRequests: 4, Window: time.Minute, Cooldown: time.Hour}
		c.Strategy.RetryCount = 5
	})
	ep := h.endpoint(t, g, rc.URL, nil)
	for range 4 {
		d, _ := h.send(t, g, ep, 0, nil)
		h.waitStatus(t, d.UID, 5*time.Second, model.StatusRetry)
	}
	kv, err := h.js.KeyValue(t.Context(), endpointhealth.Bucket)
	if err != nil {
		t.Fatal(err)
	}
	// The outcome is recorded first, then told to the breaker.
	eventually(t, "4 failures to open the circuit", func() bool {
		s, _, _ := endpointhealth.Get(t.Context(), kv, ep.UID)
		return s.CircuitState() == endpointhealth.Open && s.ConsecutiveFailures == 4
	})
	listening.on.Store(true)
	failed, _ := h.send(t, g, ep, 0, nil)
	h.waitStatus(t, failed.UID, 5*time.Second, model.StatusRetry) // attempted at once, though the circuit is open
	healthy.Store(true)
	ok, _ := h.send(t, g, ep, 0, nil)
	h.waitStatus(t, ok.UID, 5*time.Second, model.StatusSuccess)
	s, _, err := endpointhealth.Get(t.Context(), kv, ep.UID)
	if err != nil || s.CircuitState() != endpointhealth.Open || s.ConsecutiveFailures != 4 {
		t.Fatalf("after the listener's attempts: %+v (%v), want the circuit as the URL left it", s, err)
	}
}
