package endpointhealth_test

import (
	"errors"
	"sync"
	"testing"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/endpointhealth"

	"github.com/nats-io/nats.go/jetstream"
)

func bucket(t *testing.T) jetstream.KeyValue {
	t.Helper()
	kv, err := endpointhealth.EnsureBucket(t.Context(), embeddedtest.JetStream(t), 1)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

func TestMissingEndpointReadsHealthy(t *testing.T) {
	kv := bucket(t)
	s, rev, err := endpointhealth.Get(t.Context(), kv, "ep_none")
	if err != nil || rev != 0 || s.CircuitState() != endpointhealth.Closed || s.ConsecutiveFailures != 0 {
		t.Fatalf("got %+v rev %d err %v, want a closed circuit and no failures", s, rev, err)
	}
}

// Concurrent updates from many writers (replicas) all land: none is lost to
// a compare-and-set race.
func TestConcurrentUpdatesAllLand(t *testing.T) {
	kv := bucket(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				if _, _, err := endpointhealth.Update(t.Context(), kv, "ep_1", func(s *endpointhealth.State) error {
					s.ConsecutiveFailures++
					return nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	s, _, err := endpointhealth.Get(t.Context(), kv, "ep_1")
	if err != nil || s.ConsecutiveFailures != 40 {
		t.Fatalf("consecutive failures %d (err %v), want 40", s.ConsecutiveFailures, err)
	}
}

func TestUnchangedWritesNothing(t *testing.T) {
	kv := bucket(t)
	if _, _, err := endpointhealth.Update(t.Context(), kv, "ep_1", func(s *endpointhealth.State) error {
		s.Circuit = endpointhealth.Open
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, before, _ := endpointhealth.Get(t.Context(), kv, "ep_1")
	s, rev, err := endpointhealth.Update(t.Context(), kv, "ep_1", func(*endpointhealth.State) error { return endpointhealth.ErrUnchanged })
	_, after, _ := endpointhealth.Get(t.Context(), kv, "ep_1")
	if err != nil || s.Circuit != endpointhealth.Open || before != after || rev != after {
		t.Fatalf("state %+v (revision %d) err %v, revision %d -> %d; want the open state, its revision and no write", s, rev, err, before, after)
	}
	if _, _, err := endpointhealth.Update(t.Context(), kv, "ep_1", func(*endpointhealth.State) error { return errors.New("boom") }); err == nil {
		t.Fatal("a change's error must be returned")
	}
}
