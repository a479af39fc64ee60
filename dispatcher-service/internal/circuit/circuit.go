// Package circuit is the dispatcher's circuit breaker per endpoint. Each
// replica counts the outcomes of its own attempts over the group's window;
// when the failure rate crosses the threshold, the circuit opens for every
// replica at once, because its state lives in the shared endpoint health
// bucket (core/endpointhealth), which every replica watches. While open, no
// attempt is made; after the cooldown one replica takes the single probe
// (half-open), whose success closes the circuit and whose failure opens it
// again.
package circuit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"convoy/core/endpointhealth"
	"convoy/core/model"

	"github.com/nats-io/nats.go/jetstream"
)

// Breaker decides whether an endpoint may be attempted, and keeps the
// endpoint's shared health up to date.
type Breaker struct {
	kv  jetstream.KeyValue
	now func() time.Time

	mu     sync.Mutex
	states map[string]seen // as last seen in the bucket
	counts map[string]*tally
}

// seen is a state and its revision in the bucket. The watch and this
// replica's own writes both report states, in no set order: a slow write's
// answer may arrive after the watch brought a newer state, and must not
// replace it (a stale half-open would hold every attempt back until its
// probe lease ran out).
type seen struct {
	state    endpointhealth.State
	revision uint64
}

// New returns a breaker over the shared bucket; call Run to follow it.
func New(kv jetstream.KeyValue) *Breaker {
	return &Breaker{kv: kv, now: time.Now, states: map[string]seen{}, counts: map[string]*tally{}}
}

// Run follows the bucket until ctx ends, so that a circuit another replica
// opens stops this one's attempts within milliseconds, with no read per
// attempt.
func (b *Breaker) Run(ctx context.Context) error {
	for {
		err := b.watch(ctx)
		if ctx.Err() != nil {
			return nil
		}
		_ = err // the connection dropped: watch again
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

func (b *Breaker) watch(ctx context.Context) error {
	w, err := b.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch endpoint health: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("endpoint health watch closed")
			}
			if e == nil { // the initial values are all in
				continue
			}
			if e.Operation() == jetstream.KeyValuePut {
				if s, err := endpointhealth.Decode(e.Value()); err == nil {
					b.remember(e.Key(), s, e.Revision())
				}
			} else {
				b.mu.Lock()
				delete(b.states, e.Key())
				b.mu.Unlock()
			}
		}
	}
}

// State is the endpoint's health as this replica last saw it.
func (b *Breaker) State(endpointID string) endpointhealth.State {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.states[endpointID].state
}

// remember keeps s unless a newer revision is already known.
func (b *Breaker) remember(endpointID string, s endpointhealth.State, revision uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if known, ok := b.states[endpointID]; ok && known.revision > revision {
		return
	}
	b.states[endpointID] = seen{state: s, revision: revision}
}

// Decision says whether to attempt now.
type Decision struct {
	Allow bool
	// Probe: this attempt is the half-open probe; its outcome decides.
	Probe bool
	// Until, when not allowed, is when to ask again.
	Until time.Time
}

// Check decides for one attempt. probeHold is how long a probe may take
// (the endpoint's timeout and a margin) before another replica may probe.
func (b *Breaker) Check(ctx context.Context, endpointID string, cfg model.CircuitBreaker, probeHold time.Duration) (Decision, error) {
	cfg = cfg.WithDefaults()
	now := b.now()
	s := b.State(endpointID)
	if wait, ok := waiting(s, cfg, now); ok {
		return Decision{Until: now.Add(wait)}, nil
	}
	if s.CircuitState() == endpointhealth.Closed {
		return Decision{Allow: true}, nil
	}
	// Open past its cooldown, or half-open with a lapsed probe: take the
	// probe, unless another replica takes it first.
	probe := false
	got, rev, err := endpointhealth.Update(ctx, b.kv, endpointID, func(cur *endpointhealth.State) error {
		probe = false
		if cur.CircuitState() == endpointhealth.Closed {
			return endpointhealth.ErrUnchanged
		}
		if _, ok := waiting(*cur, cfg, now); ok {
			return endpointhealth.ErrUnchanged
		}
		until := now.Add(probeHold)
		cur.Circuit, cur.ProbeUntil, probe = endpointhealth.HalfOpen, &until, true
		return nil
	})
	if err != nil {
		return Decision{}, err
	}
	b.remember(endpointID, got, rev)
	switch {
	case probe:
		return Decision{Allow: true, Probe: true}, nil
	case got.CircuitState() == endpointhealth.Closed:
		return Decision{Allow: true}, nil
	}
	wait, _ := waiting(got, cfg, now)
	return Decision{Until: now.Add(max(wait, time.Second))}, nil
}

// waiting reports whether s holds attempts back at now, and for how long.
func waiting(s endpointhealth.State, cfg model.CircuitBreaker, now time.Time) (time.Duration, bool) {
	switch s.CircuitState() {
	case endpointhealth.Open:
		if s.OpenedAt != nil {
			if reopen := s.OpenedAt.Add(cfg.Cooldown); now.Before(reopen) {
				return reopen.Sub(now), true
			}
		}
	case endpointhealth.HalfOpen:
		if s.ProbeUntil != nil && now.Before(*s.ProbeUntil) {
			// Someone is probing: ask again soon, but not in a spin.
			return min(s.ProbeUntil.Sub(now), 5*time.Second), true
		}
	}
	return 0, false
}

// Change is what an outcome did to the endpoint's shared health.
type Change struct {
	// Opened or Closed: the circuit moved (a failed probe re-opening a
	// circuit is neither).
	Opened, Closed bool
	State          endpointhealth.State
	// OpenedAt and FailureRate, when Closed, are those of the open spell
	// that just ended.
	OpenedAt    *time.Time
	FailureRate float64
}

// Observe folds one attempt's outcome in: the local window, the failure
// run, and the circuit's state. It writes to the bucket only when
// something changes: never for a success of a healthy endpoint.
func (b *Breaker) Observe(ctx context.Context, endpointID string, cfg model.CircuitBreaker, success, probe bool) (Change, error) {
	cfg = cfg.WithDefaults()
	now := b.now()
	total, failed := b.count(endpointID, cfg.Window, success, now)
	known := b.State(endpointID)
	trips := !success && total >= int(cfg.MinRequests) && failed*100 >= int(cfg.FailureThreshold)*total
	if success && !probe && known.ConsecutiveFailures == 0 && known.CircuitState() == endpointhealth.Closed {
		return Change{State: known}, nil
	}
	var ch Change
	got, rev, err := endpointhealth.Update(ctx, b.kv, endpointID, func(s *endpointhealth.State) error {
		ch = Change{}
		if success {
			if s.ConsecutiveFailures == 0 && s.CircuitState() == endpointhealth.Closed {
				return endpointhealth.ErrUnchanged
			}
			s.ConsecutiveFailures = 0
		} else {
			s.ConsecutiveFailures++
		}
		state := s.CircuitState()
		switch {
		case probe && success && state != endpointhealth.Closed:
			ch.OpenedAt, ch.FailureRate = s.OpenedAt, s.FailureRate
			s.Circuit, s.OpenedAt, s.ProbeUntil, s.FailureRate = endpointhealth.Closed, nil, nil, 0
			ch.Closed = true
		case probe && !success:
			s.Circuit, s.OpenedAt, s.ProbeUntil = endpointhealth.Open, &now, nil
		case trips && state == endpointhealth.Closed:
			s.Circuit, s.OpenedAt, s.ProbeUntil = endpointhealth.Open, &now, nil
			s.FailureRate = float64(failed) / float64(total)
			ch.Opened = true
		}
		return nil
	})
	if err != nil {
		return Change{}, err
	}
	if ch.Closed {
		b.reset(endpointID)
	}
	b.remember(endpointID, got, rev)
	ch.State = got
	return ch, nil
}

// tally counts one endpoint's attempts on this replica over the window, in
// ten slices, so that old outcomes fall out without keeping each one.
type tally struct {
	slice    time.Duration
	start    time.Time // of slots[head]
	head     int
	attempts [10]int
	failures [10]int
}

func (b *Breaker) count(endpointID string, window time.Duration, success bool, now time.Time) (total, failed int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.counts[endpointID]
	if !ok || t.slice != window/10 {
		t = &tally{slice: max(window/10, time.Millisecond), start: now}
		b.counts[endpointID] = t
	}
	t.advance(now)
	t.attempts[t.head]++
	if !success {
		t.failures[t.head]++
	}
	for i := range t.attempts {
		total += t.attempts[i]
		failed += t.failures[i]
	}
	return total, failed
}

// advance moves the head to the slice holding now, clearing the slices it
// passes.
func (t *tally) advance(now time.Time) {
	for steps := 0; now.Sub(t.start) >= t.slice; steps++ {
		if steps >= len(t.attempts) { // idle for a whole window
			t.attempts, t.failures = [10]int{}, [10]int{}
			t.start = now
			return
		}
		t.head = (t.head + 1) % len(t.attempts)
		t.attempts[t.head], t.failures[t.head] = 0, 0
		t.start = t.start.Add(t.slice)
	}
}

// reset forgets the local window once the circuit closes, so the outcomes
// that opened it do not open it again at once.
func (b *Breaker) reset(endpointID string) {
	b.mu.Lock()
	delete(b.counts, endpointID)
	b.mu.Unlock()
}
