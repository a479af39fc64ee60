package consume_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/consume"

	"github.com/nats-io/nats.go/jetstream"
)

// Ingest queues a delivery without storing it: the first outcome stores the
// whole delivery, as fan-out would have planned it, with its attempt.
func TestFirstOutcomeStoresTheWholeDelivery(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	rc := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	ep := h.endpoint(t, g, rc.URL, nil)
	d, task := h.send(t, g, ep, 0, nil)
	got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess, model.StatusRetry, model.StatusFailure)
	if got.Status != model.StatusSuccess || got.GroupID != g.UID || got.EventID != task.EventId || got.AppID != ep.AppID ||
		got.EndpointID != ep.UID || got.EventType != task.EventType || got.Generation != 0 {
		t.Fatalf("stored delivery %+v", got)
	}
	m := got.Metadata
	if m.NumTrials != 1 || m.RetryLimit != task.RetryLimit || m.Strategy != g.Config.Strategy.Type ||
		m.IntervalSeconds != g.Config.Strategy.Duration || m.NextSendTime != nil {
		t.Fatalf("metadata %+v", m)
	}
	if !got.CreatedAt.Equal(task.AcceptedAt.AsTime().Truncate(time.Millisecond)) {
		t.Fatalf("created_at %v, want the event's acceptance %v", got.CreatedAt, task.AcceptedAt.AsTime())
	}
	if atts := h.attempts(t, got); len(atts) != 1 || !atts[0].Status || atts[0].HTTPStatus != 200 {
		t.Fatalf("attempts %+v", atts)
	}
}

// lostRecorder loses the first outcome before it is written, as if the
// process had died mid-attempt.
type lostRecorder struct {
	consume.Recorder
	lost atomic.Bool
}

func (r *lostRecorder) Record(ctx context.Context, u store.DeliveryUpdate) error {
	if u.Attempt != nil && r.lost.CompareAndSwap(false, true) {
		return errors.New("died before the write")
	}
	return r.Recorder.Record(ctx, u)
}

// A failed outcome write is written again, not answered by making the
// attempt again: the receiver sees one request and the store one attempt.
func TestFailedOutcomeWriteIsWrittenAgain(t *testing.T) {
	rec := &lostRecorder{}
	h := newHarness(t, harnessOptions{wrapRecorder: func(r consume.Recorder) consume.Recorder { rec.Recorder = r; return rec }})
	rc := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	ep := h.endpoint(t, g, rc.URL, nil)
	d, _ := h.send(t, g, ep, 0, nil)
	got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess)
	if !rec.lost.Load() {
		t.Fatal("the recorder never lost an outcome")
	}
	h.waitHandled(t)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
	if atts := h.attempts(t, got); len(atts) != 1 {
		t.Fatalf("%d attempts recorded, want 1", len(atts))
	}
}

// A redelivered first attempt whose delivery is not stored has not been
// recorded yet (its dispatcher died before writing it): it is made, not
// dropped as if the delivery were gone.
func TestRedeliveredFirstAttemptWithNothingStoredIsMade(t *testing.T) {
	h := newHarness(t, harnessOptions{noDispatcher: true})
	rc := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	ep := h.endpoint(t, g, rc.URL, nil)
	d, _ := h.send(t, g, ep, 0, nil)
	// A dispatcher takes the task and dies: the task comes back.
	cons, err := consume.EnsureConsumer(t.Context(), h.js, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := msg.Nak(); err != nil {
		t.Fatal(err)
	}
	h.startDispatcher(t, harnessOptions{})
	got := h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess)
	h.waitHandled(t)
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
	if atts := h.attempts(t, got); len(atts) != 1 {
		t.Fatalf("%d attempts recorded, want 1", len(atts))
	}
}

// A delivery a rate limit holds back for long shows as Scheduled before its
// attempt.
func TestHeldBackDeliveryIsStoredScheduled(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	rc := newReceiver(t, simpleSHA256, nil)
	g := h.group(t, nil)
	ep := h.endpoint(t, g, rc.URL, func(e *model.Endpoint) { e.RateLimit, e.RateLimitDuration = 1, 10*time.Second })
	first, _ := h.send(t, g, ep, 0, nil)
	h.waitStatus(t, first.UID, 5*time.Second, model.StatusSuccess)
	held, _ := h.send(t, g, ep, 0, nil)
	got := h.waitStatus(t, held.UID, 5*time.Second, model.StatusScheduled, model.StatusSuccess)
	if got.Status != model.StatusScheduled || got.Metadata.NumTrials != 0 || got.EndpointID != ep.UID {
		t.Fatalf("held-back delivery %s with %d trials, want Scheduled with none", got.Status, got.Metadata.NumTrials)
	}
	if n := len(rc.requests()); n != 1 {
		t.Fatalf("receiver got %d requests, want 1", n)
	}
}
