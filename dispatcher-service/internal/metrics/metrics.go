// Package metrics holds dispatcher-service's Prometheus series.
package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Dispatch is every series the dispatcher exports.
type Dispatch struct {
	attempts  *prometheus.CounterVec
	finals    *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	deferrals *prometheus.CounterVec
	failures  *prometheus.CounterVec
}

// New registers the series on reg.
func New(reg prometheus.Registerer) *Dispatch {
	m := &Dispatch{
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_attempts_total", Help: "Delivery attempts by outcome (success, http_error, redirect, timeout, refused, error).",
		}, []string{"outcome"}),
		finals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_deliveries_total", Help: "Deliveries reaching a status after an attempt or a discard (Success, Retry, Failure, Discarded).",
		}, []string{"status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "convoy_delivery_latency_seconds",
			Help:    "Time from the event's acceptance to its first attempt (stage=first_attempt) and to success (stage=success).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"stage"}),
		deferrals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_dispatch_deferrals_total", Help: "Tasks deferred without an attempt, by reason (rate_limit, endpoint_busy).",
		}, []string{"reason"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_dispatch_errors_total", Help: "Tasks handed back because a dependency failed, by step (store, publish, limiter).",
		}, []string{"step"}),
	}
	reg.MustRegister(m.attempts, m.finals, m.latency, m.deferrals, m.failures)
	// Dependency errors are exported at zero from the start: an alert on
	// their increase then sees the first one, and dashboards find the series.
	for _, step := range []string{"store", "publish", "circuit", "dead_letter"} {
		m.failures.WithLabelValues(step)
	}
	return m
}

// Attempted records one attempt: its outcome, the delivery's new status and
// the latencies measured from the event's acceptance.
func (m *Dispatch) Attempted(outcome, status string, attempt int32, acceptedAt time.Time, now time.Time) {
	m.attempts.WithLabelValues(outcome).Inc()
	m.finals.WithLabelValues(status).Inc()
	if acceptedAt.IsZero() {
		return
	}
	since := now.Sub(acceptedAt).Seconds()
	if attempt == 1 {
		m.latency.WithLabelValues("first_attempt").Observe(since)
	}
	if status == "Success" {
		m.latency.WithLabelValues("success").Observe(since)
	}
}

// Discarded records a delivery discarded without an attempt.
func (m *Dispatch) Discarded() { m.finals.WithLabelValues("Discarded").Inc() }

// Deferred records a task put back without an attempt.
func (m *Dispatch) Deferred(reason string) { m.deferrals.WithLabelValues(reason).Inc() }

// Failed records a task handed back because step failed.
func (m *Dispatch) Failed(step string) { m.failures.WithLabelValues(step).Inc() }
