package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAttemptedRecordsOutcomeStatusAndLatency(t *testing.T) {
	m := New(prometheus.NewRegistry())
	accepted := time.Unix(100, 0)
	m.Attempted("http_error", "Retry", 1, accepted, accepted.Add(20*time.Millisecond))
	m.Attempted("success", "Success", 2, accepted, accepted.Add(10*time.Second))
	m.Discarded()
	m.Deferred("rate_limit")

	for _, c := range []struct {
		got  float64
		want float64
		name string
	}{
		{testutil.ToFloat64(m.attempts.WithLabelValues("http_error")), 1, "http_error attempts"},
		{testutil.ToFloat64(m.attempts.WithLabelValues("success")), 1, "success attempts"},
		{testutil.ToFloat64(m.finals.WithLabelValues("Retry")), 1, "Retry"},
		{testutil.ToFloat64(m.finals.WithLabelValues("Success")), 1, "Success"},
		{testutil.ToFloat64(m.finals.WithLabelValues("Discarded")), 1, "Discarded"},
		{testutil.ToFloat64(m.deferrals.WithLabelValues("rate_limit")), 1, "rate-limit deferrals"},
	} {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	// One first-attempt observation (attempt 1) and one success observation.
	if n := testutil.CollectAndCount(m.latency); n != 2 {
		t.Errorf("latency series = %d, want 2 (first_attempt, success)", n)
	}
}
