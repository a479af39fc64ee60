package ratelimit

import (
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func newLimiters(t *testing.T, n int) []*Limiter {
	t.Helper()
	_, natsURL := embeddedtest.ForTest(t)
	var out []*Limiter
	for range n {
		nc, err := nats.Connect(natsURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(nc.Close)
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := EnsureBucket(t.Context(), js, 1)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, New(kv))
	}
	return out
}

// Two replicas share one limit: together they never get more permits in a
// window than the limit.
func TestReplicasShareOneLimit(t *testing.T) {
	limiters := newLimiters(t, 2)
	clock := time.Unix(1_700_000_000, 0)
	for _, l := range limiters {
		l.now = func() time.Time { return clock }
	}
	lim := Limit{Key: "ep1", Rate: 10, Window: time.Second}
	granted := 0
	// Both replicas ask every 10 ms for one second: together they get 10.
	for i := range 100 {
		ok, wait, err := limiters[i%2].Reserve(t.Context(), lim)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			granted++
		} else if wait <= 0 || wait > 100*time.Millisecond {
			t.Fatalf("denied with wait %v, want at most one interval (100ms)", wait)
		}
		clock = clock.Add(10 * time.Millisecond)
	}
	if granted != 10 {
		t.Fatalf("granted %d permits in one second, want exactly 10", granted)
	}
}

func TestEndpointsAreIndependent(t *testing.T) {
	l := newLimiters(t, 1)[0]
	a := Limit{Key: "a", Rate: 1, Window: time.Minute}
	b := Limit{Key: "b", Rate: 1, Window: time.Minute}
	if ok, _, _ := l.Reserve(t.Context(), a); !ok {
		t.Fatal("first permit for a denied")
	}
	if ok, _, _ := l.Reserve(t.Context(), a); ok {
		t.Fatal("second permit for a granted")
	}
	if ok, _, _ := l.Reserve(t.Context(), b); !ok {
		t.Fatal("b was limited by a's use")
	}
}

func TestLeaseSize(t *testing.T) {
	for _, tt := range []struct{ rate, want int }{{1, 1}, {10, 1}, {40, 2}, {5000, 100}, {1_000_000, 100}} {
		if got := leaseSize(tt.rate); got != tt.want {
			t.Errorf("leaseSize(%d) = %d, want %d", tt.rate, got, tt.want)
		}
	}
}

// 100 sends at 10 per second are paced one every 100 ms, so they take 9.9
// seconds, and no one-second span holds more than 10.
func TestSpacingNeverExceedsTheLimitInAnyWindow(t *testing.T) {
	limiters := newLimiters(t, 2)
	clock := time.Unix(1_700_000_000, 0)
	for _, l := range limiters {
		l.now = func() time.Time { return clock }
	}
	lim := Limit{Key: "ep", Rate: 10, Window: time.Second}
	var granted []time.Time
	for i := 0; len(granted) < 100; i++ {
		ok, wait, err := limiters[i%2].Reserve(t.Context(), lim)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			granted = append(granted, clock)
			continue
		}
		clock = clock.Add(wait)
	}
	if took := granted[99].Sub(granted[0]); took < 9900*time.Millisecond || took > 10*time.Second {
		t.Fatalf("100 sends took %v, want 9.9s", took)
	}
	for i := range granted {
		j := i + 10
		if j < len(granted) && granted[j].Sub(granted[i]) < time.Second {
			t.Fatalf("11 sends within %v (sends %d..%d)", granted[j].Sub(granted[i]), i, j)
		}
	}
}
