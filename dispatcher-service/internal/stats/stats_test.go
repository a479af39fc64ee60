package stats_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/endpointstats"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/stats"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// fakeStore keeps what it was given; it takes only the first `take` updates
// of each call while failing is set.
type fakeStore struct {
	mu      sync.Mutex
	calls   [][]store.StatsUpdate
	failing bool
	take    int
}

func (f *fakeStore) AddEndpointStats(_ context.Context, updates []store.StatsUpdate) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := len(updates)
	var err error
	if f.failing {
		n, err = min(f.take, n), errors.New("store down")
	}
	f.calls = append(f.calls, append([]store.StatsUpdate(nil), updates[:n]...))
	return n, err
}

// totals sums every update the store took, per endpoint.
func (f *fakeStore) totals() map[string]*endpointstats.Cell {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]*endpointstats.Cell{}
	for _, call := range f.calls {
		for _, u := range call {
			c := out[u.EndpointID]
			if c == nil {
				c = &endpointstats.Cell{}
				out[u.EndpointID] = c
			}
			for _, s := range u.Slots {
				c.Merge(s)
			}
		}
	}
	return out
}

func (f *fakeStore) updates() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += len(c)
	}
	return n
}

var t0 = time.Date(2026, 12, 1, 23, 58, 0, 0, time.UTC)

// Many attempts become one update per endpoint and day, with each attempt in
// its slot under its outcome; the dispatcher's kinds map to the three outcomes.
func TestFlushAggregates(t *testing.T) {
	st := &fakeStore{}
	a := stats.New(st, stats.Options{}, prometheus.NewRegistry(), zap.NewNop())
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				kind := []string{"success", "http_error", "redirect", "timeout", "refused", "error"}[(w+i)%6]
				a.Observe("g", "ep-a", kind, 20*time.Millisecond, t0)
			}
		})
	}
	wg.Wait()
	a.Observe("g", "ep-a", "success", time.Second, t0.Add(3*time.Minute)) // the next UTC day
	a.Observe("g", "ep-b", "failure", time.Second, t0)
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(st.calls) != 1 || len(st.calls[0]) != 3 {
		t.Fatalf("store calls %v, want one call of 3 updates (ep-a twice, ep-b once)", st.calls)
	}
	first := st.calls[0][0]
	if first.EndpointID != "ep-a" || !first.Day.Equal(endpointstats.Day(t0)) || first.GroupID != "g" {
		t.Fatalf("first update %+v, want ep-a's of the first day (updates go day by day)", first)
	}
	c := first.Slots[endpointstats.Slot(t0)]
	if c == nil || len(first.Slots) != 1 {
		t.Fatalf("slots %v, want only slot %d", first.Slots, endpointstats.Slot(t0))
	}
	// Of every 6 kinds, 1 success, 1 timeout, 4 failures.
	if c.Success != 8000/6+1 && c.Success != 8000/6 || c.Timeout < 1333 || c.Failure < 5332 || c.Attempts() != 8000 {
		t.Errorf("counts %d/%d/%d of %d, want 1:4:1 of 8000", c.Success, c.Failure, c.Timeout, c.Attempts())
	}
	if c.Latency[endpointstats.Bin(20*time.Millisecond)] != 8000 {
		t.Errorf("latency histogram %v, want 8000 in the 20 ms bin", c.Latency)
	}
	if !first.LastSuccessAt.Equal(t0) || !first.LastFailureAt.Equal(t0) {
		t.Errorf("last outcomes %v / %v", first.LastSuccessAt, first.LastFailureAt)
	}
	if u := st.calls[0][1]; u.EndpointID != "ep-b" || !u.LastSuccessAt.IsZero() || u.LastFailureAt.IsZero() {
		t.Errorf("ep-b's update %+v, want a failure only", u)
	}

	// Nothing new: no write at all.
	if err := a.Flush(t.Context()); err != nil || len(st.calls) != 1 {
		t.Errorf("empty flush wrote: %v, %d calls", err, len(st.calls))
	}
}

// What the store did not take is written by a later flush, exactly once.
func TestFlushKeepsWhatFailed(t *testing.T) {
	st := &fakeStore{failing: true, take: 1}
	a := stats.New(st, stats.Options{}, prometheus.NewRegistry(), zap.NewNop())
	for _, ep := range []string{"ep-1", "ep-2", "ep-3"} {
		a.Observe("g", ep, "success", time.Millisecond, t0)
	}
	if err := a.Flush(t.Context()); err == nil {
		t.Fatal("flush against a failing store answered nil")
	}
	a.Observe("g", "ep-3", "timeout", time.Millisecond, t0)
	st.failing = false
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := st.totals()
	for ep, want := range map[string]int64{"ep-1": 1, "ep-2": 1, "ep-3": 2} {
		if got[ep] == nil || got[ep].Attempts() != want {
			t.Errorf("%s: %v attempts stored, want %d", ep, got[ep], want)
		}
	}
}

// While the store is down for long, the aggregator's memory stays bounded:
// attempts of endpoint-days beyond the bound are dropped and counted.
func TestPendingIsBounded(t *testing.T) {
	st := &fakeStore{}
	reg := prometheus.NewRegistry()
	a := stats.New(st, stats.Options{MaxPending: 2}, reg, zap.NewNop())
	for _, ep := range []string{"ep-1", "ep-2", "ep-3", "ep-1"} {
		a.Observe("g", ep, "success", time.Millisecond, t0)
	}
	if err := a.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := st.updates(); n != 2 {
		t.Errorf("%d updates, want 2", n)
	}
	if got := dropped(t, reg); got != 1 {
		t.Errorf("dropped = %v, want 1", got)
	}
}

// dropped reads the one counter the aggregator registers.
func dropped(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil || len(mfs) != 1 || mfs[0].GetName() != "convoy_endpoint_stats_dropped_total" {
		t.Fatalf("registry holds %v (%v)", mfs, err)
	}
	return mfs[0].GetMetric()[0].GetCounter().GetValue()
}

// Against the embedded store: Run flushes on its interval and once more at
// shutdown, and two aggregators (two replicas) add up exactly.
func TestRunFlushesToTheStore(t *testing.T) {
	mongoURI, _ := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), mongoURI, "convoy_stats_test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatal(err)
	}

	ctx, stop := context.WithCancel(t.Context())
	replicas := []*stats.Aggregator{
		stats.New(st, stats.Options{Interval: 50 * time.Millisecond}, prometheus.NewRegistry(), zap.NewNop()),
		stats.New(st, stats.Options{Interval: time.Hour}, prometheus.NewRegistry(), zap.NewNop()), // flushes only at shutdown
	}
	done := make(chan error, len(replicas))
	for _, a := range replicas {
		go func() { done <- a.Run(ctx) }()
	}
	now := time.Now().UTC()
	for i := range 30 {
		replicas[i%2].Observe("g", "ep-run", []string{"success", "http_error", "timeout"}[i%3], 5*time.Millisecond, now)
	}

	read := func() *endpointstats.Cell {
		days, err := st.EndpointStatsDays(t.Context(), "ep-run", now, now)
		if err != nil {
			t.Fatal(err)
		}
		if len(days) == 0 {
			return &endpointstats.Cell{}
		}
		return days[0].Slots[endpointstats.Slot(now)]
	}
	deadline := time.Now().Add(10 * time.Second)
	for c := read(); c == nil || c.Attempts() < 15; c = read() {
		if time.Now().After(deadline) {
			t.Fatalf("the interval flush never stored the first replica's 15 attempts: %+v", c)
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	for range replicas {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	c := read()
	if c == nil || c.Success != 10 || c.Failure != 10 || c.Timeout != 10 {
		t.Fatalf("after shutdown: %+v, want 10 of each outcome", c)
	}
	if p50, ok := c.Percentile(0.5); !ok || p50 < 5 || p50 > 6 {
		t.Errorf("p50 = %v ms, want the 5 ms bin", p50)
	}
	succ, fail, err := st.EndpointLastOutcomes(t.Context(), "ep-run")
	if err != nil || succ == nil || fail == nil || !succ.Equal(now.Truncate(time.Millisecond)) {
		t.Errorf("last outcomes %v / %v (%v), want %v", succ, fail, err, now)
	}
}

// The hot path's cost: one Observe per attempt, from many workers.
func BenchmarkObserve(b *testing.B) {
	a := stats.New(&fakeStore{}, stats.Options{}, prometheus.NewRegistry(), zap.NewNop())
	eps := []string{"ep-1", "ep-2", "ep-3", "ep-4"}
	now := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			a.Observe("g", eps[i%len(eps)], "success", 12*time.Millisecond, now)
			i++
		}
	})
}
