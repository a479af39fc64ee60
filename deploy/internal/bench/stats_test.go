package bench

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		out := make([]time.Duration, len(xs))
		for i, x := range xs {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one value", ms(7), 50, 7 * time.Millisecond},
		{"one value p99", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p95 of four is the last", ms(1, 2, 3, 4), 95, 4 * time.Millisecond},
		{"p100 is the max", ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{"tiny p is the min", ms(1, 2, 3, 4), 0.1, 1 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p99.9 of 1..100 rounds up", hundred, 99.9, 100 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("Percentile(p%v) = %v, want %v", tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	lat := []time.Duration{5 * time.Millisecond, time.Millisecond, 3 * time.Millisecond, 1500 * time.Microsecond}
	got := Summarize(lat, 2)
	want := Latency{Count: 4, P50ms: 1.5, P95ms: 5, P99ms: 5, MaxMs: 5, MeanMs: 2.625, BeforeAnswer: 2}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if lat[0] != time.Millisecond {
		t.Fatalf("input not sorted in place: %v", lat)
	}
	if got := Summarize(nil, 3); got != (Latency{BeforeAnswer: 3}) {
		t.Fatalf("empty: %+v", got)
	}
}

func TestPerSecAndRound(t *testing.T) {
	if got := perSec(150, 1500*time.Millisecond); got != 100 {
		t.Fatalf("perSec = %v", got)
	}
	if got := perSec(5, 0); got != 0 {
		t.Fatalf("perSec over nothing = %v", got)
	}
	if got := round(2.34567, 2); got != 2.35 {
		t.Fatalf("round = %v", got)
	}
}
