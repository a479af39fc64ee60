package consume

import (
	"time"

	"convoy/core/model"
	"convoy/core/retryschedule"
	"convoy/core/store"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"
	queuev1 "convoy/proto/convoy/queue/v1"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// decision is what one attempt leads to.
type decision struct {
	update store.DeliveryUpdate
	// retry is set when another attempt is due later.
	retry *queuev1.RetryTask
	// endpointStatus, when not empty, is the endpoint's new status.
	endpointStatus string
}

// decide turns an attempt into the delivery's next state: Success on a 2xx;
// Retry with the next due time while attempts remain (a Retry-After on a
// 429 or 503 overrides the strategy); Failure once the last attempt failed.
// The group's strategy is read now, so a strategy change applies to the next
// decision of every delivery.
func decide(t *queuev1.DeliveryTask, ep *model.Endpoint, g *model.Group, out deliver.Outcome, policy retryschedule.Policy, now time.Time) decision {
	attempt := out.Attempt
	d := decision{update: store.DeliveryUpdate{
		ID:      t.DeliveryId,
		Attempt: &attempt,
		At:      now.UTC(),
	}}
	desc := attempt.Error
	d.update.Description = &desc
	switch {
	case attempt.Status:
		d.update.Status = model.StatusSuccess
		d.update.Trials = &store.Trials{NumTrials: t.Attempt}
		if ep.Status == model.EndpointPending {
			d.endpointStatus = model.EndpointActive
		}
	case t.Attempt >= t.RetryLimit:
		d.update.Status = model.StatusFailure
		d.update.Trials = &store.Trials{NumTrials: t.Attempt}
		if g.Config.DisableEndpoint && ep.Status != model.EndpointInactive {
			d.endpointStatus = model.EndpointInactive
		}
	default:
		ra, hasRA := time.Duration(0), false
		if code := out.Result.StatusCode; code == 429 || code == 503 {
			ra, hasRA = outbound.RetryAfter(out.Result.Header, now)
		}
		due := now.Add(policy.Delay(g.Config.Strategy, t.Attempt, ra, hasRA)).UTC()
		d.update.Status = model.StatusRetry
		d.update.Trials = &store.Trials{NumTrials: t.Attempt, NextSendTime: &due}
		next := proto.Clone(t).(*queuev1.DeliveryTask)
		next.Attempt = t.Attempt + 1
		d.retry = &queuev1.RetryTask{Task: next, DueAt: timestamppb.New(due)}
	}
	return d
}

// HeldUnverified is the description of a delivery held until its endpoint
// passes the ownership handshake.
const HeldUnverified = "held until the endpoint's ownership is verified"

// discard is the update of a delivery whose endpoint is inactive or gone:
// no attempt is made or counted.
func discard(t *queuev1.DeliveryTask, why string, now time.Time) store.DeliveryUpdate {
	return store.DeliveryUpdate{
		ID: t.DeliveryId, Status: model.StatusDiscarded, Description: &why, At: now.UTC(),
		Trials: &store.Trials{NumTrials: t.Attempt - 1},
	}
}

// firstWrite reports whether t's outcome may be its delivery's first write:
// ingest stores no delivery it queues, so a delivery is written first with
// the outcome (or Processing mark) of its first attempt.
func firstWrite(t *queuev1.DeliveryTask) bool { return t.Attempt == 1 && t.Generation == 0 }

// whole adds to u, when it may be the delivery's first write, the whole
// delivery as u leaves it: the store inserts that if the delivery is not
// stored yet and applies u as an update if it is.
func whole(t *queuev1.DeliveryTask, g *model.Group, u store.DeliveryUpdate) store.DeliveryUpdate {
	if !firstWrite(t) {
		return u
	}
	due := u.At
	if t.AcceptedAt != nil {
		due = t.AcceptedAt.AsTime().UTC()
	}
	d := &model.Delivery{
		UID: t.DeliveryId, GroupID: t.GroupId, EventID: t.EventId, AppID: t.AppId,
		EndpointID: t.EndpointId, EventType: t.EventType, Status: u.Status,
		Metadata: model.DeliveryMetadata{
			RetryLimit:      t.RetryLimit,
			Strategy:        g.Config.Strategy.Type,
			IntervalSeconds: g.Config.Strategy.Duration,
			// Until an outcome says otherwise, the attempt was due when the
			// event was accepted (what the sweep measures overdue from).
			NextSendTime: &due,
		},
		Generation: t.Generation,
		CreatedAt:  due,
		UpdatedAt:  u.At,
	}
	if u.Trials != nil {
		d.Metadata.NumTrials = u.Trials.NumTrials
		d.Metadata.NextSendTime = u.Trials.NextSendTime
	}
	if u.Description != nil {
		d.Description = *u.Description
	}
	if u.Attempt != nil {
		d.Attempts = []model.Attempt{*u.Attempt}
	}
	u.New = d
	return u
}
