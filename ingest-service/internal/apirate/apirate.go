// Package apirate limits each API key's (and portal link's) calls per
// second across every replica.
//
// The count lives in NATS, not in a process: every gateway forwards every
// call to some ingest replica, and whichever replica answers adds one to the
// key's counter for the current second, a JetStream counter subject
// (`Nats-Incr`). The publish acknowledgement carries the new total, so one
// round trip both counts and decides, with no read-modify-write race between
// replicas. Windows are fixed one-second buckets; old ones age out of the
// in-memory stream after a few seconds.
package apirate

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Stream is the counters' stream; Subjects are convoy.apirate.<key>.<second>.
const (
	Stream        = "API_RATE"
	subjectPrefix = "convoy.apirate."
)

// Limiter counts calls per key per second.
type Limiter struct {
	js    jetstream.JetStream
	limit int64
	now   func() time.Time

	mu    sync.Mutex
	ready bool
}

// New returns a limiter allowing perSecond calls per key each second.
func New(js jetstream.JetStream, perSecond int) *Limiter {
	return &Limiter{js: js, limit: int64(perSecond), now: time.Now}
}

// Allow counts one call of key and reports whether it is within the limit;
// when it is not, retryAfter is when the next window opens.
func (l *Limiter) Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error) {
	if err := l.ensure(ctx); err != nil {
		return true, 0, err
	}
	now := l.now()
	sec := now.Unix()
	msg := nats.NewMsg(subjectPrefix + key + "." + strconv.FormatInt(sec, 10))
	msg.Header.Set("Nats-Incr", "1")
	ack, err := l.js.PublishMsg(ctx, msg)
	if err != nil {
		return true, 0, fmt.Errorf("count api call: %w", err)
	}
	n, err := strconv.ParseInt(ack.Value, 10, 64)
	if err != nil {
		return true, 0, fmt.Errorf("read api call count %q: %w", ack.Value, err)
	}
	if n <= l.limit {
		return true, 0, nil
	}
	return false, time.Unix(sec+1, 0).Sub(now), nil
}

// ensure creates the stream once; a failure is retried on the next call.
func (l *Limiter) ensure(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ready {
		return nil
	}
	_, err := l.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:            Stream,
		Subjects:        []string{subjectPrefix + ">"},
		Storage:         jetstream.MemoryStorage,
		AllowMsgCounter: true,
		AllowDirect:     true,
		// A window is done after a second; keep a few for late publishes.
		MaxAge: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("create %s stream: %w", Stream, err)
	}
	l.ready = true
	return nil
}
