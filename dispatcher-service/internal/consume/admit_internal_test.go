package consume

import (
	"testing"
	"time"
)

func TestAdmit(t *testing.T) {
	opts := admitOptions{slowBudget: 4, parkBudget: 8, maxPark: 500 * time.Millisecond}
	for _, tc := range []struct {
		name string
		lane laneView
		pool poolView
		want verdict
	}{
		{"room in the window starts", laneView{inFlight: 1, limit: 2}, poolView{}, verdict{kind: start}},
		{"fast endpoint at its limit parks", laneView{inFlight: 2, limit: 2, latency: 10 * time.Millisecond}, poolView{}, verdict{kind: park}},
		{"unknown pace parks one round of its limit", laneView{inFlight: 2, limit: 2, queued: 1}, poolView{}, verdict{kind: park}},
		{"unknown pace beyond one round goes back", laneView{inFlight: 2, limit: 2, queued: 2}, poolView{},
			verdict{kind: handBack, delay: 50 * time.Millisecond}},
		{"fast endpoint parks what it finishes in half of maxPark", laneView{inFlight: 2, limit: 2, queued: 49, latency: 10 * time.Millisecond}, poolView{}, verdict{kind: park}},
		{"beyond that it goes back", laneView{inFlight: 2, limit: 2, queued: 50, latency: 10 * time.Millisecond}, poolView{},
			verdict{kind: handBack, delay: 50 * time.Millisecond}},
		{"parking is bounded for the whole dispatcher", laneView{inFlight: 2, limit: 2, latency: 10 * time.Millisecond}, poolView{parked: 8},
			verdict{kind: handBack, delay: 50 * time.Millisecond}},
		{"a handed-back fast task comes back after about one attempt", laneView{inFlight: 2, limit: 2, queued: 400, latency: 300 * time.Millisecond}, poolView{},
			verdict{kind: handBack, delay: 300 * time.Millisecond}},
		{"slow endpoint with room starts in the slow pool", laneView{inFlight: 0, limit: 1, slow: true, latency: 20 * time.Second}, poolView{slowHeld: 3},
			verdict{kind: start, slow: true}},
		{"slow endpoints never park", laneView{inFlight: 1, limit: 1, slow: true, latency: 20 * time.Second}, poolView{},
			verdict{kind: handBack, delay: 20 * time.Second}},
		{"slow pool full: even a slow endpoint with room goes back", laneView{inFlight: 0, limit: 4, slow: true, latency: 3 * time.Second}, poolView{slowHeld: 4},
			verdict{kind: handBack, delay: 3 * time.Second}},
		{"slow pace not yet measured comes back in 5 s", laneView{inFlight: 1, limit: 1, slow: true}, poolView{},
			verdict{kind: handBack, delay: 5 * time.Second}},
		{"very slow comes back in at most 30 s", laneView{inFlight: 1, limit: 1, slow: true, latency: time.Minute}, poolView{},
			verdict{kind: handBack, delay: 30 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := admit(tc.lane, tc.pool, opts); got != tc.want {
				t.Fatalf("admit(%+v, %+v) = %+v, want %+v", tc.lane, tc.pool, got, tc.want)
			}
		})
	}
}

func TestWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	type step struct {
		s    signal
		took time.Duration
		at   time.Duration // after t0
		want int
	}
	for _, tc := range []struct {
		name  string
		ceil  int
		steps []step
	}{
		{"fast successes double it up to the ceiling", 8, []step{
			{fastSuccess, time.Millisecond, 0, 2}, {fastSuccess, time.Millisecond, 0, 3}, {fastSuccess, time.Millisecond, 0, 4},
			{fastSuccess, time.Millisecond, 0, 5}, {fastSuccess, time.Millisecond, 0, 6}, {fastSuccess, time.Millisecond, 0, 7},
			{fastSuccess, time.Millisecond, 0, 8}, {fastSuccess, time.Millisecond, 0, 8},
		}},
		{"slow successes and neutral failures leave it", 8, []step{
			{slowSuccess, 20 * time.Second, 0, 1}, {neutral, time.Millisecond, 0, 1},
		}},
		{"overload halves it, once per round trip", 64, []step{
			{fastSuccess, 200 * time.Millisecond, 0, 2}, {fastSuccess, 200 * time.Millisecond, 0, 3}, {fastSuccess, 200 * time.Millisecond, 0, 4},
			{fastSuccess, 200 * time.Millisecond, 0, 5}, {fastSuccess, 200 * time.Millisecond, 0, 6}, {fastSuccess, 200 * time.Millisecond, 0, 7},
			{fastSuccess, 200 * time.Millisecond, 0, 8},
			{overloaded, 200 * time.Millisecond, time.Second, 4},
			{overloaded, 200 * time.Millisecond, time.Second + 50*time.Millisecond, 4}, // same round trip
			{overloaded, 200 * time.Millisecond, 2 * time.Second, 2},
			{overloaded, 200 * time.Millisecond, 3 * time.Second, 1},
			{overloaded, 200 * time.Millisecond, 4 * time.Second, 1}, // floor
		}},
		{"after overload it grows by about one per round trip", 64, []step{
			{fastSuccess, time.Millisecond, 0, 2}, {fastSuccess, time.Millisecond, 0, 3}, {fastSuccess, time.Millisecond, 0, 4},
			{overloaded, time.Millisecond, time.Second, 2},
			// 2.5, 2.9, 3.24, 3.55, 3.83, 4.09: +1/size per success
			{fastSuccess, time.Millisecond, time.Second, 2}, {fastSuccess, time.Millisecond, time.Second, 2},
			{fastSuccess, time.Millisecond, time.Second, 3}, {fastSuccess, time.Millisecond, time.Second, 3},
			{fastSuccess, time.Millisecond, time.Second, 3}, {fastSuccess, time.Millisecond, time.Second, 4},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWindow(tc.ceil)
			for i, st := range tc.steps {
				w.observe(st.s, st.took, t0.Add(st.at))
				if got := w.limit(); got != st.want {
					t.Fatalf("step %d (%v after %v): limit %d, want %d", i, st.s, st.took, got, st.want)
				}
			}
		})
	}
}
