// Package cache is a small read-through cache with a time to live, for the
// settings every event or attempt needs (groups, endpoints, API keys): they
// change rarely, and reading them from the store each time would put a store
// round trip on every event.
package cache

import (
	"context"
	"sync"
	"time"
)

// TTL caches values by key for a fixed time.
type TTL[K comparable, V any] struct {
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[K]entry[V]
}

type entry[V any] struct {
	value   V
	expires time.Time
}

// New returns a cache whose entries live for ttl.
func New[K comparable, V any](ttl time.Duration) *TTL[K, V] {
	return &TTL[K, V]{ttl: ttl, now: time.Now, entries: map[K]entry[V]{}}
}

// Get returns the cached value for key, or loads, caches and returns it.
// Errors are not cached. Concurrent misses may each load; loads are cheap
// reads by id, so that is simpler than coordinating them.
func (c *TTL[K, V]) Get(ctx context.Context, key K, load func(context.Context) (V, error)) (V, error) {
	now := c.now()
	c.mu.Lock()
	e, ok := c.entries[key]
	c.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.value, nil
	}
	v, err := load(ctx)
	if err != nil {
		var zero V
		return zero, err
	}
	c.mu.Lock()
	if len(c.entries) > 100_000 {
		c.sweepLocked(now)
	}
	c.entries[key] = entry[V]{value: v, expires: now.Add(c.ttl)}
	c.mu.Unlock()
	return v, nil
}

// Forget drops key, so the next Get loads it afresh.
func (c *TTL[K, V]) Forget(key K) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

func (c *TTL[K, V]) sweepLocked(now time.Time) {
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
}
