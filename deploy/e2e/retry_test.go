package e2e

import (
	"net/http"
	"testing"
	"time"
)

func TestRetrySchedules(t *testing.T) {
	s := startStack(t)
	send := func(group, app resource) string {
		var ev resource
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
			"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": 1},
		}, &ev)
		return ev.UID
	}

	t.Run("linear timing and an exact retry limit", func(t *testing.T) {
		recv := newScriptedReceiver(t, answer(500))
		group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 2, "retry_count": 3}}, recv.URL)
		ev := send(group, app)
		eventually(t, 30*time.Second, "the delivery to fail", func() bool {
			ds := deliveriesOf(s, group.UID, ev)
			return len(ds) == 1 && ds[0].Status == "Failure"
		})
		ds := deliveriesOf(s, group.UID, ev)
		if ds[0].Metadata.NumTrials != 3 || ds[0].Metadata.NextSend != nil {
			t.Fatalf("metadata %+v, want 3 trials and no next send time", ds[0].Metadata)
		}
		time.Sleep(3 * time.Second) // a fourth attempt would have come by now
		at := recv.times()
		if len(at) != 3 {
			t.Fatalf("%d attempts, want exactly the retry limit 3", len(at))
		}
		for i := 1; i < len(at); i++ {
			if gap := at[i].Sub(at[i-1]); gap < 2*time.Second || gap > 2500*time.Millisecond {
				t.Errorf("gap %d = %v, want 2s (within 500ms)", i, gap)
			}
		}
	})

	t.Run("Retry-After on a 429 overrides the strategy", func(t *testing.T) {
		recv := newScriptedReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(429)
		}, answer(200))
		// The strategy alone would wait 100 s.
		group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 100, "retry_count": 3}}, recv.URL)
		ev := send(group, app)
		eventually(t, 20*time.Second, "the delivery to succeed", func() bool {
			ds := deliveriesOf(s, group.UID, ev)
			return len(ds) == 1 && ds[0].Status == "Success"
		})
		at := recv.times()
		if gap := at[1].Sub(at[0]); gap < 2*time.Second || gap > 2500*time.Millisecond {
			t.Errorf("retry came %v after the 429, want the Retry-After of 2s", gap)
		}
	})

	t.Run("exponential backoff waits 10s after the first failure", func(t *testing.T) {
		recv := newScriptedReceiver(t, answer(503), answer(200))
		group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "exponential-backoff", "retry_count": 5}}, recv.URL)
		ev := send(group, app)
		eventually(t, 5*time.Second, "the first attempt", func() bool { return len(recv.times()) == 1 })
		ds := storedDeliveries(t, s, group.UID, ev, 1)
		if ds[0].Status != "Retry" || ds[0].Metadata.NextSend == nil {
			t.Fatalf("after the first failure: %+v, want Retry with a next send time", ds[0])
		}
		next, err := time.Parse(time.RFC3339Nano, *ds[0].Metadata.NextSend)
		if err != nil {
			t.Fatal(err)
		}
		if wait := next.Sub(recv.times()[0]); wait < 9500*time.Millisecond || wait > 10500*time.Millisecond {
			t.Errorf("next_send_time is %v after the first attempt, want 10s", wait)
		}
		eventually(t, 20*time.Second, "the second attempt", func() bool { return len(recv.times()) == 2 })
		at := recv.times()
		if gap := at[1].Sub(at[0]); gap < 10*time.Second || gap > 10500*time.Millisecond {
			t.Errorf("second attempt %v after the first, want 10s", gap)
		}
	})
}
