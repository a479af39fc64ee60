package circuit

import (
	"sync"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/endpointhealth"
	"convoy/core/model"

	"github.com/nats-io/nats.go/jetstream"
)

func bucket(t *testing.T) jetstream.KeyValue {
	t.Helper()
	kv, err := endpointhealth.EnsureBucket(t.Context(), embeddedtest.JetStream(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// clock is a settable time shared by the breakers of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func breaker(t *testing.T, kv jetstream.KeyValue, c *clock) *Breaker {
	b := New(kv)
	b.now = c.now
	done := make(chan struct{})
	ctx := t.Context()
	go func() { _ = b.Run(ctx); close(done) }()
	t.Cleanup(func() { <-done })
	return b
}

var cfg = model.CircuitBreaker{FailureThreshold: 50, MinRequests: 4, Window: time.Minute, Cooldown: 30 * time.Second}

func observe(t *testing.T, b *Breaker, success, probe bool) Change {
	t.Helper()
	ch, err := b.Observe(t.Context(), "ep_1", cfg, success, probe)
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func check(t *testing.T, b *Breaker) Decision {
	t.Helper()
	d, err := b.Check(t.Context(), "ep_1", cfg, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// eventually waits until the watcher has brought b the state that want
// accepts.
func eventually(t *testing.T, b *Breaker, want func(endpointhealth.State) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !want(b.State("ep_1")) {
		if time.Now().After(deadline) {
			t.Fatalf("state %+v never came", b.State("ep_1"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The whole cycle, across two replicas: failures open the circuit for both,
// nothing is attempted during the cooldown, exactly one replica gets the
// probe, a failed probe reopens it and a successful one closes it.
func TestCircuitCycleAcrossReplicas(t *testing.T) {
	kv := bucket(t)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	a, b := breaker(t, kv, c), breaker(t, kv, c)

	// Below min_requests nothing opens, however bad the rate.
	for range 3 {
		if ch := observe(t, a, false, false); ch.Opened {
			t.Fatal("opened below min_requests")
		}
	}
	if ch := observe(t, a, true, false); ch.Opened || ch.State.ConsecutiveFailures != 0 {
		t.Fatalf("a success: %+v", ch)
	}
	// 4 failures of 5 is 80% >= 50%.
	ch := observe(t, a, false, false)
	if !ch.Opened || ch.State.CircuitState() != endpointhealth.Open || ch.State.FailureRate != 0.8 {
		t.Fatalf("after 4 of 5 failed: %+v", ch)
	}
	eventually(t, b, func(s endpointhealth.State) bool { return s.CircuitState() == endpointhealth.Open })
	for _, r := range []*Breaker{a, b} {
		if d := check(t, r); d.Allow || d.Until.Sub(c.now()) != 30*time.Second {
			t.Fatalf("open circuit allowed %+v", d)
		}
	}

	c.add(31 * time.Second)
	da, db := check(t, a), check(t, b)
	if da.Probe == db.Probe || !(da.Allow || db.Allow) || da.Allow && db.Allow {
		t.Fatalf("after the cooldown: %+v and %+v, want exactly one probe", da, db)
	}
	prober := a
	if db.Probe {
		prober = b
	}
	if ch := observe(t, prober, false, true); ch.Opened || ch.State.CircuitState() != endpointhealth.Open || !ch.State.OpenedAt.Equal(c.now()) {
		t.Fatalf("failed probe: %+v", ch)
	}
	eventually(t, a, func(s endpointhealth.State) bool { return s.CircuitState() == endpointhealth.Open })
	eventually(t, b, func(s endpointhealth.State) bool { return s.CircuitState() == endpointhealth.Open })
	if d := check(t, a); d.Allow {
		t.Fatal("allowed right after a failed probe")
	}

	c.add(31 * time.Second)
	d := check(t, a)
	if !d.Probe {
		t.Fatalf("second probe: %+v", d)
	}
	ch = observe(t, a, true, true)
	if !ch.Closed || ch.State.CircuitState() != endpointhealth.Closed || ch.State.ConsecutiveFailures != 0 || ch.OpenedAt == nil {
		t.Fatalf("successful probe: %+v", ch)
	}
	eventually(t, b, func(s endpointhealth.State) bool { return s.CircuitState() == endpointhealth.Closed })
	if d := check(t, b); !d.Allow || d.Probe {
		t.Fatalf("closed circuit: %+v", d)
	}
	// The failures that opened it are forgotten: one more does not reopen it.
	if ch := observe(t, a, false, false); ch.Opened {
		t.Fatal("reopened by the old window")
	}
}

// probing opens the circuit with replica a's failures and lets a take the
// probe after the cooldown; b is a second replica.
func probing(t *testing.T) (kv jetstream.KeyValue, c *clock, a, b *Breaker) {
	t.Helper()
	kv = bucket(t)
	c = &clock{t: time.Unix(1_700_000_000, 0)}
	a, b = breaker(t, kv, c), breaker(t, kv, c)
	for range 4 {
		observe(t, a, false, false)
	}
	c.add(31 * time.Second)
	if d := check(t, a); !d.Probe {
		t.Fatalf("probe: %+v", d)
	}
	return kv, c, a, b
}

// A probe whose replica died lapses, and another replica takes it.
func TestLapsedProbeIsTakenAgain(t *testing.T) {
	_, c, _, b := probing(t)
	eventually(t, b, func(s endpointhealth.State) bool { return s.CircuitState() == endpointhealth.HalfOpen })
	if d := check(t, b); d.Allow {
		t.Fatalf("second probe while the first runs: %+v", d)
	}
	c.add(11 * time.Second) // past probeHold
	if d := check(t, b); !d.Probe {
		t.Fatalf("lapsed probe not taken again: %+v", d)
	}
}

// A replica's answer from the bucket may come after its watch brought a
// newer state: the probe closed the circuit while this replica's check,
// which found it half-open, was on its way back. The late half-open must not
// replace the closed state, or the replica would hold every attempt back
// until the probe's lease ran out.
func TestLateAnswerDoesNotReplaceANewerState(t *testing.T) {
	kv, _, a, b := probing(t)
	halfOpen, rev, err := endpointhealth.Get(t.Context(), kv, "ep_1")
	if err != nil || halfOpen.CircuitState() != endpointhealth.HalfOpen {
		t.Fatalf("state %+v, %v; want half-open", halfOpen, err)
	}
	if ch := observe(t, a, true, true); !ch.Closed {
		t.Fatalf("successful probe: %+v", ch)
	}
	eventually(t, b, func(s endpointhealth.State) bool { return s.CircuitState() == endpointhealth.Closed })

	b.remember("ep_1", halfOpen, rev) // b's check answered late
	if got := b.State("ep_1"); got.CircuitState() != endpointhealth.Closed {
		t.Fatalf("state %+v after a late answer, want closed", got)
	}
	if d := check(t, b); !d.Allow {
		t.Fatalf("closed circuit held back: %+v", d)
	}
}

// The failure run counts across replicas and a success ends it; a healthy
// endpoint's successes write nothing.
func TestFailureRun(t *testing.T) {
	kv := bucket(t)
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	a, b := breaker(t, kv, c), breaker(t, kv, c)
	lenient := model.CircuitBreaker{MinRequests: 1000}
	for i, r := range []*Breaker{a, b, a} {
		ch, err := r.Observe(t.Context(), "ep_1", lenient, false, false)
		if err != nil || ch.State.ConsecutiveFailures != int64(i+1) {
			t.Fatalf("failure %d: %+v %v", i+1, ch, err)
		}
	}
	if ch, _ := b.Observe(t.Context(), "ep_1", lenient, true, false); ch.State.ConsecutiveFailures != 0 {
		t.Fatalf("after a success: %+v", ch)
	}
	eventually(t, a, func(s endpointhealth.State) bool { return s.ConsecutiveFailures == 0 })
	_, before, _ := endpointhealth.Get(t.Context(), kv, "ep_1")
	for range 5 {
		if _, err := a.Observe(t.Context(), "ep_1", lenient, true, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, after, _ := endpointhealth.Get(t.Context(), kv, "ep_1"); after != before {
		t.Fatalf("successes of a healthy endpoint wrote: revision %d -> %d", before, after)
	}
}

func TestTallyForgetsOutsideTheWindow(t *testing.T) {
	b := New(nil)
	now := time.Unix(1_700_000_000, 0)
	for range 5 {
		b.count("ep", time.Minute, false, now)
	}
	if total, failed := b.count("ep", time.Minute, true, now.Add(30*time.Second)); total != 6 || failed != 5 {
		t.Fatalf("within the window: %d/%d", failed, total)
	}
	if total, failed := b.count("ep", time.Minute, true, now.Add(65*time.Second)); total != 2 || failed != 0 {
		t.Fatalf("a minute later: %d/%d, want the old failures gone", failed, total)
	}
	if total, _ := b.count("ep", time.Minute, true, now.Add(time.Hour)); total != 1 {
		t.Fatalf("after an idle hour: %d", total)
	}
}
