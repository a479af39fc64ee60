// Package metrics holds the gateway's Prometheus series.
package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// eventsRoute is the route whose 201 answers count as accepted events.
const eventsRoute = "POST /api/v1/groups/{group_id}/events"

// HTTP counts the gateway's requests.
type HTTP struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	accepted prometheus.Counter
}

// NewHTTP registers the gateway's series on reg.
func NewHTTP(reg prometheus.Registerer) *HTTP {
	m := &HTTP{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_gateway_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "convoy_gateway_request_duration_seconds", Help: "HTTP request duration by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convoy_gateway_events_accepted_total", Help: "Events answered 201 at the gateway.",
		}),
	}
	reg.MustRegister(m.requests, m.duration, m.accepted)
	return m
}

// Observe records one request.
func (m *HTTP) Observe(route string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(route).Observe(elapsed.Seconds())
	if route == eventsRoute && status == 201 {
		m.accepted.Inc()
	}
}
