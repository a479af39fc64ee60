package deadletter_test

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"convoy/core/deadletter"
	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type env struct {
	js    jetstream.JetStream
	store *store.Store
	q     *deadletter.Queue
}

func newEnv(t *testing.T) *env {
	t.Helper()
	mongoURI, natsURL := embeddedtest.ForTest(t)
	ctx := t.Context()
	nc, js, err := queue.Connect(natsURL, "deadletter-test", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := queue.EnsureStreams(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, mongoURI, "convoy_deadletter_test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	if err := st.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	return &env{js: js, store: st, q: deadletter.New(js)}
}

func task(attempt int32) *queuev1.DeliveryTask {
	ev := ids.New()
	return &queuev1.DeliveryTask{
		DeliveryId: ids.Delivery(ev, "ep-1"), EventId: ev, GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1",
		EventType: "invoice.paid", Data: []byte(`{"n":1}`), Attempt: attempt, RetryLimit: 3,
		AcceptedAt: timestamppb.New(time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)),
	}
}

func raw(t *testing.T, tk *queuev1.DeliveryTask) []byte {
	t.Helper()
	b, err := proto.Marshal(tk)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// outcome is the update a first attempt that failed would record: the whole
// delivery with its attempt, a Retry status and the next attempt's time.
func outcome(tk *queuev1.DeliveryTask) (*store.DeliveryUpdate, *queuev1.RetryTask) {
	at := time.Date(2026, 12, 1, 10, 0, 1, 987654321, time.UTC)
	next := at.Add(100 * time.Second)
	desc := "endpoint answered Internal Server Error"
	a := model.Attempt{UID: ids.New(), URL: "https://example.com/hook", Method: "POST", IPAddress: "203.0.113.7",
		RequestHeader: map[string]string{"X-Convoy-Delivery-ID": tk.DeliveryId}, ResponseHeader: map[string]string{"Content-Type": "text/plain"},
		HTTPStatus: 500, ResponseData: "boom", Error: desc, DurationMs: 12, CreatedAt: at}
	d := &model.Delivery{UID: tk.DeliveryId, GroupID: tk.GroupId, EventID: tk.EventId, AppID: tk.AppId, EndpointID: tk.EndpointId,
		EventType: tk.EventType, Status: model.StatusRetry, Description: desc,
		Metadata: model.DeliveryMetadata{NumTrials: 1, RetryLimit: 3, Strategy: model.StrategyLinear, IntervalSeconds: 100, NextSendTime: &next},
		Attempts: []model.Attempt{a}, CreatedAt: at, UpdatedAt: at}
	u := &store.DeliveryUpdate{ID: tk.DeliveryId, New: d, Status: model.StatusRetry,
		Trials: &store.Trials{NumTrials: 1, NextSendTime: &next}, Description: &desc, Attempt: &a, At: at}
	nt := proto.Clone(tk).(*queuev1.DeliveryTask)
	nt.Attempt = 2
	return u, &queuev1.RetryTask{Task: nt, DueAt: timestamppb.New(next)}
}

// An entry, its outcome included, comes back exactly as it was put.
func TestEncodeRoundTrip(t *testing.T) {
	tk := task(1)
	u, rt := outcome(tk)
	in := deadletter.Entry{Reason: deadletter.ReasonAttemptUnrecorded, Error: "update deliveries: timeout", Subject: queue.DispatchSubject(tk.DeliveryId),
		Task: raw(t, tk), Outcome: u, Retry: rt, DeadAt: time.Date(2026, 12, 1, 10, 0, 2, 5, time.UTC)}
	b, err := deadletter.Encode(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := deadletter.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(out.Retry, in.Retry) {
		t.Errorf("retry %v, want %v", out.Retry, in.Retry)
	}
	out.Retry, in.Retry = nil, nil
	if !reflect.DeepEqual(out, in) {
		t.Errorf("round trip differs:\n got %+v\nwant %+v", out, in)
	}
	if !reflect.DeepEqual(out.Outcome.New, u.New) {
		t.Errorf("delivery differs:\n got %+v\nwant %+v", out.Outcome.New, u.New)
	}
}

// Put stores an entry durably; List pages through them oldest first, with
// what decodes of each; Count and the gauge follow.
func TestPutListCount(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tasks := make([]*queuev1.DeliveryTask, 5)
	for i := range tasks {
		tasks[i] = task(1)
		if err := e.q.Put(ctx, deadletter.Entry{Reason: deadletter.ReasonStoreFailing, Error: "mongodb down",
			Subject: queue.DispatchSubject(tasks[i].DeliveryId), Task: raw(t, tasks[i])}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.q.Put(ctx, deadletter.Entry{Reason: deadletter.ReasonUndecodable, Error: "decode task: bad", Subject: "convoy.dispatch.dlv-x", Task: []byte{0xff, 0x01}}); err != nil {
		t.Fatal(err)
	}

	var all []deadletter.Stored
	from, pages := uint64(0), 0
	for {
		page, next, err := e.q.List(ctx, from, 2)
		if err != nil {
			t.Fatal(err)
		}
		all, pages = append(all, page...), pages+1
		if next == 0 {
			break
		}
		from = next
	}
	if len(all) != 6 || pages != 3 {
		t.Fatalf("listed %d entries in %d pages, want 6 in 3", len(all), pages)
	}
	for i, s := range all[:5] {
		if s.Decoded == nil || s.Decoded.DeliveryId != tasks[i].DeliveryId || s.Reason != deadletter.ReasonStoreFailing || s.DeadAt.IsZero() {
			t.Errorf("entry %d = %+v, want task %s", i, s, tasks[i].DeliveryId)
		}
		if i > 0 && s.ID <= all[i-1].ID {
			t.Errorf("ids not increasing: %d after %d", s.ID, all[i-1].ID)
		}
	}
	if u := all[5]; u.Decoded != nil || u.Reason != deadletter.ReasonUndecodable || string(u.Entry.Task) != "\xff\x01" {
		t.Errorf("undecodable entry = %+v", u)
	}
	if n, err := e.q.Count(ctx); err != nil || n != 6 {
		t.Errorf("count = %d, %v", n, err)
	}

	reg := prometheus.NewRegistry()
	gctx, stop := context.WithCancel(ctx)
	defer stop()
	go deadletter.NewGauge(e.q, reg).Poll(gctx, 10*time.Millisecond)
	deadline := time.Now().Add(5 * time.Second)
	for gaugeValue(t, reg) != 6 {
		if time.Now().After(deadline) {
			t.Fatalf("gauge = %v, want 6", gaugeValue(t, reg))
		}
		time.Sleep(10 * time.Millisecond)
	}

	// A dead-lettered delivery counts as queued: the sweep leaves it alone.
	if q, err := queue.NewPublisher(e.js).Queued(ctx, tasks[0].DeliveryId); err != nil || !q {
		t.Errorf("Queued(dead-lettered) = %v, %v", q, err)
	}
}

func gaugeValue(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "convoy_dispatch_dead_letters" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return -1
}

// Redriving writes held outcomes (once), queues their retries, republishes
// raw tasks to their subjects, deletes what it redrove and leaves what it
// could not.
func TestRedriveRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()

	// 1: an attempt whose outcome was never recorded.
	unrecorded := task(1)
	u1, rt1 := outcome(unrecorded)
	// 2: an attempt whose write "failed" but landed.
	landed := task(1)
	u2, rt2 := outcome(landed)
	if err := e.store.UpdateDeliveries(ctx, []store.DeliveryUpdate{*u2}); err != nil {
		t.Fatal(err)
	}
	// 3: a task the store kept failing for, before any attempt.
	plain := task(2)
	// 4: nothing to redrive.
	entries := []deadletter.Entry{
		{Reason: deadletter.ReasonAttemptUnrecorded, Error: "x", Subject: queue.DispatchSubject(unrecorded.DeliveryId), Task: raw(t, unrecorded), Outcome: u1, Retry: rt1},
		{Reason: deadletter.ReasonAttemptUnrecorded, Error: "x", Subject: queue.DispatchSubject(landed.DeliveryId), Task: raw(t, landed), Outcome: u2, Retry: rt2},
		{Reason: deadletter.ReasonStoreFailing, Error: "x", Subject: queue.DispatchSubject(plain.DeliveryId), Task: raw(t, plain)},
		{Reason: deadletter.ReasonUndecodable, Error: "x"},
	}
	for _, en := range entries {
		if err := e.q.Put(ctx, en); err != nil {
			t.Fatal(err)
		}
	}
	listed, _, err := e.q.List(ctx, 0, 10)
	if err != nil || len(listed) != 4 {
		t.Fatalf("list: %d, %v", len(listed), err)
	}

	// By ids first: the plain task, and an id that does not exist.
	res, err := e.q.Redrive(ctx, e.store, []uint64{listed[2].ID, 9999})
	if err != nil {
		t.Fatal(err)
	}
	if res.Redriven != 1 || len(res.Failures) != 1 || res.Failures[0].ID != 9999 || !errors.Is(res.Failures[0].Err, jetstream.ErrMsgNotFound) {
		t.Fatalf("redrive by ids: %+v", res)
	}
	dispatch, err := e.js.Stream(ctx, queue.StreamDispatch)
	if err != nil {
		t.Fatal(err)
	}
	m, err := dispatch.GetLastMsgForSubject(ctx, queue.DispatchSubject(plain.DeliveryId))
	if err != nil {
		t.Fatalf("republished task not on the dispatch stream: %v", err)
	}
	if got, err := queue.DecodeTask(m.Data); err != nil || !proto.Equal(got, plain) {
		t.Errorf("republished task %v (%v), want %v", got, err, plain)
	}

	// Then everything left.
	res, err = e.q.Redrive(ctx, e.store, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Redriven != 2 || len(res.Failures) != 1 || res.Failures[0].ID != listed[3].ID {
		t.Fatalf("redrive all: %+v", res)
	}
	for _, c := range []struct {
		id       string
		attempts int
	}{{unrecorded.DeliveryId, 1}, {landed.DeliveryId, 1}} {
		stored, err := e.store.DeliveryAttempts(ctx, "grp-1", c.id)
		if err != nil || len(stored) != c.attempts {
			t.Errorf("delivery %s has %d attempts (%v), want %d", c.id, len(stored), err, c.attempts)
		}
		d, err := e.store.DeliveryByID(ctx, c.id)
		if err != nil || d.Status != model.StatusRetry || d.Metadata.NumTrials != 1 {
			t.Errorf("delivery %s = %+v (%v), want Retry after 1 trial", c.id, d, err)
		}
	}
	retries, err := e.js.Stream(ctx, queue.StreamRetry)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range []*queuev1.RetryTask{rt1, rt2} {
		m, err := retries.GetLastMsgForSubject(ctx, queue.RetrySubject(rt.Task.DeliveryId))
		if err != nil {
			t.Fatalf("retry of %s not queued: %v", rt.Task.DeliveryId, err)
		}
		if got, err := queue.DecodeRetry(m.Data); err != nil || !proto.Equal(got, rt) {
			t.Errorf("queued retry %v (%v), want %v", got, err, rt)
		}
	}
	left, _, err := e.q.List(ctx, 0, 10)
	if err != nil || len(left) != 1 || left[0].ID != listed[3].ID {
		t.Errorf("left after redrive: %+v (%v), want only the entry with nothing to redrive", left, err)
	}
}

// An event's data close to the message size limit, and a 50 KiB response
// body, still make an entry: the retry shares the task's data, and the body
// is cut (marked truncated) only as far as the entry must shrink.
func TestPutLargeEntry(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	tk := task(1)
	tk.Data = []byte(`"` + strings.Repeat("x", 1<<20-12<<10) + `"`)
	u, rt := outcome(tk)
	body := strings.Repeat("é", 25<<10) // 50 KiB
	u.Attempt.ResponseData = body
	u.New.Attempts[0].ResponseData = body
	if err := e.q.Put(ctx, deadletter.Entry{Reason: deadletter.ReasonAttemptUnrecorded, Error: "x", Subject: queue.DispatchSubject(tk.DeliveryId),
		Task: raw(t, tk), Outcome: u, Retry: rt}); err != nil {
		t.Fatalf("put a large entry: %v", err)
	}
	got, _, err := e.q.List(ctx, 0, 1)
	if err != nil || len(got) != 1 {
		t.Fatalf("list: %v %v", got, err)
	}
	g := got[0]
	if !proto.Equal(g.Retry, rt) || !bytes.Equal(g.Decoded.Data, tk.Data) {
		t.Error("the retry or the task lost the event's data")
	}
	a := g.Outcome.Attempt
	if !a.ResponseTruncated || len(a.ResponseData) >= len(body) || !utf8.ValidString(a.ResponseData) || !strings.HasPrefix(body, a.ResponseData) {
		t.Errorf("response body %d bytes (truncated %v), want a valid prefix of the %d-byte body", len(a.ResponseData), a.ResponseTruncated, len(body))
	}
	if g.Outcome.New.Attempts[0].ResponseData != a.ResponseData || g.Outcome.New.Attempts[0].HTTPStatus != 500 {
		t.Error("the whole delivery's attempt differs from the update's")
	}

	// Small entries are not touched.
	small := task(1)
	su, srt := outcome(small)
	if err := e.q.Put(ctx, deadletter.Entry{Reason: deadletter.ReasonAttemptUnrecorded, Subject: "s", Task: raw(t, small), Outcome: su, Retry: srt}); err != nil {
		t.Fatal(err)
	}
	got, _, err = e.q.List(ctx, g.ID+1, 1)
	if err != nil || len(got) != 1 || got[0].Outcome.Attempt.ResponseTruncated || got[0].Outcome.Attempt.ResponseData != "boom" {
		t.Errorf("small entry changed: %+v %v", got, err)
	}
}
