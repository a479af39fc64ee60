// Package batch is group commit: callers hand in one item each and wait,
// while a few flushers write whatever has queued up in one round trip.
// Under load a write that costs a millisecond is shared by dozens of items;
// when idle an item is flushed at once, without waiting for company.
package batch

import (
	"context"
	"errors"
	"sync"
)

// ErrClosed is returned for items handed in after the batcher stopped.
var ErrClosed = errors.New("batcher stopped")

// Flush writes one batch; its error is every item's error.
type Flush[T any] func(ctx context.Context, items []T) error

// Batcher collects items and flushes them in batches.
type Batcher[T any] struct {
	flush    Flush[T]
	maxSize  int
	flushers int
	in       chan request[T]

	// mu guards closed: Submit sends under the read lock, so once Run holds
	// the write lock no item can arrive that Run would not see.
	mu     sync.RWMutex
	closed bool
}

type request[T any] struct {
	item T
	done chan error
}

// New returns a batcher that flushes at most maxSize items at a time with up
// to flushers flushes in flight.
func New[T any](flush Flush[T], maxSize, flushers int) *Batcher[T] {
	return &Batcher[T]{
		flush:    flush,
		maxSize:  maxSize,
		flushers: max(flushers, 1),
		in:       make(chan request[T], maxSize*flushers*4),
	}
}

// Do hands in one item and waits until its batch is flushed.
func (b *Batcher[T]) Do(ctx context.Context, item T) error {
	ch := b.Submit(ctx, item)
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Submit hands in one item; the returned channel yields its flush result.
// It lets a caller hand in several items and then wait for all of them.
func (b *Batcher[T]) Submit(ctx context.Context, item T) <-chan error {
	done := make(chan error, 1)
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.closed {
		done <- ErrClosed
		return done
	}
	select {
	case b.in <- request[T]{item: item, done: done}:
	case <-ctx.Done():
		done <- ctx.Err()
	}
	return done
}

// Run flushes until ctx ends, then flushes what is already queued and
// returns. Items handed in after that get ErrClosed.
func (b *Batcher[T]) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for range b.flushers {
		wg.Go(func() { b.loop(ctx) })
	}
	wg.Wait()
	// Whatever is handed in until the batcher is closed was accepted: keep
	// writing it (which also unblocks Submits waiting for room) until the
	// close goes through, then write what is left.
	final := context.WithoutCancel(ctx)
	closed := make(chan struct{})
	go func() {
		b.mu.Lock()
		b.closed = true
		b.mu.Unlock()
		close(closed)
	}()
	for {
		select {
		case r := <-b.in:
			b.write(final, b.drain([]request[T]{r}))
		case <-closed:
			for reqs := b.drain(nil); len(reqs) > 0; reqs = b.drain(nil) {
				b.write(final, reqs)
			}
			return nil
		}
	}
}

func (b *Batcher[T]) loop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case first := <-b.in:
			b.write(context.WithoutCancel(ctx), b.drain([]request[T]{first}))
		}
	}
}

// drain takes what is queued right now, up to maxSize, without waiting.
func (b *Batcher[T]) drain(reqs []request[T]) []request[T] {
	for len(reqs) < b.maxSize {
		select {
		case r := <-b.in:
			reqs = append(reqs, r)
		default:
			return reqs
		}
	}
	return reqs
}

func (b *Batcher[T]) write(ctx context.Context, reqs []request[T]) {
	items := make([]T, len(reqs))
	for i, r := range reqs {
		items[i] = r.item
	}
	err := b.flush(ctx, items)
	for _, r := range reqs {
		r.done <- err
	}
}
