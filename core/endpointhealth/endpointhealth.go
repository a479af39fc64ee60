// Package endpointhealth is the health every dispatcher replica shares about
// an endpoint: its circuit breaker's state and its run of consecutive failed
// attempts. It lives in a JetStream KV bucket (one key per endpoint), written
// by compare-and-set only when something changes, and read by ingest-service
// to show an endpoint's circuit and by the stats API.
package endpointhealth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Bucket is the KV bucket; keys are endpoint ids.
const Bucket = "convoy_endpoint_health"

// Circuit states, as the API shows them.
const (
	Closed   = "closed"
	Open     = "open"
	HalfOpen = "half_open"
)

// State is one endpoint's shared health. The zero value is a healthy endpoint
// that was never seen failing: a closed circuit with no failures.
type State struct {
	Circuit string `json:"state"`
	// FailureRate is the share of failed attempts (0 to 1) in the window that
	// last moved the circuit.
	FailureRate float64    `json:"failure_rate"`
	OpenedAt    *time.Time `json:"opened_at,omitempty"`
	// ProbeUntil, while half-open, is when the replica that took the one
	// probe attempt loses it (it died, or the attempt outlived it); another
	// replica may then probe.
	ProbeUntil *time.Time `json:"probe_until,omitempty"`
	// ConsecutiveFailures counts failed attempts since the last success.
	ConsecutiveFailures int64 `json:"consecutive_failures"`
}

// CircuitState is Circuit with the zero value's meaning spelled out.
func (s State) CircuitState() string {
	if s.Circuit == "" {
		return Closed
	}
	return s.Circuit
}

// EnsureBucket creates the bucket (idempotent). An endpoint idle for a week
// loses its entry, which reads as healthy: a fresh start.
func EnsureBucket(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.KeyValue, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:   Bucket,
		History:  1,
		TTL:      7 * 24 * time.Hour,
		Storage:  jetstream.FileStorage,
		Replicas: replicas,
	})
	if err != nil {
		return nil, fmt.Errorf("ensure endpoint health bucket: %w", err)
	}
	return kv, nil
}

// Get reads an endpoint's state and its revision (0 when it has none yet).
func Get(ctx context.Context, kv jetstream.KeyValue, endpointID string) (State, uint64, error) {
	e, err := kv.Get(ctx, endpointID)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return State{}, 0, nil
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("read endpoint health: %w", err)
	}
	s, err := Decode(e.Value())
	return s, e.Revision(), err
}

// Decode parses a stored state.
func Decode(b []byte) (State, error) {
	var s State
	if len(b) == 0 {
		return s, nil
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return State{}, fmt.Errorf("decode endpoint health: %w", err)
	}
	return s, nil
}

// ErrUnchanged, returned by an Update change function, leaves the state as
// it is and makes Update return the current state without writing.
var ErrUnchanged = errors.New("endpoint health unchanged")

// Update applies change to the current state by compare-and-set, reading
// again when another replica wrote in between, and returns the state it
// stored (or found, when change returned ErrUnchanged) with that state's
// revision, so that a cache can tell it from a newer one seen meanwhile.
func Update(ctx context.Context, kv jetstream.KeyValue, endpointID string, change func(*State) error) (State, uint64, error) {
	for try := range 100 {
		s, rev, err := Get(ctx, kv, endpointID)
		if err != nil {
			return State{}, 0, err
		}
		if err := change(&s); errors.Is(err, ErrUnchanged) {
			return s, rev, nil
		} else if err != nil {
			return State{}, 0, err
		}
		b, err := json.Marshal(s)
		if err != nil {
			return State{}, 0, err
		}
		if rev == 0 {
			rev, err = kv.Create(ctx, endpointID, b)
		} else {
			rev, err = kv.Update(ctx, endpointID, b, rev)
		}
		if err == nil {
			return s, rev, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) && !isWrongSequence(err) {
			return State{}, 0, fmt.Errorf("write endpoint health: %w", err)
		}
		// Lost a race with another replica: back off a little, at random,
		// so that writers that collided do not collide again.
		select {
		case <-ctx.Done():
			return State{}, 0, ctx.Err()
		case <-time.After(time.Duration(rand.Int64N(int64(time.Millisecond) * int64(min(try+1, 20))))):
		}
	}
	return State{}, 0, errors.New("endpoint health contended: gave up after 100 tries")
}

// isWrongSequence reports a lost compare-and-set race (the revision moved).
func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}
