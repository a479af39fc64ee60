package consume_test

import (
	"net/http"
	"testing"
	"time"

	"convoy/core/model"
)

// An attempt that lasts shows its delivery as Processing, and the mark never
// lands after the outcome.
func TestLongAttemptIsMarkedProcessing(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	slow := newReceiver(t, simpleSHA256, func(w http.ResponseWriter, r *http.Request, _ int, released <-chan struct{}) {
		hold(r, released, 2500*time.Millisecond)
	})
	g := h.group(t, nil)
	ep := h.endpoint(t, g, slow.URL, nil)
	d, _ := h.send(t, g, ep, 0, nil)
	h.waitStatus(t, d.UID, 3*time.Second, model.StatusProcessing)
	h.waitStatus(t, d.UID, 5*time.Second, model.StatusSuccess)
	time.Sleep(300 * time.Millisecond) // room for a late mark to land, if one could
	if got := h.waitStatus(t, d.UID, time.Second, model.StatusSuccess); got.Metadata.NumTrials != 1 {
		t.Fatalf("num_trials %d, want 1", got.Metadata.NumTrials)
	}
}
