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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
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

// Encode is the entry's stored form: a queuev1.DeadLetter, whose task is the
// raw bytes (no re-encoding, so a task that does not decode is kept as it
// was), whose outcome is the DeliveryUpdate's JSON (times to the
// nanosecond), and whose retry shares the task's data instead of carrying a
// second copy (an event's data may be close to a message's size limit).
func Encode(e Entry) ([]byte, error) {
	w := &queuev1.DeadLetter{Reason: e.Reason, Error: e.Error, Subject: e.Subject, Task: e.Task, DeadAt: timestamppb.New(e.DeadAt)}
	if e.Outcome != nil {
		b, err := json.Marshal(e.Outcome)
		if err != nil {
			return nil, fmt.Errorf("encode outcome: %w", err)
		}
		w.Outcome = b
	}
	if e.Retry != nil {
		w.Retry = e.Retry
		if t, err := queue.DecodeTask(e.Task); err == nil && e.Retry.Task != nil && bytes.Equal(t.Data, e.Retry.Task.Data) {
			rt := proto.Clone(e.Retry).(*queuev1.RetryTask)
			rt.Task.Data = nil
			w.Retry, w.RetryDataFromTask = rt, true
		}
	}
	b, err := proto.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode dead letter: %w", err)
	}
	return b, nil
}

// Decode reads a stored entry.
func Decode(b []byte) (Entry, error) {
	var w queuev1.DeadLetter
	if err := proto.Unmarshal(b, &w); err != nil {
		return Entry{}, fmt.Errorf("decode dead letter: %w", err)
	}
	e := Entry{Reason: w.Reason, Error: w.Error, Subject: w.Subject, Task: w.Task, Retry: w.Retry}
	if w.DeadAt != nil {
		e.DeadAt = w.DeadAt.AsTime()
	}
	if len(w.Outcome) > 0 {
		e.Outcome = &store.DeliveryUpdate{}
		if err := json.Unmarshal(w.Outcome, e.Outcome); err != nil {
			return Entry{}, fmt.Errorf("decode dead letter outcome: %w", err)
		}
	}
	if w.RetryDataFromTask && e.Retry != nil && e.Retry.Task != nil {
		t, err := queue.DecodeTask(w.Task)
		if err != nil {
			return Entry{}, fmt.Errorf("decode dead letter retry: %w", err)
		}
		e.Retry.Task.Data = t.Data
	}
	return e, nil
}

// fit makes an entry fit in limit bytes, if it must, by cutting the recorded
// response body of its outcome's attempt (marked truncated): an event near
// the size limit plus a 50 KiB response body may not fit in one message, and
// keeping the attempt with less of its body beats losing it.
func fit(e Entry, limit int) ([]byte, error) {
	data, err := Encode(e)
	if err != nil || len(data) <= limit || e.Outcome == nil || e.Outcome.Attempt == nil {
		return data, err
	}
	over := len(data) - limit
	o := *e.Outcome
	a := *o.Attempt
	// The body is in the outcome twice when the update carries the whole
	// delivery with this attempt in it. JSON escaping can make a body take
	// more than its length; if the cut was not enough, the body goes.
	cut := len(a.ResponseData) - over - 64
	if o.New != nil {
		cut = len(a.ResponseData) - over/2 - 64
	}
	a.ResponseData, a.ResponseTruncated = truncate(a.ResponseData, max(cut, 0)), true
	o.Attempt = &a
	if o.New != nil {
		d := *o.New
		d.Attempts = slices.Clone(d.Attempts)
		for i := range d.Attempts {
			if d.Attempts[i].UID == a.UID {
				d.Attempts[i] = a
			}
		}
		o.New = &d
	}
	e.Outcome = &o
	data, err = Encode(e)
	if err == nil && len(data) > limit {
		e.Outcome.Attempt.ResponseData = ""
		if o.New != nil {
			for i := range o.New.Attempts {
				if o.New.Attempts[i].UID == a.UID {
					o.New.Attempts[i].ResponseData = ""
				}
			}
		}
		data, err = Encode(e)
	}
	return data, err
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
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
	// Room for the message headers the publish adds.
	data, err := fit(e, int(q.js.Conn().MaxPayload())-1024)
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
