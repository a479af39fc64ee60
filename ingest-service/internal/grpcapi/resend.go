package grpcapi

import (
	"context"
	"slices"

	"convoy/core/model"
	"convoy/core/queue"
	queuev1 "convoy/proto/convoy/queue/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// resender restarts deliveries of one group. A batch touches few endpoints
// and events many times over, so each is read once per call, not once per
// delivery.
type resender struct {
	s         *Server
	g         *model.Group
	endpoints map[string]*model.Endpoint
	events    map[string]*model.Event
}

func (s *Server) resender(g *model.Group) *resender {
	return &resender{s: s, g: g, endpoints: map[string]*model.Endpoint{}, events: map[string]*model.Event{}}
}

// each restarts the deliveries whose status is one of statuses and whose
// endpoint can take them, and returns their ids.
func (r *resender) each(ctx context.Context, ds []model.Delivery, statuses []string) ([]string, error) {
	ids := []string{}
	for i := range ds {
		if !slices.Contains(statuses, ds[i].Status) || r.resendable(ctx, &ds[i]) != nil {
			continue
		}
		if err := r.restart(ctx, &ds[i]); err != nil {
			return nil, err
		}
		ids = append(ids, ds[i].UID)
	}
	return ids, nil
}

// resendable refuses a resend whose endpoint is inactive or gone: the
// attempt would only be discarded again.
func (r *resender) resendable(ctx context.Context, d *model.Delivery) error {
	ep, err := r.endpoint(ctx, d.EndpointID)
	if err != nil {
		return r.s.toStatus(ctx, "endpoint", err)
	}
	if ep.Status == model.EndpointInactive {
		return status.Error(codes.FailedPrecondition, "endpoint is inactive: re-enable it, which replays its Discarded deliveries")
	}
	return nil
}

func (r *resender) endpoint(ctx context.Context, id string) (*model.Endpoint, error) {
	if ep, ok := r.endpoints[id]; ok {
		return ep, nil
	}
	ep, err := r.s.store.EndpointByID(ctx, id)
	if err != nil {
		return nil, err
	}
	r.endpoints[id] = ep
	return ep, nil
}

// reactivate makes an inactive endpoint pending, so that a resend to it
// goes out (Convoy v0.5's resend did this); the first success makes it
// active again.
func (r *resender) reactivate(ctx context.Context, endpointID string) error {
	ep, err := r.s.store.EndpointByID(ctx, endpointID)
	if err != nil {
		return err
	}
	if ep.Status != model.EndpointInactive {
		return nil
	}
	if err := r.s.store.SetEndpointStatus(ctx, ep.UID, model.EndpointPending); err != nil {
		return err
	}
	r.s.endpoints.Forget(ep.AppID)
	ep.Status = model.EndpointPending
	r.endpoints[ep.UID] = ep
	return nil
}

// restart gives d a fresh attempt budget under the group's current strategy
// and queues its first attempt. d is updated to the new state. If the
// publish fails the delivery is Scheduled and due, and the scheduler's sweep
// queues it. The endpoint's ordered setting is read now: a resend to an
// ordered endpoint joins the back of its queue.
func (r *resender) restart(ctx context.Context, d *model.Delivery) error {
	ev, ok := r.events[d.EventID]
	if !ok {
		var err error
		if ev, err = r.s.store.GetEvent(ctx, d.GroupID, d.EventID); err != nil {
			return err
		}
		r.events[d.EventID] = ev
	}
	ep, err := r.endpoint(ctx, d.EndpointID)
	if err != nil {
		return err
	}
	st := r.g.Config.Strategy
	restarted, err := r.s.store.RestartDelivery(ctx, d.UID, st.RetryCount, st.Type, st.Duration, ep.Ordered)
	if err != nil {
		return err
	}
	*d = *restarted
	return r.s.pub.PublishTasks(ctx, []*queuev1.DeliveryTask{queue.NewTask(ev, d)})
}
