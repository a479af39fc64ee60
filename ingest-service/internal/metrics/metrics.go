// Package metrics holds ingest-service's Prometheus series.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/status"
)

// Ingest is every series ingest-service exports.
type Ingest struct {
	calls        *prometheus.CounterVec
	callDuration *prometheus.HistogramVec
	accepted     prometheus.Counter
	deliveries   *prometheus.CounterVec
	batchEvents  prometheus.Histogram
	commitErrors *prometheus.CounterVec
}

// New registers the series on reg.
func New(reg prometheus.Registerer) *Ingest {
	m := &Ingest{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_ingest_calls_total", Help: "gRPC calls by method and status code.",
		}, []string{"method", "code"}),
		callDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "convoy_ingest_call_duration_seconds", Help: "gRPC call duration by method.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		accepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "convoy_events_accepted_total", Help: "Events stored and queued.",
		}),
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_deliveries_created_total", Help: "Deliveries created by fan-out, by initial status.",
		}, []string{"status"}),
		batchEvents: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "convoy_ingest_commit_batch_events", Help: "Events per group commit.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200},
		}),
		commitErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "convoy_ingest_commit_errors_total", Help: "Failed group commits by step (store_events, store_deliveries, publish).",
		}, []string{"step"}),
	}
	reg.MustRegister(m.calls, m.callDuration, m.accepted, m.deliveries, m.batchEvents, m.commitErrors)
	// Exported at zero from the start, so that an alert on their increase
	// sees the first failure.
	for _, step := range []string{"store_deliveries", "publish", "store_events"} {
		m.commitErrors.WithLabelValues(step)
	}
	return m
}

// Interceptor counts and times every unary call.
func (m *Ingest) Interceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		m.calls.WithLabelValues(info.FullMethod, status.Code(err).String()).Inc()
		m.callDuration.WithLabelValues(info.FullMethod).Observe(time.Since(start).Seconds())
		return resp, err
	}
}

// Committed records one successful group commit.
func (m *Ingest) Committed(events int, statuses []string) {
	m.accepted.Add(float64(events))
	m.batchEvents.Observe(float64(events))
	for _, s := range statuses {
		m.deliveries.WithLabelValues(s).Inc()
	}
}

// CommitFailed records a group commit that failed at step.
func (m *Ingest) CommitFailed(step string) { m.commitErrors.WithLabelValues(step).Inc() }
