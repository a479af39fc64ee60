// Package ratelimit enforces each endpoint's rate limit across every
// dispatcher replica at once.
//
// Sends are paced, not bunched: an endpoint allowed `rate` sends per
// `window` gets one send every window/rate (a cell rate algorithm without
// burst), so no span of one window, wherever it starts, holds more than
// `rate` of them; idle time is not banked. The one number this needs, when
// the next send is due, lives in a JetStream KV bucket that all replicas
// update by compare-and-set. To keep a KV round trip off most sends at high
// rates, a replica takes permits in small leases (a twentieth of the limit,
// at most 100; one at a time for slow limits) and spends them at once, so at
// high rates sends come in small bunches of one lease; a lease not spent
// within a window is dropped, so an endpoint may get slightly fewer sends
// than its limit, never more.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket holding window counts.
const Bucket = "convoy_ratelimit"

// Limit is one endpoint's limit.
type Limit struct {
	Key    string // the endpoint id
	Rate   int    // sends per window
	Window time.Duration
}

// Limiter hands out send permits.
type Limiter struct {
	kv  jetstream.KeyValue
	now func() time.Time

	mu     sync.Mutex
	leases map[string]*lease
}

type lease struct {
	mu      sync.Mutex
	tokens  int
	expires time.Time
}

// EnsureBucket creates the shared bucket (idempotent). An endpoint idle for
// a day loses its state, which is the same as a fresh start.
func EnsureBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   Bucket,
		History:  1,
		TTL:      25 * time.Hour,
		Storage:  jetstream.FileStorage,
		Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure rate limit bucket: %w", err)
	}
	return kv, nil
}

// New returns a limiter over kv.
func New(kv jetstream.KeyValue) *Limiter {
	return &Limiter{kv: kv, now: time.Now, leases: map[string]*lease{}}
}

// Reserve takes one send permit for l. When none is free it returns false
// and how long until the next one is.
func (r *Limiter) Reserve(ctx context.Context, l Limit) (ok bool, wait time.Duration, err error) {
	now := r.now()
	ls := r.lease(l.Key)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.tokens > 0 && now.Before(ls.expires) {
		ls.tokens--
		return true, 0, nil
	}
	got, wait, err := r.take(ctx, l, now)
	if err != nil || got == 0 {
		return false, wait, err
	}
	ls.tokens, ls.expires = got-1, now.Add(l.Window)
	return true, 0, nil
}

func (r *Limiter) lease(key string) *lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	ls, ok := r.leases[key]
	if !ok {
		ls = &lease{}
		r.leases[key] = ls
	}
	return ls
}

// leaseSize is how many permits a replica takes at once.
func leaseSize(rate int) int { return max(1, min(rate/20, 100)) }

// take moves up to leaseSize permits from the shared state to this replica.
// It returns how many it got and, when none, how long until one is free.
func (r *Limiter) take(ctx context.Context, l Limit, now time.Time) (int, time.Duration, error) {
	interval := l.Window / time.Duration(l.Rate)
	for range 50 {
		entry, err := r.kv.Get(ctx, l.Key)
		var rev uint64
		tat := now
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, 0, fmt.Errorf("read rate state: %w", err)
		default:
			rev = entry.Revision()
			if ns, perr := strconv.ParseInt(string(entry.Value()), 10, 64); perr == nil && ns > now.UnixNano() {
				tat = time.Unix(0, ns)
			}
		}
		if tat.After(now) {
			return 0, tat.Sub(now), nil
		}
		got := leaseSize(l.Rate)
		next := []byte(strconv.FormatInt(tat.Add(time.Duration(got)*interval).UnixNano(), 10))
		if rev == 0 {
			_, err = r.kv.Create(ctx, l.Key, next)
		} else {
			_, err = r.kv.Update(ctx, l.Key, next, rev)
		}
		if err == nil {
			return got, 0, nil
		}
		// Lost a compare-and-set race with another replica: read again.
	}
	return 0, 0, errors.New("rate state contended: gave up after 50 tries")
}
