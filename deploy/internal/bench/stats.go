package bench

import (
	"math"
	"slices"
	"time"
)

// Latency summarises acceptance→arrival latencies of one phase, in milliseconds so that the
// JSON reads without unit conversions.
type Latency struct {
	Count  int     `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P95ms  float64 `json:"p95_ms"`
	P99ms  float64 `json:"p99_ms"`
	MaxMs  float64 `json:"max_ms"`
	MeanMs float64 `json:"mean_ms"`
	// BeforeAnswer counts deliveries that reached the receiver before the producer had read
	// the event's 201.
	BeforeAnswer int `json:"before_answer"`
}

// Percentile returns the nearest-rank percentile p (0 < p ≤ 100) of sorted: the smallest
// value with at least p % of the values at or below it. It returns 0 for no values.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Summarize sorts lat in place and summarises it; beforeAnswer is passed through.
func Summarize(lat []time.Duration, beforeAnswer int) Latency {
	if len(lat) == 0 {
		return Latency{BeforeAnswer: beforeAnswer}
	}
	slices.Sort(lat)
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	return Latency{
		Count:        len(lat),
		P50ms:        ms(Percentile(lat, 50)),
		P95ms:        ms(Percentile(lat, 95)),
		P99ms:        ms(Percentile(lat, 99)),
		MaxMs:        ms(lat[len(lat)-1]),
		MeanMs:       ms(sum / time.Duration(len(lat))),
		BeforeAnswer: beforeAnswer,
	}
}

// ms converts to milliseconds rounded to the microsecond.
func ms(d time.Duration) float64 { return round(float64(d)/float64(time.Millisecond), 3) }

// round rounds x to n decimals, so that the JSON carries no false precision.
func round(x float64, n int) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	p := math.Pow(10, float64(n))
	return math.Round(x*p) / p
}

// perSec is n per second over d, or 0 for an empty interval.
func perSec(n int, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return round(float64(n)/d.Seconds(), 1)
}
