package batch

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestBatchesConcurrentItems(t *testing.T) {
	var mu sync.Mutex
	var batches [][]int
	release := make(chan struct{})
	var held atomic.Int32 // items in the flush being held
	b := New(func(_ context.Context, items []int) error {
		held.CompareAndSwap(0, int32(len(items)))
		<-release // hold the first flush so the rest queue up behind it
		mu.Lock()
		batches = append(batches, append([]int(nil), items...))
		mu.Unlock()
		return nil
	}, 50, 1)
	ctx, cancel := context.WithCancel(t.Context())
	runDone := make(chan error)
	go func() { runDone <- b.Run(ctx) }()

	var wg sync.WaitGroup
	var failed atomic.Int32
	for i := range 100 {
		wg.Go(func() {
			if err := b.Do(t.Context(), i); err != nil {
				failed.Add(1)
			}
		})
	}
	// Let every item queue, then let the flushes go.
	deadline := time.Now().Add(5 * time.Second)
	for int(held.Load())+len(b.in) < 100 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	if failed.Load() != 0 {
		t.Fatalf("%d items failed", failed.Load())
	}
	seen := map[int]bool{}
	for _, batch := range batches {
		if len(batch) > 50 {
			t.Fatalf("batch of %d exceeds the maximum 50", len(batch))
		}
		for _, v := range batch {
			seen[v] = true
		}
	}
	if len(seen) != 100 {
		t.Fatalf("flushed %d distinct items, want 100", len(seen))
	}
	if len(batches) > 4 {
		t.Fatalf("100 queued items took %d flushes; want them grouped (<= 4)", len(batches))
	}
}

func TestFlushErrorReachesEveryItemOfTheBatch(t *testing.T) {
	boom := errors.New("boom")
	b := New(func(context.Context, []string) error { return boom }, 10, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = b.Run(ctx) }()
	if err := b.Do(t.Context(), "x"); !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

func TestItemsAfterStopAreRefused(t *testing.T) {
	b := New(func(context.Context, []int) error { return nil }, 10, 2)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if err := b.Do(t.Context(), 1); !errors.Is(err, ErrClosed) {
		t.Fatalf("got %v, want ErrClosed", err)
	}
}
