package metrics

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestObserveCountsRequestsAndAcceptedEvents(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewHTTP(reg)
	m.Observe(eventsRoute, 201, time.Millisecond)
	m.Observe(eventsRoute, 201, time.Millisecond)
	m.Observe(eventsRoute, 400, time.Millisecond)
	m.Observe("GET /api/v1/groups", 200, time.Millisecond)
	if got := testutil.ToFloat64(m.accepted); got != 2 {
		t.Errorf("accepted = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues(eventsRoute, "400")); got != 1 {
		t.Errorf("400s on the events route = %v, want 1", got)
	}
	if n, err := testutil.GatherAndCount(reg, "convoy_gateway_request_duration_seconds"); err != nil || n != 2 {
		t.Errorf("duration series = %d (%v), want one per route", n, err)
	}
}
