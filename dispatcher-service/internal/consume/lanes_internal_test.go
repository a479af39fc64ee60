package consume

import (
	"testing"
	"time"
)

// The bookkeeping of one endpoint's lane and the two pools, step by step.
func TestLanes(t *testing.T) {
	l := newLanes(lanesOptions{workers: 8, perEndpoint: 4, slowAfter: time.Second})
	now := time.Unix(1_700_000_000, 0)
	held := func() int { l.mu.Lock(); defer l.mu.Unlock(); return l.held }
	if n := l.reserve(t.Context()); n != 8 || held() != 8 {
		t.Fatalf("a fetch reserved %d workers, held %d", n, held())
	}
	l.release(5) // the fetch returned 3 tasks

	a, b, c := newJob("ep"), newJob("ep"), newJob("ep")
	if v := l.offer(a, now); v.kind != start {
		t.Fatalf("first task: %+v", v)
	}
	if v := l.offer(b, now); v.kind != park {
		t.Fatalf("second task, window 1: %+v", v)
	}
	if v := l.offer(c, now); v.kind != handBack {
		t.Fatalf("third task, one parked already: %+v", v)
	}
	l.done(c)
	if held() != 2 {
		t.Fatalf("held %d workers, want 2 (one attempting, one parked)", held())
	}

	// A fast success grows the window and starts the parked task.
	l.leave(a, fastSuccess, time.Millisecond, true, now)
	l.done(a)
	if k := <-b.wake; k != start {
		t.Fatalf("parked task woke with %v", k)
	}
	if got := l.lanes["ep"].win.limit(); got != 2 {
		t.Fatalf("window %d after a fast success, want 2", got)
	}

	// An attempt that outlasts slowAfter leaves its worker to the slow pool,
	// and the endpoint now counts as slow: new tasks start in the slow pool.
	l.outlasted(b)
	if held() != 0 || l.slowHeld != 1 {
		t.Fatalf("after outlasting: held %d, slow %d", held(), l.slowHeld)
	}
	d := newJob("ep")
	l.reserve(t.Context())
	l.release(7)
	if v := l.offer(d, now); v.kind != start || !v.slow || held() != 0 || l.slowHeld != 2 {
		t.Fatalf("task of a slow endpoint: %+v, held %d, slow %d", v, held(), l.slowHeld)
	}
	l.leave(b, slowSuccess, 3*time.Second, true, now)
	l.done(b)
	l.leave(d, neutral, 0, false, now)
	l.done(d)
	if held() != 0 || l.slowHeld != 0 || l.lanes["ep"].inFlight != 0 {
		t.Fatalf("all done: held %d, slow %d, in flight %d", held(), l.slowHeld, l.lanes["ep"].inFlight)
	}

	// Parked tasks of an endpoint that turned slow are taken out.
	fast := newJob("other")
	l.reserve(t.Context())
	l.release(6)
	l.offer(fast, now)
	waiting := newJob("other")
	if v := l.offer(waiting, now); v.kind != park {
		t.Fatalf("second task of another endpoint: %+v", v)
	}
	if out := l.expired(now.Add(100 * time.Millisecond)); len(out) != 0 {
		t.Fatalf("expired %d tasks before maxPark", len(out))
	}
	if out := l.expired(now.Add(time.Second)); len(out) != 1 || out[0] != waiting {
		t.Fatalf("after maxPark: %d tasks out", len(out))
	}
}
