// Package plan decides which deliveries an event has: one for each endpoint
// of its application subscribed to its type. Ingest plans an event when it
// accepts it; the scheduler's reconciliation plans it again, from the stored
// event, to find deliveries the queue lost. Both must get the same answer,
// and the same delivery ids, so that a delivery queued twice is one.
package plan

import (
	"time"

	"convoy/core/filter"
	"convoy/core/ids"
	"convoy/core/model"
)

// Deliveries returns the deliveries of ev, an event of app: one for each
// endpoint subscribed to its type. Deliveries to an inactive endpoint, and
// every delivery of a disabled application, are stored Discarded and not
// sent (those to an inactive endpoint are replayed when it is re-enabled).
func Deliveries(g *model.Group, app *model.Application, ev *model.Event, endpoints []model.Endpoint) []model.Delivery {
	var out []model.Delivery
	for i := range endpoints {
		ep := &endpoints[i]
		if !receives(ev, ep) {
			continue
		}
		d := NewDelivery(g, ev, ep.UID, ev.CreatedAt)
		// A test event asks whether the endpoint answers now: it does not
		// wait behind an ordered endpoint's backlog.
		d.Ordered = ep.Ordered && !ev.Test
		switch {
		case app.IsDisabled:
			Discard(&d, "application is disabled")
		case ep.Status == model.EndpointInactive:
			Discard(&d, "endpoint is inactive")
		}
		out = append(out, d)
	}
	return out
}

// receives reports whether ep is subscribed to ev: to its type or, for an
// event sent to one endpoint (a test event), by being that endpoint.
func receives(ev *model.Event, ep *model.Endpoint) bool {
	if ev.EndpointID != "" {
		return ep.UID == ev.EndpointID
	}
	return Matches(ep.Events, ev.EventType)
}

// Discard makes a planned delivery one that is stored Discarded, for why,
// and not sent.
func Discard(d *model.Delivery, why string) {
	d.Status = model.StatusDiscarded
	d.Description = why
	d.Metadata.NextSendTime = nil
}

// NewDelivery returns the Scheduled delivery of ev to an endpoint, due at.
// Its id is derived from the event's and the endpoint's (ids.Delivery).
func NewDelivery(g *model.Group, ev *model.Event, endpointID string, at time.Time) model.Delivery {
	due := at
	limit := g.Config.Strategy.RetryCount
	if ev.Test {
		limit = 1 // attempted once: a test answers "does it work now?"
	}
	return model.Delivery{
		UID:        ids.Delivery(ev.UID, endpointID),
		GroupID:    ev.GroupID,
		EventID:    ev.UID,
		AppID:      ev.AppID,
		EndpointID: endpointID,
		EventType:  ev.EventType,
		Status:     model.StatusScheduled,
		Metadata: model.DeliveryMetadata{
			RetryLimit:      limit,
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

// Route returns the endpoints of eps that receive ev: subscribed to its type
// and, when they have a filter, matched by it (an event sent to one endpoint
// goes to it unfiltered). compile turns an endpoint's
// stored filter into a filter (callers cache it). The payload is decoded at
// most once, whatever the number of filters, and only if a filter reads it.
// A stored filter that no longer compiles, or a payload that does not decode,
// delivers rather than drops: filters were validated when they were set.
func Route(ev *model.Event, eps []model.Endpoint, compile func(src string) (*filter.Filter, error)) []model.Endpoint {
	out := make([]model.Endpoint, 0, len(eps))
	var (
		body    any
		headers map[string]any
		decoded bool
	)
	for i := range eps {
		ep := &eps[i]
		if !receives(ev, ep) {
			continue
		}
		if ep.Filter != "" && ev.EndpointID == "" {
			f, err := compile(ep.Filter)
			if err == nil && !f.Empty() {
				if f.NeedsBody() && !decoded {
					body, _ = filter.Decode(ev.Data)
					decoded = true
				}
				if headers == nil {
					headers = filter.Headers(ev.CustomHeaders)
				}
				if !f.Match(body, headers) {
					continue
				}
			}
		}
		out = append(out, *ep)
	}
	return out
}
