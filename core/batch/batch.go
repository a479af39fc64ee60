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
	stopOnce sync.Once
	stopped  chan struct{}
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
		stopped:  make(chan struct{}),
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
	select {
	case b.in <- request[T]{item: item, done: done}:
	case <-b.stopped:
		done <- ErrClosed
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
	b.stopOnce.Do(func() { close(b.stopped) })
	// Whatever is still queued was accepted; write it with a fresh context.
	for {
		reqs := b.drain(nil)
		if len(reqs) == 0 {
			return nil
		}
		b.write(context.WithoutCancel(ctx), reqs)
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
