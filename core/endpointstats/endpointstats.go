// Package endpointstats is the arithmetic of endpoint statistics shared by
// the dispatcher, which counts attempts, and ingest-service, which answers
// them: the three outcomes, the 5-minute slots of a UTC day, and the small
// log-scale latency histogram percentiles are read from.
package endpointstats

import (
	"math"
	"time"
)

// Outcomes of an attempt, as the stats API counts them.
const (
	Success = "success"
	Failure = "failure"
	Timeout = "timeout"
)

// Outcome maps the dispatcher's attempt kinds (success, http_error,
// redirect, timeout, refused, error) to the three outcomes counted; the
// outcomes themselves map to themselves. Anything unknown is a failure: an
// attempt that was not a success must never be counted as one.
func Outcome(kind string) string {
	switch kind {
	case Success:
		return Success
	case Timeout:
		return Timeout
	default:
		return Failure
	}
}

// SlotSize is the width of one bucket; a UTC day has SlotsPerDay of them.
const (
	SlotSize    = 5 * time.Minute
	SlotsPerDay = int(24 * time.Hour / SlotSize)
)

// Day is the UTC midnight starting t's day.
func Day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Slot is the index (0 to SlotsPerDay-1) of t's 5-minute slot in its UTC day.
func Slot(t time.Time) int {
	return int(t.UTC().Sub(Day(t)) / SlotSize)
}

// Latency histogram: bin 0 holds attempts under 1 ms; bin i ≥ 1 holds
// [2^((i-1)/4), 2^(i/4)) ms, four bins per doubling, so a bin's upper bound
// is at most 19% above any latency in it; the last bin holds everything from
// 2^((Bins-2)/4) ms (about 7 minutes, beyond the longest http_timeout) up.
const (
	binsPerDoubling = 4
	Bins            = 78
)

// Bin is the histogram bin of a latency.
func Bin(d time.Duration) int {
	ms := float64(d) / float64(time.Millisecond)
	if ms < 1 {
		return 0
	}
	i := 1 + int(math.Floor(binsPerDoubling*math.Log2(ms)))
	return min(i, Bins-1)
}

// BinUpperMs is the upper bound of bin i in milliseconds (the last bin
// answers its lower bound: it has no upper one).
func BinUpperMs(i int) float64 {
	if i >= Bins-1 {
		i = Bins - 2
	}
	// Rounded up to 0.01 ms, so that it stays an upper bound.
	return math.Ceil(math.Exp2(float64(i)/binsPerDoubling)*100) / 100
}

// Cell is what one endpoint did in one slot (or any span, once merged).
type Cell struct {
	Success, Failure, Timeout int64
	Latency                   [Bins]int64
}

// Add counts one attempt.
func (c *Cell) Add(outcome string, latency time.Duration) {
	switch Outcome(outcome) {
	case Success:
		c.Success++
	case Timeout:
		c.Timeout++
	default:
		c.Failure++
	}
	c.Latency[Bin(latency)]++
}

// Merge adds o's counts to c.
func (c *Cell) Merge(o *Cell) {
	c.Success += o.Success
	c.Failure += o.Failure
	c.Timeout += o.Timeout
	for i, n := range o.Latency {
		c.Latency[i] += n
	}
}

// Attempts is the number of attempts counted.
func (c *Cell) Attempts() int64 { return c.Success + c.Failure + c.Timeout }

// Percentile is the latency (ms) at or under which a share q (0 < q ≤ 1) of
// the attempts finished, as the upper bound of the bin it falls in; ok is
// false when nothing was counted.
func (c *Cell) Percentile(q float64) (ms float64, ok bool) {
	var total int64
	for _, n := range c.Latency {
		total += n
	}
	if total == 0 {
		return 0, false
	}
	rank := int64(math.Ceil(q * float64(total)))
	rank = max(rank, 1)
	var seen int64
	for i, n := range c.Latency {
		seen += n
		if seen >= rank {
			return BinUpperMs(i), true
		}
	}
	return BinUpperMs(Bins - 1), true
}
