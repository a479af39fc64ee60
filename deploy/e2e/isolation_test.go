package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Ten endpoints of one application answer fast at first, so that their
// in-flight windows grow, then hang for 5 s on every request (inside their
// 10 s timeout) with 400 attempts due; meanwhile each of 50 events to a
// healthy endpoint of another application arrives within 3 s of being sent:
// slow endpoints never hold every dispatcher slot.
func TestSlowEndpointsDoNotDelayOthers(t *testing.T) {
	t.Parallel()
	s := startStack(t)
	const (
		slowEndpoints = 10
		slowEvents    = 60  // each fans out to every slow endpoint: 600 deliveries
		fastFirst     = 200 // answered at once, the rest hang
		healthyEvents = 50
		hang          = 5 * time.Second
		within        = 3 * time.Second
	)

	release := make(chan struct{})
	var slowStarted, slowInFlight, slowMaxInFlight atomic.Int32
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slowStarted.Add(1) <= fastFirst {
			w.WriteHeader(200)
			return
		}
		n := slowInFlight.Add(1)
		defer slowInFlight.Add(-1)
		for {
			m := slowMaxInFlight.Load()
			if n <= m || slowMaxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-time.After(hang):
		case <-r.Context().Done():
		case <-release:
		}
		w.WriteHeader(200)
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) }) // runs first: frees the hanging handlers

	var mu sync.Mutex
	arrived := map[int]time.Time{}
	healthy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct{ N int }
		err := json.NewDecoder(r.Body).Decode(&body)
		mu.Lock()
		if _, seen := arrived[body.N]; err == nil && !seen {
			arrived[body.N] = time.Now()
		}
		mu.Unlock()
		w.WriteHeader(200)
	}))
	t.Cleanup(healthy.Close)

	var group resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "isolation", "config": map[string]any{
		"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 1},
	}}, &group)
	G := "/api/v1/groups/" + group.UID
	var slowApp, healthyApp resource
	s.must(201, "POST", G+"/applications", map[string]any{"name": "slow"}, &slowApp)
	s.must(201, "POST", G+"/applications", map[string]any{"name": "healthy"}, &healthyApp)
	for i := range slowEndpoints {
		s.must(201, "POST", G+"/applications/"+slowApp.UID+"/endpoints",
			map[string]any{"url": fmt.Sprintf("%s/%d", slow.URL, i), "http_timeout": "10s"}, nil)
	}
	s.must(201, "POST", G+"/applications/"+healthyApp.UID+"/endpoints", map[string]any{"url": healthy.URL}, nil)
	send := func(appID string, n int) {
		s.must(201, "POST", G+"/events", map[string]any{"app_id": appID, "event_type": "invoice.paid", "data": map[string]int{"n": n}}, nil)
	}

	for i := range slowEvents {
		send(slowApp.UID, i)
	}
	eventually(t, 30*time.Second, "the slow endpoints to be hanging", func() bool { return slowInFlight.Load() >= slowEndpoints })

	// A producer at 20 events/s.
	sent := make(map[int]time.Time, healthyEvents)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for i := range healthyEvents {
		<-tick.C
		sent[i] = time.Now()
		send(healthyApp.UID, i)
	}
	eventually(t, 30*time.Second, "every healthy event to arrive", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(arrived) == healthyEvents
	})
	slowAtEnd := slowStarted.Load()

	mu.Lock()
	defer mu.Unlock()
	var worst time.Duration
	late := 0
	for i, at := range sent {
		took := arrived[i].Sub(at)
		worst = max(worst, took)
		if took > within {
			late++
		}
	}
	t.Logf("healthy endpoint: worst %s; slow endpoints: %d requests started by then, at most %d in flight",
		worst, slowAtEnd, slowMaxInFlight.Load())
	if late > 0 {
		t.Errorf("%d of %d healthy events took over %s (worst %s)", late, healthyEvents, within, worst)
	}
	// The contention was real: the slow backlog was still there when the
	// last healthy event arrived.
	if slowAtEnd >= slowEndpoints*slowEvents {
		t.Errorf("the slow endpoints had all %d attempts started before the healthy run ended: no contention", slowAtEnd)
	}
}
