package ops

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
)

// QueueLag reports JetStream consumers' backlogs as gauges.
type QueueLag struct {
	pending    *prometheus.GaugeVec
	ackPending *prometheus.GaugeVec
}

// NewQueueLag registers the queue gauges on reg.
func NewQueueLag(reg prometheus.Registerer) *QueueLag {
	q := &QueueLag{
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "convoy_queue_pending_messages", Help: "Messages not yet handed to the consumer (queue lag), by stream.",
		}, []string{"stream"}),
		ackPending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "convoy_queue_ack_pending_messages", Help: "Messages held by consumers (in flight, deferred or waiting for their retry time), by stream.",
		}, []string{"stream"}),
	}
	reg.MustRegister(q.pending, q.ackPending)
	return q
}

// Poll refreshes the gauges for the consumer of stream every interval until
// ctx ends.
func (q *QueueLag) Poll(ctx context.Context, interval time.Duration, stream string, c jetstream.Consumer) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if info, err := c.Info(ctx); err == nil {
			q.pending.WithLabelValues(stream).Set(float64(info.NumPending))
			q.ackPending.WithLabelValues(stream).Set(float64(info.NumAckPending))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
