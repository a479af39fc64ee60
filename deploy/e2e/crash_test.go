package e2e

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"
)

// While events flow, every service is killed with SIGKILL in turn and
// restarted. Every event the gateway acknowledged must reach the receiver at
// least once, and no delivery may be left stuck.
func TestCrashEveryServiceLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test takes about a minute")
	}
	interruptEveryService(t, syscall.SIGKILL)
}

// The same with SIGTERM: each service stops taking work, finishes or hands
// back what it holds, and exits 0 within its shutdown timeout.
func TestGracefulShutdownMidRunLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("shutdown test takes about a minute")
	}
	interruptEveryService(t, syscall.SIGTERM)
}

// interruptEveryService sends sig to each service in turn while events flow,
// restarts it, and checks that nothing acknowledged was lost.
func interruptEveryService(t *testing.T, sig syscall.Signal) {
	s := startStack(t, "CONVOY_DISPATCH_ACK_WAIT=10s", "CONVOY_SWEEP_INTERVAL=1s", "CONVOY_SWEEP_GRACE=3s")

	var mu sync.Mutex
	arrivals := map[string]int{} // event id → deliveries received
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		// A flaky endpoint: one answer in five fails, so retries are in
		// flight while processes die.
		if rand.IntN(5) == 0 {
			w.WriteHeader(500)
			return
		}
		mu.Lock()
		arrivals[r.Header.Get("X-Convoy-Event-ID")]++
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 20}}, recv.URL)

	// Producers post events for the whole run; what was accepted must arrive.
	o := offer(s, group.UID, app.UID, 4, 10*time.Millisecond)
	for _, name := range []string{"dispatcher-service", "ingest-service", "scheduler-service", "api-gateway", "dispatcher-service"} {
		time.Sleep(time.Duration(2000+rand.IntN(2000)) * time.Millisecond)
		if sig == syscall.SIGTERM {
			exit, took := s.stopTimed(name, sig)
			t.Logf("SIGTERM %s: exited in %v (%v)", name, took.Round(time.Millisecond), exit)
			if exit != nil || took > 7*time.Second {
				t.Errorf("%s on SIGTERM: exit %v after %v; want a clean exit within its 5s shutdown timeout", name, exit, took)
			}
			s.start(name)
			continue
		}
		t.Logf("kill -9 %s", name)
		s.restart(name, sig)
	}
	time.Sleep(2 * time.Second)
	accepted := o.finish()
	codes := o.total()
	t.Logf("%d events accepted; answers %v", len(accepted), codes)
	for code, n := range codes {
		if code != 201 && code < 500 {
			t.Errorf("%d events answered %d", n, code)
		}
	}
	if len(accepted) < 500 {
		t.Fatalf("only %d events accepted; the run is too small to mean anything", len(accepted))
	}

	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, id := range accepted {
			if arrivals[id] == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(90 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("%d of %d acknowledged events never reached the receiver, e.g. %v", len(m), len(accepted), m[:min(5, len(m))])
	}
	dups := 0
	mu.Lock()
	for _, id := range accepted {
		dups += arrivals[id] - 1
	}
	mu.Unlock()
	t.Logf("all %d acknowledged events delivered; %d duplicate deliveries", len(accepted), dups)

	// Nothing stuck: every delivery is final, or has its next attempt ahead.
	stuck := checkNothingStuck(t, s, group.UID)
	if len(stuck) > 0 {
		t.Fatalf("%d deliveries stuck: %v", len(stuck), stuck[:min(5, len(stuck))])
	}
}

// checkNothingStuck lists the deliveries of a group that are not final and
// returns those whose next attempt is not ahead of them.
func checkNothingStuck(t *testing.T, s *stack, groupID string) []string {
	t.Helper()
	var stuck []string
	cursor := ""
	now := time.Now()
	for {
		var p struct {
			Content    []delivery `json:"content"`
			Pagination struct {
				HasNext bool   `json:"has_next_page"`
				Next    string `json:"next_page_cursor"`
			} `json:"pagination"`
		}
		s.must(200, "GET", "/api/v1/groups/"+groupID+"/eventdeliveries?status=Scheduled&status=Processing&status=Retry&per_page=100&next_page_cursor="+cursor, nil, &p)
		for _, d := range p.Content {
			if d.Metadata.NextSend != nil {
				if next, err := time.Parse(time.RFC3339Nano, *d.Metadata.NextSend); err == nil && next.After(now.Add(-5*time.Second)) {
					continue
				}
			}
			stuck = append(stuck, fmt.Sprintf("%s:%s", d.UID, d.Status))
		}
		if !p.Pagination.HasNext {
			return stuck
		}
		cursor = p.Pagination.Next
	}
}

// stopTimed signals a service and returns how it exited and how long it took.
func (s *stack) stopTimed(name string, sig syscall.Signal) (error, time.Duration) {
	cmd := s.procs[name]
	start := time.Now()
	_ = cmd.Process.Signal(sig)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		delete(s.procs, name)
		return err, time.Since(start)
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		delete(s.procs, name)
		return fmt.Errorf("still running after 30s"), time.Since(start)
	}
}
