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
	fixed := time.Unix(1_700_000_000, 0)
	for _, l := range limiters {
		l.now = func() time.Time { return fixed }
	}
	lim := Limit{Key: "ep1", Rate: 10, Window: time.Second}
	granted := 0
	for i := range 40 {
		ok, wait, err := limiters[i%2].Reserve(t.Context(), lim)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			granted++
		} else if wait <= 0 || wait > time.Second {
			t.Fatalf("denied with wait %v, want within the window", wait)
		}
	}
	if granted != 10 {
		t.Fatalf("granted %d permits in one window, want exactly 10", granted)
	}
	// The next window starts afresh.
	for _, l := range limiters {
		l.now = func() time.Time { return fixed.Add(time.Second) }
	}
	if ok, _, err := limiters[0].Reserve(t.Context(), lim); err != nil || !ok {
		t.Fatalf("next window: ok=%v err=%v", ok, err)
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
