// Package deadletter keeps the tasks that could not be processed for a
// reason that is not the endpoint's (a task that does not decode, a store
// that keeps failing, an attempt whose outcome could not be recorded), so
// that they stop looping through the dispatch stream and nothing
// acknowledged is lost: each entry stays in the CONVOY_DEADLETTER stream
// until an operator redrives it.
//
// An entry holds the raw task and the subject it came from, and, when an
// attempt was made but its outcome could not be stored, that outcome and the
// retry that was due, so that redriving writes the attempt record instead of
// making the attempt again.
package deadletter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
)

// Reasons a task is dead-lettered.
const (
	// ReasonUndecodable: the task's bytes are not a task.
	ReasonUndecodable = "undecodable"
	// ReasonStoreFailing: the store failed repeatedly before an attempt
	// could be made (reading the group, endpoint or delivery).
	ReasonStoreFailing = "store_failing"
	// ReasonAttemptUnrecorded: an attempt was made but writing its outcome
	// failed; the entry holds the outcome.
	ReasonAttemptUnrecorded = "attempt_unrecorded"
)

// Entry is one dead-lettered task.
type Entry struct {
	Reason string
	// Error is the text of the error that made the task a dead letter.
	Error string
	// Subject and Task are the original message: where it was published
	// and its raw bytes.
	Subject string
	Task    []byte
	// Outcome, when not nil, is the delivery update of an attempt that was
	// made but could not be recorded.
	Outcome *store.DeliveryUpdate
	// Retry is the retry that was due after Outcome, if any.
	Retry *queuev1.RetryTask
	// DeadAt is when the task became a dead letter (set by Put when zero).
	DeadAt time.Time
}

// wire is an entry as stored: JSON, so that an operator can read the stream
// with the nats CLI; the outcome is the DeliveryUpdate's own JSON (times to
// the nanosecond, bytes as base64), and the retry its protobuf bytes.
type wire struct {
	Reason  string                `json:"reason"`
	Error   string                `json:"error"`
	Subject string                `json:"subject"`
	Task    []byte                `json:"task"`
	Outcome *store.DeliveryUpdate `json:"outcome,omitempty"`
	Retry   []byte                `json:"retry,omitempty"`
	DeadAt  time.Time             `json:"dead_at"`
}

// Encode is the entry's stored form.
func Encode(e Entry) ([]byte, error) {
	w := wire{Reason: e.Reason, Error: e.Error, Subject: e.Subject, Task: e.Task, Outcome: e.Outcome, DeadAt: e.DeadAt.UTC()}
	if e.Retry != nil {
		b, err := proto.Marshal(e.Retry)
		if err != nil {
			return nil, fmt.Errorf("encode retry: %w", err)
		}
		w.Retry = b
	}
	b, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode dead letter: %w", err)
	}
	return b, nil
}

// Decode reads a stored entry.
func Decode(b []byte) (Entry, error) {
	var w wire
	if err := json.Unmarshal(b, &w); err != nil {
		return Entry{}, fmt.Errorf("decode dead letter: %w", err)
	}
	e := Entry{Reason: w.Reason, Error: w.Error, Subject: w.Subject, Task: w.Task, Outcome: w.Outcome, DeadAt: w.DeadAt}
	if len(w.Retry) > 0 {
		var rt queuev1.RetryTask
		if err := proto.Unmarshal(w.Retry, &rt); err != nil {
			return Entry{}, fmt.Errorf("decode dead letter retry: %w", err)
		}
		e.Retry = &rt
	}
	return e, nil
}

// Queue is the dead-letter stream.
type Queue struct {
	js  jetstream.JetStream
	now func() time.Time
	// redriveMu lets one redrive run at a time in this process, so two
	// operators' calls do not both republish the same entry.
	redriveMu sync.Mutex
}

// New returns the queue on js (the stream is created by queue.EnsureStreams).
func New(js jetstream.JetStream) *Queue { return &Queue{js: js, now: time.Now} }

// Put stores an entry and returns once the server has it: only then may the
// caller acknowledge the original task.
func (q *Queue) Put(ctx context.Context, e Entry) error {
	if e.DeadAt.IsZero() {
		e.DeadAt = q.now().UTC()
	}
	data, err := Encode(e)
	if err != nil {
		return err
	}
	// Deliberately no message id: a task dead-lettered again soon after a
	// redrive must not be dropped as a duplicate of its first entry.
	if _, err := q.js.PublishMsg(ctx, &nats.Msg{Subject: queue.DeadLetterSubject(keyOf(e)), Data: data},
		jetstream.WithExpectStream(queue.StreamDeadLetter)); err != nil {
		return fmt.Errorf("publish dead letter: %w", err)
	}
	return nil
}

// keyOf is the last token of the entry's subject: the delivery id, since
// every task subject ends in it; the delivery sweep finds dead-lettered
// deliveries by it and leaves them for the redrive.
func keyOf(e Entry) string {
	if e.Outcome != nil && e.Outcome.ID != "" {
		return e.Outcome.ID
	}
	if t, err := queue.DecodeTask(e.Task); err == nil {
		return t.DeliveryId
	}
	i := strings.LastIndexByte(e.Subject, '.')
	key := e.Subject[i+1:]
	if key == "" || strings.ContainsAny(key, " \t\r\n*>") {
		return "unknown"
	}
	return key
}

// Stored is an entry with its id (the stream sequence) and, when its task
// decodes, the task (for an entry whose raw task does not, the retry's task
// when it has one).
type Stored struct {
	ID uint64
	Entry
	Decoded *queuev1.DeliveryTask
}

// stored reads a stream message. One that does not decode (written by
// hand, or damaged) still lists, as reason "corrupt".
func stored(m *jetstream.RawStreamMsg) Stored {
	e, err := Decode(m.Data)
	if err != nil {
		return Stored{ID: m.Sequence, Entry: Entry{Reason: "corrupt", Error: err.Error(), DeadAt: m.Time}}
	}
	s := Stored{ID: m.Sequence, Entry: e}
	if t, err := queue.DecodeTask(e.Task); err == nil {
		s.Decoded = t
	} else if e.Retry != nil && e.Retry.Task != nil {
		s.Decoded = e.Retry.Task
	}
	return s
}

func (q *Queue) stream(ctx context.Context) (jetstream.Stream, error) {
	s, err := q.js.Stream(ctx, queue.StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("dead-letter stream: %w", err)
	}
	return s, nil
}

// List returns up to limit entries with ids of at least from (1 for the
// first page), oldest first, and the id the next page starts at (0 when
// there is none).
func (q *Queue) List(ctx context.Context, from uint64, limit int) ([]Stored, uint64, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return nil, 0, err
	}
	from = max(from, 1)
	var out []Stored
	for {
		m, err := s.GetMsg(ctx, from, jetstream.WithGetMsgSubject(queue.DeadLetterSubjects))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return out, 0, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("read dead letter: %w", err)
		}
		if len(out) == limit {
			return out, m.Sequence, nil
		}
		out = append(out, stored(m))
		from = m.Sequence + 1
	}
}

// Get reads one entry; jetstream.ErrMsgNotFound when there is none.
func (q *Queue) Get(ctx context.Context, id uint64) (Stored, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return Stored{}, err
	}
	m, err := s.GetMsg(ctx, id)
	if err != nil {
		return Stored{}, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	return stored(m), nil
}

// Delete removes an entry.
func (q *Queue) Delete(ctx context.Context, id uint64) error {
	s, err := q.stream(ctx)
	if err != nil {
		return err
	}
	if err := s.DeleteMsg(ctx, id); err != nil {
		return fmt.Errorf("delete dead letter %d: %w", id, err)
	}
	return nil
}

// Count is how many entries the stream holds.
func (q *Queue) Count(ctx context.Context) (uint64, error) {
	s, err := q.stream(ctx)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx)
	if err != nil {
		return 0, fmt.Errorf("dead-letter stream info: %w", err)
	}
	return info.State.Msgs, nil
}

// Gauge exports convoy_dispatch_dead_letters, the stream's entry count.
type Gauge struct {
	q *Queue
	g prometheus.Gauge
}

// NewGauge registers the gauge on reg.
func NewGauge(q *Queue, reg prometheus.Registerer) *Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "convoy_dispatch_dead_letters",
		Help: "Entries in the dead-letter stream: tasks waiting for an operator to redrive them.",
	})
	reg.MustRegister(g)
	return &Gauge{q: q, g: g}
}

// Poll refreshes the gauge every interval until ctx ends.
func (g *Gauge) Poll(ctx context.Context, interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := g.q.Count(ctx); err == nil {
			g.g.Set(float64(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
