package consume

import "time"

// window is one endpoint's adaptive in-flight limit on this dispatcher, in
// the manner of TCP congestion control: it starts at one attempt, doubles
// per round trip of fast successes until the endpoint first shows strain,
// then grows by about one per round trip; a sign of overload (429, 503, a
// timeout, a connection error) halves it, at most once per round trip so
// that one burst of failures counts once. A slow success (one that took
// longer than slowAfter) neither grows nor shrinks it: the endpoint answers,
// but more concurrency would only hold more workers.
type window struct {
	size, ceiling float64
	// threshold ends the doubling phase; it starts at the ceiling.
	threshold float64
	// latency is a moving average of attempt durations; zero until the
	// first attempt returns.
	latency    time.Duration
	lastShrink time.Time
}

func newWindow(ceiling int) window {
	c := float64(max(ceiling, 1))
	return window{size: 1, ceiling: c, threshold: c}
}

// limit is how many attempts may be in flight now.
func (w *window) limit() int { return int(w.size) }

// signal is what an attempt says about the endpoint's capacity.
type signal int

const (
	fastSuccess signal = iota
	slowSuccess
	overloaded
	// neutral: a failure that says nothing of capacity (a 4xx or a 500).
	neutral
)

// observe folds one finished attempt into the window.
func (w *window) observe(s signal, took time.Duration, now time.Time) {
	if w.latency == 0 {
		w.latency = took
	} else {
		w.latency = (w.latency*7 + took) / 8
	}
	switch s {
	case fastSuccess:
		if w.size < w.threshold {
			w.size++
		} else {
			w.size += 1 / w.size
		}
		w.size = min(w.size, w.ceiling)
	case overloaded:
		if now.Sub(w.lastShrink) < max(w.latency, 100*time.Millisecond) {
			return
		}
		w.lastShrink = now
		w.size = max(1, w.size/2)
		w.threshold = max(1, w.size)
	}
}
