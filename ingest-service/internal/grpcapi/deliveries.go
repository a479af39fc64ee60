package grpcapi

import (
	"context"
	"slices"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"
	queuev1 "convoy/proto/convoy/queue/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxBatchRetry bounds one batchretry or forceresend call.
const maxBatchRetry = 1000

// ListDeliveries lists a group's deliveries, newest first.
func (s *Server) ListDeliveries(ctx context.Context, req *ingestv1.ListDeliveriesRequest) (*ingestv1.ListDeliveriesResponse, error) {
	if _, err := s.group(ctx, req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	f := deliveryFilter(req.Filter)
	if err := validateStatuses(f.Statuses); err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	ds, info, err := s.store.ListDeliveries(ctx, req.GroupId, f, p)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	out := &ingestv1.ListDeliveriesResponse{Page: pageInfo(p.PerPage, info)}
	for i := range ds {
		out.Deliveries = append(out.Deliveries, deliveryPB(&ds[i]))
	}
	return out, nil
}

func deliveryFilter(f *ingestv1.DeliveryFilter) store.DeliveryFilter {
	if f == nil {
		return store.DeliveryFilter{}
	}
	return store.DeliveryFilter{EventID: f.EventId, AppID: f.AppId, EndpointID: f.EndpointId, Statuses: f.Status}
}

// GetDelivery returns one delivery.
func (s *Server) GetDelivery(ctx context.Context, req *ingestv1.GetDeliveryRequest) (*ingestv1.Delivery, error) {
	if err := s.inGroup(ctx, req.GroupId); err != nil {
		return nil, err
	}
	d, err := s.store.GetDelivery(ctx, req.GroupId, req.DeliveryId)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	return deliveryPB(d), nil
}

// ListAttempts returns every attempt of a delivery, oldest first.
func (s *Server) ListAttempts(ctx context.Context, req *ingestv1.ListAttemptsRequest) (*ingestv1.ListAttemptsResponse, error) {
	if err := s.inGroup(ctx, req.GroupId); err != nil {
		return nil, err
	}
	attempts, err := s.store.DeliveryAttempts(ctx, req.GroupId, req.DeliveryId)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	out := &ingestv1.ListAttemptsResponse{Attempts: make([]*ingestv1.Attempt, 0, len(attempts))}
	for i := range attempts {
		out.Attempts = append(out.Attempts, attemptPB(req.DeliveryId, &attempts[i]))
	}
	return out, nil
}

// ResendDelivery gives one Failure or Discarded delivery a fresh attempt budget.
func (s *Server) ResendDelivery(ctx context.Context, req *ingestv1.ResendDeliveryRequest) (*ingestv1.Delivery, error) {
	if err := s.inGroup(ctx, req.GroupId); err != nil {
		return nil, err
	}
	d, err := s.store.GetDelivery(ctx, req.GroupId, req.DeliveryId)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	if d.Status != model.StatusFailure && d.Status != model.StatusDiscarded {
		return nil, status.Errorf(codes.FailedPrecondition,
			"delivery is %s: only Failure or Discarded deliveries can be resent (forceresend re-delivers a Success)", d.Status)
	}
	if err := s.resendable(ctx, d); err != nil {
		return nil, err
	}
	if err := s.restart(ctx, d); err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	return deliveryPB(d), nil
}

// BatchRetryDeliveries resends Failure and Discarded deliveries chosen by id
// or by the list filters.
func (s *Server) BatchRetryDeliveries(ctx context.Context, req *ingestv1.BatchRetryDeliveriesRequest) (*ingestv1.BatchRetryDeliveriesResponse, error) {
	retryable := []string{model.StatusFailure, model.StatusDiscarded}
	ds, err := s.selectDeliveries(ctx, req.GroupId, req.Ids, req.Filter, retryable)
	if err != nil {
		return nil, err
	}
	out := &ingestv1.BatchRetryDeliveriesResponse{Ids: []string{}}
	for i := range ds {
		if !slices.Contains(retryable, ds[i].Status) || s.resendable(ctx, &ds[i]) != nil {
			continue
		}
		if err := s.restart(ctx, &ds[i]); err != nil {
			return nil, s.toStatus(ctx, "delivery", err)
		}
		out.Ids = append(out.Ids, ds[i].UID)
	}
	out.Retried = int32(len(out.Ids))
	return out, nil
}

// ForceResendDeliveries re-delivers Success deliveries.
func (s *Server) ForceResendDeliveries(ctx context.Context, req *ingestv1.ForceResendDeliveriesRequest) (*ingestv1.ForceResendDeliveriesResponse, error) {
	if len(req.Ids) == 0 {
		return nil, status.Error(codes.InvalidArgument, "ids is required")
	}
	ds, err := s.selectDeliveries(ctx, req.GroupId, req.Ids, nil, nil)
	if err != nil {
		return nil, err
	}
	out := &ingestv1.ForceResendDeliveriesResponse{Ids: []string{}}
	for i := range ds {
		if ds[i].Status != model.StatusSuccess || s.resendable(ctx, &ds[i]) != nil {
			continue
		}
		if err := s.restart(ctx, &ds[i]); err != nil {
			return nil, s.toStatus(ctx, "delivery", err)
		}
		out.Ids = append(out.Ids, ds[i].UID)
	}
	out.Resent = int32(len(out.Ids))
	return out, nil
}

// selectDeliveries loads the deliveries named by ids, or else those matching
// the filter (with defaultStatuses when it names none).
func (s *Server) selectDeliveries(ctx context.Context, groupID string, idList []string, pf *ingestv1.DeliveryFilter, defaultStatuses []string) ([]model.Delivery, error) {
	if _, err := s.group(ctx, groupID); err != nil {
		return nil, err
	}
	if len(idList) > maxBatchRetry {
		return nil, status.Errorf(codes.InvalidArgument, "ids must list at most %d deliveries", maxBatchRetry)
	}
	var out []model.Delivery
	if len(idList) > 0 {
		for _, id := range idList {
			d, err := s.store.GetDelivery(ctx, groupID, id)
			if err != nil {
				return nil, status.Errorf(codes.NotFound, "delivery %s not found", id)
			}
			out = append(out, *d)
		}
		return out, nil
	}
	f := deliveryFilter(pf)
	if len(f.Statuses) == 0 {
		f.Statuses = defaultStatuses
	}
	if err := validateStatuses(f.Statuses); err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	p := store.Page{PerPage: 100}
	for len(out) < maxBatchRetry {
		ds, info, err := s.store.ListDeliveries(ctx, groupID, f, p)
		if err != nil {
			return nil, s.toStatus(ctx, "delivery", err)
		}
		out = append(out, ds...)
		if !info.HasNext {
			break
		}
		p.Cursor = info.NextCursor
	}
	return out, nil
}

// resendable refuses a resend whose endpoint is inactive or gone: the
// attempt would only be discarded again.
func (s *Server) resendable(ctx context.Context, d *model.Delivery) error {
	ep, err := s.store.EndpointByID(ctx, d.EndpointID)
	if err != nil {
		return s.toStatus(ctx, "endpoint", err)
	}
	if ep.Status == model.EndpointInactive {
		return status.Error(codes.FailedPrecondition, "endpoint is inactive: re-enable it, which replays its Discarded deliveries")
	}
	return nil
}

// restart gives d a fresh attempt budget under the group's current strategy
// and queues its first attempt. d is updated to the new state. If the
// publish fails the delivery is Scheduled and due, and the scheduler's sweep
// queues it.
func (s *Server) restart(ctx context.Context, d *model.Delivery) error {
	g, err := s.store.GetGroup(ctx, d.GroupID)
	if err != nil {
		return err
	}
	ev, err := s.store.GetEvent(ctx, d.GroupID, d.EventID)
	if err != nil {
		return err
	}
	st := g.Config.Strategy
	restarted, err := s.store.RestartDelivery(ctx, d.UID, st.RetryCount, st.Type, st.Duration)
	if err != nil {
		return err
	}
	*d = *restarted
	return s.pub.PublishTasks(ctx, []*queuev1.DeliveryTask{queue.NewTask(ev, d)})
}
