package listener

import (
	"context"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
)

// A registered session shows to every watcher until it is removed, or until
// its heartbeat is older than TTL (an expired entry sends no notice).
func TestSessions(t *testing.T) {
	js := embeddedtest.JetStream(t)
	kv, err := EnsureBucket(t.Context(), js, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureBucket(t.Context(), js, 1); err != nil {
		t.Fatalf("ensure again: %v", err)
	}
	s := NewSessions(kv)
	go func() { _ = s.Run(t.Context()) }()
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	one, stopOne := context.WithCancel(t.Context())
	two, stopTwo := context.WithCancel(t.Context())
	defer stopTwo()
	if err := Register(one, kv, "ep-1", "s1"); err != nil {
		t.Fatal(err)
	}
	if err := Register(two, kv, "ep-1", "s2"); err != nil {
		t.Fatal(err)
	}
	waitFor("ep-1 attached", func() bool { return s.Attached("ep-1") })
	if s.Attached("ep-2") {
		t.Fatal("ep-2 attached with no session")
	}
	stopOne()
	waitFor("s1 removed", func() bool {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return len(s.seen["ep-1"]) == 1
	})
	if !s.Attached("ep-1") {
		t.Fatal("ep-1 detached while s2 is still attached")
	}
	// Seen from TTL later without a heartbeat, the session is gone.
	s.now = func() time.Time { return time.Now().Add(TTL + time.Second) }
	if s.Attached("ep-1") {
		t.Fatal("a session without a heartbeat for TTL still counts")
	}
	s.now = time.Now
	stopTwo()
	waitFor("ep-1 detached", func() bool { return !s.Attached("ep-1") })
}
