// Package listener is how a local-development listener (convoy listen)
// takes an endpoint's attempts: ingest-service registers each open Listen
// stream in a JetStream KV bucket, refreshed by a heartbeat, so every
// dispatcher replica sees which endpoints have a listener attached; a
// dispatcher then sends the signed request to the endpoint's subject with
// NATS request/reply instead of posting it, and ingest hands it down the
// stream. The reply is the local process's answer.
package listener

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket of attached sessions; keys are
// "<endpoint_id>.<session_id>".
const Bucket = "convoy_listeners"

// TTL is how long a session stays registered without a heartbeat: a
// listener whose ingest replica died is forgotten within it. Heartbeat is
// how often an attached session refreshes its entry.
const (
	TTL       = 15 * time.Second
	Heartbeat = TTL / 3
)

// Queue is the queue group of an endpoint's sessions: with several
// listeners on one endpoint, each attempt goes to one of them.
const Queue = "convoy-listeners"

const subjectPrefix = "convoy.listen."

// Subject is where a dispatcher sends an endpoint's attempts.
func Subject(endpointID string) string { return subjectPrefix + endpointID }

// Key is a session's entry in the bucket.
func Key(endpointID, sessionID string) string { return endpointID + "." + sessionID }

// EnsureBucket creates the bucket or finds it. It is stored on file like
// the other buckets so that it survives a NATS restart (an entry's TTL, not
// its storage, is what forgets a dead session).
func EnsureBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	if replicas < 1 {
		replicas = 1
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   Bucket,
		History:  1,
		TTL:      TTL,
		Storage:  jetstream.FileStorage,
		Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure bucket %s: %w", Bucket, err)
	}
	return kv, nil
}

// Register keeps the session registered until ctx ends, then removes it.
// It returns once the first registration is written (or failed); the
// heartbeat runs on until ctx ends.
func Register(ctx context.Context, kv jetstream.KeyValue, endpointID, sessionID string) error {
	key := Key(endpointID, sessionID)
	value := []byte(time.Now().UTC().Format(time.RFC3339Nano))
	if _, err := kv.Put(ctx, key, value); err != nil {
		return fmt.Errorf("register listener: %w", err)
	}
	go func() {
		tick := time.NewTicker(Heartbeat)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
				_ = kv.Delete(dctx, key)
				cancel()
				return
			case <-tick.C:
				_, _ = kv.Put(ctx, key, value)
			}
		}
	}()
	return nil
}

// Sessions is a replica's view of the attached sessions, kept current by a
// watch of the bucket: asking costs no round trip.
type Sessions struct {
	kv  jetstream.KeyValue
	now func() time.Time

	mu sync.RWMutex
	// seen is, per endpoint, each session's last heartbeat. An entry the
	// bucket expired sends no notice, so age is checked on every read.
	seen map[string]map[string]time.Time
}

// NewSessions returns an empty view; Run fills it.
func NewSessions(kv jetstream.KeyValue) *Sessions {
	return &Sessions{kv: kv, now: time.Now, seen: map[string]map[string]time.Time{}}
}

// Run watches the bucket until ctx ends. A watch that breaks is made again
// after a second; meanwhile the view ages out as entries would.
func (s *Sessions) Run(ctx context.Context) error {
	for {
		_ = s.watch(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// watch follows the bucket from its current entries on.
func (s *Sessions) watch(ctx context.Context) error {
	w, err := s.kv.WatchAll(ctx)
	if err != nil {
		return fmt.Errorf("watch %s: %w", Bucket, err)
	}
	defer func() { _ = w.Stop() }()
	// The watch replays every current entry: start over from them.
	s.mu.Lock()
	clear(s.seen)
	s.mu.Unlock()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended")
			}
			if e == nil {
				continue // the end of the current entries
			}
			s.apply(e.Key(), e.Operation() == jetstream.KeyValuePut, e.Created())
		}
	}
}

func (s *Sessions) apply(key string, put bool, at time.Time) {
	endpoint, session, ok := strings.Cut(key, ".")
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !put {
		delete(s.seen[endpoint], session)
		if len(s.seen[endpoint]) == 0 {
			delete(s.seen, endpoint)
		}
		return
	}
	if s.seen[endpoint] == nil {
		s.seen[endpoint] = map[string]time.Time{}
	}
	s.seen[endpoint][session] = at
}

// Attached reports whether a listener is attached to the endpoint.
func (s *Sessions) Attached(endpointID string) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	cutoff := s.now().Add(-TTL)
	for _, at := range s.seen[endpointID] {
		if at.After(cutoff) {
			return true
		}
	}
	return false
}
