package meta

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"convoy/core/metaevent"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/core/verify"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// fakeStore keeps groups and meta events in memory and counts writes.
type fakeStore struct {
	mu      sync.Mutex
	groups  map[string]*model.Group
	metas   map[string]*model.MetaEvent
	inserts int
	updates int
	reads   int
}

func newFakeStore(groups ...*model.Group) *fakeStore {
	f := &fakeStore{groups: map[string]*model.Group{}, metas: map[string]*model.MetaEvent{}}
	for _, g := range groups {
		f.groups[g.UID] = g
	}
	return f
}

func (f *fakeStore) GetGroup(_ context.Context, id string) (*model.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g, ok := f.groups[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return g, nil
}

func (f *fakeStore) MetaEventByID(_ context.Context, id string) (*model.MetaEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	m, ok := f.metas[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	cp := *m
	cp.Attempts = nil
	return &cp, nil
}

func (f *fakeStore) InsertMetaEvent(_ context.Context, m *model.MetaEvent) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.metas[m.UID]; ok {
		return store.ErrDuplicate
	}
	f.inserts++
	cp := *m
	f.metas[m.UID] = &cp
	return nil
}

func (f *fakeStore) UpdateMetaEvent(_ context.Context, u store.MetaEventUpdate) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	m, ok := f.metas[u.ID]
	if !ok {
		return store.ErrNotFound
	}
	f.updates++
	m.Status, m.Metadata.NumTrials, m.Metadata.NextSendTime, m.UpdatedAt = u.Status, u.NumTrials, u.NextSendTime, u.At
	if u.Attempt != nil {
		m.Attempts = append(m.Attempts, *u.Attempt)
	}
	return nil
}

func (f *fakeStore) meta(id string) model.MetaEvent {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.metas[id]
}

// poster records each request and answers the next planned status.
type poster struct {
	mu    sync.Mutex
	plan  []int
	calls []posted
}

type posted struct {
	url    string
	header http.Header
	body   []byte
}

func (p *poster) Post(_ context.Context, url string, header http.Header, body []byte, _ time.Duration) outbound.Result {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, posted{url: url, header: header.Clone(), body: append([]byte(nil), body...)})
	code := 200
	if len(p.plan) > 0 {
		code, p.plan = p.plan[0], p.plan[1:]
	}
	return outbound.Result{StatusCode: code, Header: http.Header{}, IP: "203.0.113.9"}
}

// fakeMsg is a JetStream message that records what was done with it.
type fakeMsg struct {
	data      []byte
	delivered uint64
	acked     bool
	termed    bool
	nakDelay  time.Duration
	naked     bool
}

func (m *fakeMsg) Metadata() (*jetstream.MsgMetadata, error) {
	return &jetstream.MsgMetadata{NumDelivered: m.delivered}, nil
}
func (m *fakeMsg) Data() []byte                       { return m.data }
func (m *fakeMsg) Headers() nats.Header               { return nil }
func (m *fakeMsg) Subject() string                    { return "convoy.meta.test" }
func (m *fakeMsg) Reply() string                      { return "" }
func (m *fakeMsg) Ack() error                         { m.acked = true; return nil }
func (m *fakeMsg) DoubleAck(context.Context) error    { m.acked = true; return nil }
func (m *fakeMsg) Nak() error                         { m.naked = true; return nil }
func (m *fakeMsg) NakWithDelay(d time.Duration) error { m.naked, m.nakDelay = true, d; return nil }
func (m *fakeMsg) InProgress() error                  { return nil }
func (m *fakeMsg) Term() error                        { m.termed = true; return nil }
func (m *fakeMsg) TermWithReason(string) error        { m.termed = true; return nil }
func (m *fakeMsg) redelivered() *fakeMsg              { return &fakeMsg{data: m.data, delivered: m.delivered + 1} }
func (m *fakeMsg) withDelivered(n uint64) *fakeMsg    { m.delivered = n; return m }
func (m *fakeMsg) isFinalAck() bool                   { return m.acked && !m.naked && !m.termed }
func (m *fakeMsg) isRetry(d time.Duration) bool       { return m.naked && m.nakDelay == d && !m.acked }

const metaSecret = "meta-secret-for-tests"

func metaGroup(format string, retries int32) *model.Group {
	cfg := model.DefaultGroupConfig()
	cfg.Signature.Format = format
	cfg.Strategy = model.Strategy{Type: model.StrategyLinear, Duration: 7, RetryCount: retries}
	cfg.MetaEvent = model.MetaEventConfig{IsEnabled: true, URL: "https://ops.example.com/meta", Secret: metaSecret}
	return &model.Group{UID: "grp-1", Config: cfg}
}

// taskMsg is the first delivery of a meta event's message, built the way
// the emitter builds it.
func taskMsg(t *testing.T, body string, limit int32) *fakeMsg {
	t.Helper()
	task := &metaevent.Task{UID: "01JMETA", GroupID: "grp-1", EventType: metaevent.EndpointDisabled, Body: []byte(body),
		CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC), RetryLimit: limit}
	b, err := task.Encode()
	if err != nil {
		t.Fatal(err)
	}
	return &fakeMsg{data: b, delivered: 1}
}

func newConsumer(st Store, p *poster, now time.Time) *Consumer {
	c := New(st, deliver.New(p, "test"), Options{AckWait: time.Minute, Drain: time.Second}, zap.NewNop())
	c.now = func() time.Time { return now }
	return c
}

// The body sent is the stored body byte for byte, and a receiver verifying
// independently (core/verify) accepts its signature in every format.
func TestSignsTheExactBodySent(t *testing.T) {
	// Spacing, key order and escapes a re-encoding would change.
	body := `{"event_type":"endpoint.disabled","data":{"uid":"ep1","note":"caf\u00e9 <b>","n":1.50},"created_at":"2026-01-02T03:04:05.678Z"}`
	for _, format := range []string{model.FormatSimple, model.FormatAdvanced, model.FormatStandardWebhooks} {
		t.Run(format, func(t *testing.T) {
			g := metaGroup(format, 3)
			st := newFakeStore(g)
			p := &poster{}
			c := newConsumer(st, p, time.Now())
			msg := taskMsg(t, body, 3)
			if err := c.process(t.Context(), msg); err != nil {
				t.Fatal(err)
			}
			if len(p.calls) != 1 {
				t.Fatalf("%d requests, want 1", len(p.calls))
			}
			sent := p.calls[0]
			if string(sent.body) != body || sent.url != g.Config.MetaEvent.URL {
				t.Fatalf("sent %s to %s, want the stored body to the meta URL", sent.body, sent.url)
			}
			opts := verify.Options{Format: format, Hash: g.Config.Signature.Hash, Header: g.Config.Signature.Header, ReplayAttacks: g.Config.ReplayAttacks}
			if err := verify.Verify(opts, []string{metaSecret}, sent.header, sent.body); err != nil {
				t.Fatalf("receiver rejects the signature: %v", err)
			}
			if err := verify.Verify(opts, []string{"another-secret-value"}, sent.header, sent.body); err == nil {
				t.Fatal("a wrong secret verified")
			}
			if got := sent.header.Get(deliver.HeaderEventType); got != metaevent.EndpointDisabled {
				t.Fatalf("X-Convoy-Event-Type %q", got)
			}
			if got := sent.header.Get(deliver.HeaderDeliveryID); got != "01JMETA" {
				t.Fatalf("X-Convoy-Delivery-ID %q, want the meta event uid", got)
			}
			m := st.meta("01JMETA")
			if m.Metadata.Raw != body || m.Status != model.StatusSuccess || len(m.Attempts) != 1 || !m.Attempts[0].Status {
				t.Fatalf("stored %+v", m)
			}
			if !msg.isFinalAck() {
				t.Fatal("message not acknowledged")
			}
		})
	}
}

// A failing meta URL is retried on the group's strategy: each attempt is
// recorded (an insert, then updates), the message is handed back until the
// next one is due, and the last allowed attempt's failure is final.
func TestRetriesUntilTheLimit(t *testing.T) {
	g := metaGroup(model.FormatSimple, 3)
	st := newFakeStore(g)
	p := &poster{plan: []int{500, 503, 500}}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	c := newConsumer(st, p, now)
	msg := taskMsg(t, `{"event_type":"endpoint.disabled","data":{},"created_at":"2026-05-01T12:00:00Z"}`, 3)

	if err := c.process(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	m := st.meta("01JMETA")
	if !msg.isRetry(7*time.Second) || m.Status != model.StatusRetry || m.Metadata.NumTrials != 1 || len(m.Attempts) != 1 ||
		m.Attempts[0].HTTPStatus != 500 || st.reads != 0 || st.inserts != 1 {
		t.Fatalf("after attempt 1: msg %+v, stored %+v, reads %d, inserts %d", msg, m, st.reads, st.inserts)
	}

	// Redelivered early (a timer that fired ahead): no attempt, back later.
	early := msg.redelivered()
	c.now = func() time.Time { return now.Add(2 * time.Second) }
	if err := c.process(t.Context(), early); err != nil {
		t.Fatal(err)
	}
	if !early.isRetry(5*time.Second) || len(p.calls) != 1 {
		t.Fatalf("early redelivery: msg %+v, %d requests", early, len(p.calls))
	}

	due := early.redelivered()
	c.now = func() time.Time { return now.Add(7 * time.Second) }
	if err := c.process(t.Context(), due); err != nil {
		t.Fatal(err)
	}
	m = st.meta("01JMETA")
	if !due.isRetry(7*time.Second) || m.Metadata.NumTrials != 2 || len(m.Attempts) != 2 || m.Attempts[1].HTTPStatus != 503 {
		t.Fatalf("after attempt 2: msg %+v, stored %+v", due, m)
	}

	last := due.redelivered()
	c.now = func() time.Time { return now.Add(14 * time.Second) }
	if err := c.process(t.Context(), last); err != nil {
		t.Fatal(err)
	}
	m = st.meta("01JMETA")
	if !last.isFinalAck() || m.Status != model.StatusFailure || m.Metadata.NumTrials != 3 || m.Metadata.NextSendTime != nil || len(m.Attempts) != 3 {
		t.Fatalf("after attempt 3: msg %+v, stored %+v", last, m)
	}
	if st.inserts != 1 || st.updates != 2 {
		t.Fatalf("%d inserts and %d updates, want the document inserted once and updated per later attempt", st.inserts, st.updates)
	}

	// A stray redelivery of a final meta event sends nothing.
	stray := last.redelivered()
	if err := c.process(t.Context(), stray); err != nil {
		t.Fatal(err)
	}
	if !stray.isFinalAck() || len(p.calls) != 3 {
		t.Fatalf("stray redelivery: msg %+v, %d requests", stray, len(p.calls))
	}
}

// A resent meta event (a later generation) is read first and gets a fresh
// budget; a message of an older generation is dropped.
func TestResentGeneration(t *testing.T) {
	g := metaGroup(model.FormatSimple, 2)
	st := newFakeStore(g)
	st.metas["01JMETA"] = &model.MetaEvent{UID: "01JMETA", GroupID: "grp-1", EventType: metaevent.EndpointDisabled, Status: model.StatusScheduled,
		Generation: 1, Metadata: model.MetaEventMetadata{Raw: `{"x":1}`, NumTrials: 0, RetryLimit: 2},
		Attempts: []model.Attempt{{UID: "old-1"}, {UID: "old-2"}}}
	p := &poster{}
	c := newConsumer(st, p, time.Now())

	stale := taskMsg(t, `{"x":1}`, 2).withDelivered(3)
	if err := c.process(t.Context(), stale); err != nil {
		t.Fatal(err)
	}
	if !stale.isFinalAck() || len(p.calls) != 0 {
		t.Fatalf("stale generation: msg %+v, %d requests", stale, len(p.calls))
	}

	task := &metaevent.Task{UID: "01JMETA", GroupID: "grp-1", EventType: metaevent.EndpointDisabled, Body: []byte(`{"x":1}`), Generation: 1, RetryLimit: 2}
	b, _ := task.Encode()
	resent := &fakeMsg{data: b, delivered: 1}
	if err := c.process(t.Context(), resent); err != nil {
		t.Fatal(err)
	}
	m := st.meta("01JMETA")
	if !resent.isFinalAck() || m.Status != model.StatusSuccess || m.Metadata.NumTrials != 1 || len(m.Attempts) != 3 || st.inserts != 0 {
		t.Fatalf("resend: msg %+v, stored %+v", resent, m)
	}
}

// A group that turned meta events off since the event was emitted keeps
// the record as Discarded and sends nothing; a deleted group's meta events
// are dropped.
func TestOffOrGone(t *testing.T) {
	g := metaGroup(model.FormatSimple, 3)
	g.Config.MetaEvent.IsEnabled = false
	st := newFakeStore(g)
	p := &poster{}
	c := newConsumer(st, p, time.Now())
	msg := taskMsg(t, `{"x":1}`, 3)
	if err := c.process(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if m := st.meta("01JMETA"); !msg.isFinalAck() || len(p.calls) != 0 || m.Status != model.StatusDiscarded || len(m.Attempts) != 0 {
		t.Fatalf("off: msg %+v, %d requests, stored %+v", msg, len(p.calls), m)
	}

	gone := newConsumer(newFakeStore(), p, time.Now())
	msg = taskMsg(t, `{"x":1}`, 3)
	if err := gone.process(t.Context(), msg); err != nil {
		t.Fatal(err)
	}
	if !msg.termed || len(p.calls) != 0 {
		t.Fatalf("deleted group: msg %+v, %d requests", msg, len(p.calls))
	}

	bad := &fakeMsg{data: []byte(`{"uid":`), delivered: 1}
	if err := c.process(t.Context(), bad); err != nil || !bad.termed {
		t.Fatalf("undecodable: err %v, msg %+v", err, bad)
	}
}

// A store failure after the attempt hands the message back (another try
// soon) rather than acknowledging an unrecorded attempt.
func TestStoreFailureHandsBack(t *testing.T) {
	st := &failingStore{fakeStore: newFakeStore(metaGroup(model.FormatSimple, 3))}
	c := newConsumer(st, &poster{}, time.Now())
	msg := taskMsg(t, `{"x":1}`, 3)
	if err := c.process(t.Context(), msg); err == nil || msg.acked {
		t.Fatalf("err %v, msg %+v: want an error and no ack", err, msg)
	}
}

type failingStore struct{ *fakeStore }

func (f *failingStore) InsertMetaEvent(context.Context, *model.MetaEvent) error {
	return errors.New("store unavailable")
}
