package consume_test

import (
	"net/http"
	"testing"
	"time"

	"convoy/core/model"
)

// A slow endpoint holds at most its own in-flight window (one attempt, as it
// has never answered fast), and a rate-limited one none: another endpoint's
// delivery goes through meanwhile.
func TestSlowEndpointDoesNotBlockOthers(t *testing.T) {
	h := newHarness(t, harnessOptions{concurrency: 4, perEndpoint: 2})
	slow := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, r *http.Request, _ int, released <-chan struct{}) {
		hold(r, released, 8*time.Second)
	})
	fast := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	slowEp := h.endpoint(t, g, slow.URL, func(e *model.Endpoint) { e.HTTPTimeout = 20 * time.Second })
	fastEp := h.endpoint(t, g, fast.URL, nil)
	for range 10 {
		h.send(t, g, slowEp, 0, nil)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(slow.requests()) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the slow endpoint got %d requests", len(slow.requests()))
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	d, _ := h.send(t, g, fastEp, 0, nil)
	h.waitStatus(t, d.UID, 4*time.Second, model.StatusSuccess)
	t.Logf("fast endpoint delivered in %v while the slow one hangs", time.Since(start))
	if n := len(slow.requests()); n != 1 {
		t.Fatalf("the slow endpoint has %d requests in flight, want its window of 1", n)
	}

	// A rate-limited endpoint's backlog waits without holding workers.
	limited := newReceiver(t, simpleSHA256, nil)
	limitedEp := h.endpoint(t, g, limited.URL, func(e *model.Endpoint) { e.RateLimit, e.RateLimitDuration = 1, 10*time.Second })
	for range 20 {
		h.send(t, g, limitedEp, 0, nil)
	}
	start = time.Now()
	d, _ = h.send(t, g, fastEp, 0, nil)
	h.waitStatus(t, d.UID, 4*time.Second, model.StatusSuccess)
	t.Logf("fast endpoint delivered in %v behind a rate-limited backlog", time.Since(start))
	if n := len(limited.requests()); n > 2 {
		t.Fatalf("the endpoint limited to 1 per 10s got %d requests", n)
	}
}

// A dispatcher whose workers are all busy leaves new tasks in the stream for
// other replicas. Were a task handed to it anyway, it would wait locally past
// its ack-wait, JetStream would give it to another replica, and both would
// deliver it.
func TestBusyDispatcherLeavesTasksToOtherReplicas(t *testing.T) {
	h := newHarness(t, harnessOptions{noDispatcher: true})
	busy := harnessOptions{concurrency: 1, perEndpoint: 1, ackWait: time.Second}
	h.startDispatcher(t, busy)
	slow := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, r *http.Request, _ int, released <-chan struct{}) {
		hold(r, released, 3*time.Second)
	})
	fast := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	slowEp := h.endpoint(t, g, slow.URL, func(e *model.Endpoint) { e.HTTPTimeout = 10 * time.Second })
	fastEp := h.endpoint(t, g, fast.URL, nil)
	slowD, _ := h.send(t, g, slowEp, 0, nil)
	deadline := time.Now().Add(5 * time.Second)
	for len(slow.requests()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the slow endpoint was never called")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The only worker is busy for 3 s, three times the ack-wait.
	fastD, _ := h.send(t, g, fastEp, 0, nil)
	time.Sleep(300 * time.Millisecond)
	h.startDispatcher(t, harnessOptions{concurrency: 4, ackWait: time.Second})
	h.waitStatus(t, fastD.UID, 10*time.Second, model.StatusSuccess)
	h.waitStatus(t, slowD.UID, 10*time.Second, model.StatusSuccess)
	h.waitHandled(t)
	time.Sleep(300 * time.Millisecond)
	if n := len(fast.requests()); n != 1 {
		t.Fatalf("one delivery was posted %d times", n)
	}
}
