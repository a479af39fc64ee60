package cache

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestGetCachesUntilExpiryAndForget(t *testing.T) {
	c := New[string, int](time.Minute)
	clock := time.Unix(0, 0)
	c.now = func() time.Time { return clock }
	loads := 0
	load := func(context.Context) (int, error) { loads++; return loads, nil }

	for range 3 {
		if v, _ := c.Get(t.Context(), "k", load); v != 1 {
			t.Fatalf("got %d, want the first load's 1", v)
		}
	}
	clock = clock.Add(time.Minute)
	if v, _ := c.Get(t.Context(), "k", load); v != 2 {
		t.Fatalf("after expiry got %d, want 2", v)
	}
	c.Forget("k")
	if v, _ := c.Get(t.Context(), "k", load); v != 3 {
		t.Fatalf("after Forget got %d, want 3", v)
	}
}

func TestErrorsAreNotCached(t *testing.T) {
	c := New[string, int](time.Minute)
	boom := errors.New("boom")
	if _, err := c.Get(t.Context(), "k", func(context.Context) (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if v, _ := c.Get(t.Context(), "k", func(context.Context) (int, error) { return 7, nil }); v != 7 {
		t.Fatalf("got %d, want 7 (the error must not be cached)", v)
	}
}
