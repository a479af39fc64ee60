package apirate

import (
	"sync"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Two limiters on two connections, as two replicas: the calls of one key
// are counted together, each key on its own, and a new second starts over.
func TestLimitIsSharedAcrossReplicas(t *testing.T) {
	js1 := embeddedtest.JetStream(t)
	nc, err := nats.Connect(js1.Conn().ConnectedUrl())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js2, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	// Both replicas see the same second, whatever the wall clock does.
	sec := time.Now().Truncate(time.Second).Add(100 * time.Millisecond)
	clock := func() time.Time { return sec }
	a, b := New(js1, 5), New(js2, 5)
	a.now, b.now = clock, clock

	var mu sync.Mutex
	allowed := 0
	var wg sync.WaitGroup
	for i := range 12 {
		wg.Go(func() {
			l := a
			if i%2 == 1 {
				l = b
			}
			ok, wait, err := l.Allow(t.Context(), "key1")
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if ok {
				allowed++
			} else if wait != 900*time.Millisecond {
				t.Errorf("retry after %v, want 900ms (the rest of the second)", wait)
			}
		})
	}
	wg.Wait()
	if allowed != 5 {
		t.Fatalf("allowed %d of 12 calls of one key over two replicas, want 5", allowed)
	}
	if ok, _, err := b.Allow(t.Context(), "key2"); err != nil || !ok {
		t.Fatalf("another key: ok=%v err=%v, want allowed", ok, err)
	}
	sec = sec.Add(time.Second)
	if ok, _, err := a.Allow(t.Context(), "key1"); err != nil || !ok {
		t.Fatalf("next second: ok=%v err=%v, want allowed", ok, err)
	}
}
