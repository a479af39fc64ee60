// Package plan decides which deliveries an event has: one for each endpoint
// of its application subscribed to its type. Ingest plans an event when it
// accepts it; the scheduler's reconciliation plans it again, from the stored
// event, to find deliveries the queue lost. Both must get the same answer,
// and the same delivery ids, so that a delivery queued twice is one.
package plan

import (
	"time"

	"convoy/core/ids"
	"convoy/core/model"
)

// Deliveries returns the deliveries of ev: one for each endpoint subscribed
// to its type. Deliveries to an inactive endpoint are stored Discarded and
// not sent, to be replayed when the endpoint is re-enabled.
func Deliveries(g *model.Group, ev *model.Event, endpoints []model.Endpoint) []model.Delivery {
	var out []model.Delivery
	for i := range endpoints {
		ep := &endpoints[i]
		if !Matches(ep.Events, ev.EventType) {
			continue
		}
		d := NewDelivery(g, ev, ep.UID, ev.CreatedAt)
		if ep.Status == model.EndpointInactive {
			d.Status = model.StatusDiscarded
			d.Description = "endpoint is inactive"
			d.Metadata.NextSendTime = nil
		}
		out = append(out, d)
	}
	return out
}

// NewDelivery returns the Scheduled delivery of ev to an endpoint, due at.
// Its id is derived from the event's and the endpoint's (ids.Delivery).
func NewDelivery(g *model.Group, ev *model.Event, endpointID string, at time.Time) model.Delivery {
	due := at
	return model.Delivery{
		UID:        ids.Delivery(ev.UID, endpointID),
		GroupID:    ev.GroupID,
		EventID:    ev.UID,
		AppID:      ev.AppID,
		EndpointID: endpointID,
		EventType:  ev.EventType,
		Status:     model.StatusScheduled,
		Metadata: model.DeliveryMetadata{
			RetryLimit:      g.Config.Strategy.RetryCount,
			Strategy:        g.Config.Strategy.Type,
			IntervalSeconds: g.Config.Strategy.Duration,
			NextSendTime:    &due,
		},
		CreatedAt: at,
		UpdatedAt: at,
	}
}

// Sent reports whether a planned delivery is to be queued for an attempt;
// the others (to an inactive endpoint) are stored Discarded instead.
func Sent(d *model.Delivery) bool {
	return d.Status == model.StatusScheduled || d.Status == model.StatusRetry
}
