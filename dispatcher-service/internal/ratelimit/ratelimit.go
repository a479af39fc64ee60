// Package ratelimit enforces each endpoint's rate limit across every
// dispatcher replica at once.
//
// Time is cut into fixed windows of the endpoint's rate_limit_duration. The
// count of sends in the current window lives in a JetStream KV bucket that
// all replicas share, updated by compare-and-set. To keep a KV round trip off
// most sends, a replica takes tokens in small leases (a twentieth of the
// limit, at most 100) and spends them locally; a lease left unspent when its
// window ends is lost, so an endpoint may get slightly fewer sends than its
// limit, never more.
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
	mu     sync.Mutex
	window int64 // window index the tokens belong to
	tokens int
}

// EnsureBucket creates the shared bucket (idempotent). Keys expire a day
// after their last write, well after their window ended.
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

// Reserve takes one send permit for l. When the window's limit is used up it
// returns false and how long to wait for the next window.
func (r *Limiter) Reserve(ctx context.Context, l Limit) (ok bool, wait time.Duration, err error) {
	now := r.now()
	win := now.UnixNano() / int64(l.Window)
	untilNext := time.Duration((win+1)*int64(l.Window) - now.UnixNano())

	ls := r.lease(l.Key)
	ls.mu.Lock()
	defer ls.mu.Unlock()
	if ls.window != win {
		ls.window, ls.tokens = win, 0
	}
	if ls.tokens == 0 {
		got, err := r.take(ctx, l, win)
		if err != nil {
			return false, 0, err
		}
		ls.tokens = got
	}
	if ls.tokens == 0 {
		return false, untilNext, nil
	}
	ls.tokens--
	return true, 0, nil
}

func (r *Limiter) lease(key string) *lease {
	r.mu.Lock()
	defer r.mu.Unlock()
	ls, ok := r.leases[key]
	if !ok {
		ls = &lease{window: -1}
		r.leases[key] = ls
	}
	return ls
}

// leaseSize is how many tokens a replica takes at once.
func leaseSize(rate int) int { return max(1, min(rate/20, 100)) }

// take moves up to leaseSize tokens of window win from the shared count to
// this replica, and returns how many it got (0 when the window is used up).
func (r *Limiter) take(ctx context.Context, l Limit, win int64) (int, error) {
	key := l.Key + "." + strconv.FormatInt(win, 10)
	want := leaseSize(l.Rate)
	for range 50 {
		entry, err := r.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			got := min(want, l.Rate)
			if _, err := r.kv.Create(ctx, key, []byte(strconv.Itoa(got))); err == nil {
				return got, nil
			} else if !errors.Is(err, jetstream.ErrKeyExists) {
				return 0, fmt.Errorf("create rate count: %w", err)
			}
			continue // another replica created it first; read it
		}
		if err != nil {
			return 0, fmt.Errorf("read rate count: %w", err)
		}
		used, _ := strconv.Atoi(string(entry.Value()))
		got := min(want, l.Rate-used)
		if got <= 0 {
			return 0, nil
		}
		if _, err := r.kv.Update(ctx, key, []byte(strconv.Itoa(used+got)), entry.Revision()); err == nil {
			return got, nil
		}
		// Lost a compare-and-set race with another replica: read again.
	}
	return 0, errors.New("rate count contended: gave up after 50 tries")
}
