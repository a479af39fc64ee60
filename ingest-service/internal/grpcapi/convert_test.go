package grpcapi

import (
	"testing"
	"time"
)

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		time.Minute: "1m", 30 * time.Second: "30s", time.Hour: "1h", 90 * time.Minute: "1h30m",
		720 * time.Hour: "720h", 1500 * time.Millisecond: "1.5s", 61 * time.Second: "1m1s",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%v) = %q, want %q", d, got, want)
		}
	}
}
