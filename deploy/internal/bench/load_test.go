package bench

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"
)

func TestExtractUID(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"gateway answer", `{"status":true,"message":"Event created successfully","data":{"uid":"01J9ZK3M2Q","group_id":"g","app_id":"a"}}`, "01J9ZK3M2Q"},
		{"uid not first in data", `{"status":true,"message":"m","data":{"group_id":"g","uid":"E1"}}`, "E1"},
		{"uid outside data is ignored", `{"uid":"wrong","data":{"uid":"right"}}`, "right"},
		{"no data", `{"status":false,"message":"bad"}`, ""},
		{"empty uid", `{"data":{"uid":""}}`, ""},
		{"unterminated", `{"data":{"uid":"abc`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := extractUID([]byte(tt.in)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestEventBody(t *testing.T) {
	for _, size := range []int{0, 100, 512, 4096} {
		body, data := eventBody("app_1", size)
		var in struct {
			AppID     string          `json:"app_id"`
			EventType string          `json:"event_type"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &in); err != nil {
			t.Fatalf("size %d: %v", size, err)
		}
		if in.AppID != "app_1" || in.EventType == "" || string(in.Data) != string(data) {
			t.Fatalf("size %d: %+v", size, in)
		}
		if !json.Valid(data) || (size >= 25 && len(data) != size) {
			t.Fatalf("size %d: data is %d bytes: %s", size, len(data), data)
		}
	}
}

func TestClosedLoopStopsAtLimit(t *testing.T) {
	clk := newClock()
	var n, accepted atomic.Int64
	newSend := func() sendFunc {
		return func(context.Context) outcome {
			i := n.Add(1)
			if i%10 == 0 {
				return outcome{code: "503"}
			}
			return outcome{id: "e", ok: true}
		}
	}
	tl := closedLoop(t.Context(), clk, loopOptions{workers: 4, duration: time.Minute, limit: 100, accepted: &accepted}, newSend)
	if tl.sent != 100 || len(tl.accepts) != 90 || tl.failures["503"] != 10 || tl.failed() != 10 {
		t.Fatalf("sent %d, accepted %d, failures %v", tl.sent, len(tl.accepts), tl.failures)
	}
	if accepted.Load() != 90 {
		t.Fatalf("accepted counter %d", accepted.Load())
	}
	if tl.firstErr != "503" || tl.end < tl.start {
		t.Fatalf("firstErr %q, start %v end %v", tl.firstErr, tl.start, tl.end)
	}
}

func TestClosedLoopGateHoldsBack(t *testing.T) {
	clk := newClock()
	var sent atomic.Int64
	newSend := func() sendFunc {
		return func(context.Context) outcome { sent.Add(1); return outcome{id: "e", ok: true} }
	}
	tl := closedLoop(t.Context(), clk, loopOptions{workers: 2, duration: 50 * time.Millisecond, limit: 1000,
		gate: func() bool { return sent.Load() < 5 }}, newSend)
	// Both workers may pass the gate before either has sent: at most one extra each.
	if tl.sent < 5 || tl.sent > 6 {
		t.Fatalf("sent %d past a gate that closes at 5", tl.sent)
	}
}

func TestOpenLoopCountsMissedSends(t *testing.T) {
	clk := newClock()
	release := make(chan struct{})
	newSend := func() sendFunc {
		return func(context.Context) outcome { <-release; return outcome{id: "e", ok: true} }
	}
	// One worker held until the 50 ms schedule is surely over, and one slot in the queue:
	// every other send falls due with nowhere to go.
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	tl := openLoop(t.Context(), clk, 1000, 50*time.Millisecond, 1, nil, newSend)
	if tl.sent+tl.missed != 50 || tl.sent != 2 || len(tl.accepts) != 2 {
		t.Fatalf("sent %d, missed %d, accepted %d: want 2 sent (one in flight, one queued) and 48 missed",
			tl.sent, tl.missed, len(tl.accepts))
	}
}
