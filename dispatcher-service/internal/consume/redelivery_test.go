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
	queuev1 "convoy/proto/convoy/queue/v1"
)

// flakyRecorder writes every update but reports the first outcome as
// failed, as if the process had died between the write and the ack.
type flakyRecorder struct {
	consume.Recorder
	failed atomic.Bool
}

func (r *flakyRecorder) Record(ctx context.Context, u store.DeliveryUpdate) error {
	if err := r.Recorder.Record(ctx, u); err != nil {
		return err
	}
	if u.Attempt != nil && r.failed.CompareAndSwap(false, true) {
		return errors.New("lost after the write")
	}
	return nil
}

// flakyRetrier loses the first retry publish.
type flakyRetrier struct {
	consume.Retrier
	calls atomic.Int32
}

func (r *flakyRetrier) PublishRetry(ctx context.Context, rt *queuev1.RetryTask) error {
	if r.calls.Add(1) == 1 {
		return errors.New("publish lost")
	}
	return r.Retrier.PublishRetry(ctx, rt)
}

// A task that comes back after its attempt was recorded is not posted again.
func TestRedeliveredTaskDoesNotPostAgain(t *testing.T) {
	t.Run("success recorded, ack lost", func(t *testing.T) {
		t.Parallel()
		rec := &flakyRecorder{}
		h := newHarness(t, harnessOptions{wrapRecorder: func(r consume.Recorder) consume.Recorder { rec.Recorder = r; return rec }})
		rc := newReceiver(t, simpleSHA256, nil)
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, nil)
		d, _ := h.send(t, g, ep, 0, nil)
		h.waitStatus(t, d.UID, 10*time.Second, model.StatusSuccess)
		if !rec.failed.Load() {
			t.Fatal("the recorder never failed")
		}
		h.waitHandled(t)
		if n := len(rc.requests()); n != 1 {
			t.Fatalf("receiver got %d requests, want 1", n)
		}
		if got := h.attempts(t, d); len(got) != 1 {
			t.Fatalf("%d attempts recorded, want 1", len(got))
		}
	})

	t.Run("retry recorded, publish lost", func(t *testing.T) {
		t.Parallel()
		ret := &flakyRetrier{}
		h := newHarness(t, harnessOptions{wrapRetrier: func(r consume.Retrier) consume.Retrier { ret.Retrier = r; return ret }})
		rc := newReceiver(t, simpleSHA256, status(500))
		g := h.group(t, nil)
		ep := h.endpoint(t, g, rc.URL, nil)
		d, task := h.send(t, g, ep, 0, nil)
		h.waitStatus(t, d.UID, 10*time.Second, model.StatusRetry)
		deadline := time.Now().Add(10 * time.Second)
		for {
			if rt, _ := h.retryTask(t, d.UID); rt != nil {
				if rt.Task.Attempt != task.Attempt+1 {
					t.Fatalf("retry for attempt %d, want %d", rt.Task.Attempt, task.Attempt+1)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the lost retry was never queued again")
			}
			time.Sleep(50 * time.Millisecond)
		}
		h.waitHandled(t)
		if n := len(rc.requests()); n != 1 {
			t.Fatalf("receiver got %d requests, want 1", n)
		}
		if got := h.attempts(t, d); len(got) != 1 {
			t.Fatalf("%d attempts recorded, want 1", len(got))
		}
	})
}

// waitHandled waits until the dispatch stream holds no task: every task was
// acknowledged.
func (h *harness) waitHandled(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		s, err := h.js.Stream(t.Context(), "CONVOY_DISPATCH")
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if info.State.Msgs == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d tasks still on the dispatch stream", info.State.Msgs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
