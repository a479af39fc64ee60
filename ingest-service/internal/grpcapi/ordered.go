package grpcapi

import (
	"context"
	"sync"

	"convoy/core/model"
	"convoy/core/queue"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
)

// orderedHeads finds what a held-back delivery of an ordered endpoint waits
// for: the head of the endpoint's queue, read from the ordered stream when
// the delivery is shown, so that it is never stale and costs no write when
// the head changes.
type orderedHeads struct {
	js jetstream.JetStream

	mu     sync.Mutex
	stream jetstream.Stream
}

func (h *orderedHeads) head(ctx context.Context, endpointID string) (string, error) {
	h.mu.Lock()
	s := h.stream
	h.mu.Unlock()
	if s == nil {
		var err error
		if s, err = h.js.Stream(ctx, queue.StreamOrdered); err != nil {
			return "", err
		}
		h.mu.Lock()
		h.stream = s
		h.mu.Unlock()
	}
	return queue.OrderedHead(ctx, s, endpointID)
}

// WaitingFor is the description of a delivery held back behind another.
func WaitingFor(deliveryID string) string { return "waiting for delivery " + deliveryID }

// describeWaiting sets the description of each Scheduled delivery of ds that
// waits behind its ordered endpoint's head. Heads are looked up once per
// endpoint; a lookup that fails leaves the stored description.
func (s *Server) describeWaiting(ctx context.Context, ds []model.Delivery) {
	if s.heads == nil {
		return
	}
	var heads map[string]string
	for i := range ds {
		d := &ds[i]
		if !d.Ordered || d.Status != model.StatusScheduled {
			continue
		}
		if heads == nil {
			heads = map[string]string{}
		}
		head, ok := heads[d.EndpointID]
		if !ok {
			var err error
			if head, err = s.heads.head(ctx, d.EndpointID); err != nil {
				s.log.Warn("ordered head", zap.String("endpoint_id", d.EndpointID), zap.Error(err))
			}
			heads[d.EndpointID] = head
		}
		if head != "" && head != d.UID {
			d.Description = WaitingFor(head)
		}
	}
}
