package endpointstats_test

import (
	"testing"
	"time"

	"convoy/core/endpointstats"
)

func TestOutcome(t *testing.T) {
	for kind, want := range map[string]string{
		"success": "success", "timeout": "timeout", "failure": "failure",
		"http_error": "failure", "redirect": "failure", "refused": "failure", "error": "failure", "": "failure", "odd": "failure",
	} {
		if got := endpointstats.Outcome(kind); got != want {
			t.Errorf("Outcome(%q) = %q, want %q", kind, got, want)
		}
	}
}

func TestSlot(t *testing.T) {
	for _, tc := range []struct {
		at   time.Time
		day  string
		slot int
	}{
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), "2026-12-01", 0},
		{time.Date(2026, 12, 1, 0, 4, 59, 999, time.UTC), "2026-12-01", 0},
		{time.Date(2026, 12, 1, 0, 5, 0, 0, time.UTC), "2026-12-01", 1},
		{time.Date(2026, 12, 1, 23, 59, 59, 0, time.UTC), "2026-12-01", 287},
		// Not UTC: the slot is the UTC one.
		{time.Date(2026, 12, 2, 1, 0, 0, 0, time.FixedZone("CET", 3600)), "2026-12-02", 0},
	} {
		if got := endpointstats.Day(tc.at).Format(time.DateOnly); got != tc.day {
			t.Errorf("Day(%v) = %s, want %s", tc.at, got, tc.day)
		}
		if got := endpointstats.Slot(tc.at); got != tc.slot {
			t.Errorf("Slot(%v) = %d, want %d", tc.at, got, tc.slot)
		}
	}
	if endpointstats.SlotsPerDay != 288 {
		t.Errorf("SlotsPerDay = %d", endpointstats.SlotsPerDay)
	}
}

// Every latency lands in a bin whose upper bound is above it and at most
// 19% above it (beyond 1 ms), and bins grow with the latency.
func TestBinResolution(t *testing.T) {
	prev := 0
	for us := int64(0); us < int64(10*time.Minute/time.Microsecond); us = us*21/20 + 1 {
		d := time.Duration(us) * time.Microsecond
		b := endpointstats.Bin(d)
		if b < prev {
			t.Fatalf("Bin(%v) = %d, below Bin of a shorter latency (%d)", d, b, prev)
		}
		prev = b
		if b == endpointstats.Bins-1 {
			continue
		}
		ms := float64(d) / float64(time.Millisecond)
		up := endpointstats.BinUpperMs(b)
		if up < ms {
			t.Fatalf("Bin(%v) = %d with upper bound %v ms, below the latency", d, b, up)
		}
		if ms >= 1 && up > ms*1.19+0.01 {
			t.Fatalf("Bin(%v) = %d with upper bound %v ms, more than 19%% above", d, b, up)
		}
	}
	if b := endpointstats.Bin(5 * time.Minute); b >= endpointstats.Bins-1 {
		t.Errorf("the longest http_timeout falls in the overflow bin %d", b)
	}
	if b := endpointstats.Bin(time.Hour); b != endpointstats.Bins-1 {
		t.Errorf("Bin(1h) = %d, want the last bin", b)
	}
}

func TestPercentile(t *testing.T) {
	var c endpointstats.Cell
	if _, ok := c.Percentile(0.5); ok {
		t.Fatal("percentile of nothing is ok")
	}
	// 98 fast attempts (10 ms), 2 slow ones (1 s).
	for range 98 {
		c.Add("success", 10*time.Millisecond)
	}
	c.Add("timeout", time.Second)
	c.Add("http_error", time.Second)
	if c.Success != 98 || c.Timeout != 1 || c.Failure != 1 || c.Attempts() != 100 {
		t.Fatalf("counts %+v", c)
	}
	for _, tc := range []struct {
		q      float64
		lo, hi float64
	}{
		{0.5, 10, 11.9},
		{0.98, 10, 11.9},
		{0.99, 1000, 1190},
		{1, 1000, 1190},
	} {
		got, ok := c.Percentile(tc.q)
		if !ok || got < tc.lo || got > tc.hi {
			t.Errorf("p%v = %v (%v), want within [%v, %v]", tc.q*100, got, ok, tc.lo, tc.hi)
		}
	}

	var other endpointstats.Cell
	other.Add("success", 10*time.Millisecond)
	other.Merge(&c)
	if other.Success != 99 || other.Attempts() != 101 {
		t.Errorf("merged %+v", other)
	}
}
