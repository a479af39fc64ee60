// Package stats counts every attempt for the endpoint stats API without
// touching the store on the hot path: attempts are added up in memory per
// endpoint and 5-minute slot, and flushed every few seconds (and at
// shutdown) as one upsert per endpoint and UTC day. Each replica adds its
// own counts, so totals are exact across replicas.
package stats

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"convoy/core/endpointstats"
	"convoy/core/store"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

// Store adds counts to the stored statistics and reports how many leading
// updates it applied.
type Store interface {
	AddEndpointStats(ctx context.Context, updates []store.StatsUpdate) (int, error)
}

// Options tune the aggregator; zero values take the defaults noted.
type Options struct {
	// Interval is how often counts are flushed. Default 5s.
	Interval time.Duration
	// MaxPending bounds the endpoint-days held while the store is down;
	// attempts beyond it are not counted (and counted as dropped). Default
	// 50,000.
	MaxPending int
	// FlushTimeout bounds the last flush at shutdown. Default 5s.
	FlushTimeout time.Duration
}

type key struct {
	endpointID string
	day        time.Time
}

// Aggregator counts attempts and flushes them. It is safe for concurrent use.
type Aggregator struct {
	store   Store
	opts    Options
	log     *zap.Logger
	dropped prometheus.Counter

	mu      sync.Mutex
	pending map[key]*store.StatsUpdate
}

// New returns an Aggregator; call Run to flush. It counts attempts it had
// to drop on reg.
func New(st Store, opts Options, reg prometheus.Registerer, log *zap.Logger) *Aggregator {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 50_000
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = 5 * time.Second
	}
	dropped := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "convoy_endpoint_stats_dropped_total",
		Help: "Attempts left out of the endpoint stats because the store could not take them for too long.",
	})
	reg.MustRegister(dropped)
	return &Aggregator{store: st, opts: opts, log: log, dropped: dropped, pending: map[key]*store.StatsUpdate{}}
}

// Observe counts one attempt of an endpoint: outcome is the dispatcher's
// attempt kind (success, http_error, redirect, timeout, refused, error) or
// one of the stats outcomes (success, failure, timeout); latency is how long
// the attempt took and at when it started.
func (a *Aggregator) Observe(groupID, endpointID, outcome string, latency time.Duration, at time.Time) {
	at = at.UTC()
	k := key{endpointID: endpointID, day: endpointstats.Day(at)}
	slot := endpointstats.Slot(at)
	outcome = endpointstats.Outcome(outcome)

	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.pending[k]
	if !ok {
		if len(a.pending) >= a.opts.MaxPending {
			a.dropped.Inc()
			return
		}
		u = &store.StatsUpdate{EndpointID: endpointID, GroupID: groupID, Day: k.day, Slots: map[int]*endpointstats.Cell{}}
		a.pending[k] = u
	}
	c, ok := u.Slots[slot]
	if !ok {
		c = &endpointstats.Cell{}
		u.Slots[slot] = c
	}
	c.Add(outcome, latency)
	if outcome == endpointstats.Success {
		if at.After(u.LastSuccessAt) {
			u.LastSuccessAt = at
		}
	} else if at.After(u.LastFailureAt) {
		u.LastFailureAt = at
	}
}

// Run flushes every Interval until ctx ends, then flushes what is left.
func (a *Aggregator) Run(ctx context.Context) error {
	tick := time.NewTicker(a.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.opts.FlushTimeout)
			defer cancel()
			if err := a.Flush(fctx); err != nil {
				a.log.Warn("endpoint stats lost at shutdown", zap.Error(err))
			}
			return nil
		case <-tick.C:
			if err := a.Flush(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("flush endpoint stats: kept for the next flush", zap.Error(err))
			}
		}
	}
}

// Flush writes the counts gathered so far. What the store did not take is
// kept and added to the next flush.
func (a *Aggregator) Flush(ctx context.Context) error {
	a.mu.Lock()
	taken := a.pending
	a.pending = map[key]*store.StatsUpdate{}
	a.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	updates := make([]store.StatsUpdate, 0, len(taken))
	for _, u := range taken {
		updates = append(updates, *u)
	}
	// One day after another: the store writes each day's in one command.
	slices.SortFunc(updates, func(x, y store.StatsUpdate) int {
		if c := x.Day.Compare(y.Day); c != 0 {
			return c
		}
		return strings.Compare(x.EndpointID, y.EndpointID)
	})
	n, err := a.store.AddEndpointStats(ctx, updates)
	if err != nil {
		a.keep(updates[n:])
	}
	return err
}

// keep merges updates the store did not take back into the pending counts.
func (a *Aggregator) keep(updates []store.StatsUpdate) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range updates {
		u := &updates[i]
		k := key{endpointID: u.EndpointID, day: u.Day}
		cur, ok := a.pending[k]
		if !ok {
			a.pending[k] = u
			continue
		}
		for slot, c := range u.Slots {
			if have, ok := cur.Slots[slot]; ok {
				have.Merge(c)
			} else {
				cur.Slots[slot] = c
			}
		}
		if u.LastSuccessAt.After(cur.LastSuccessAt) {
			cur.LastSuccessAt = u.LastSuccessAt
		}
		if u.LastFailureAt.After(cur.LastFailureAt) {
			cur.LastFailureAt = u.LastFailureAt
		}
	}
}
