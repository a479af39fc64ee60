package grpcapi

import (
	"context"
	"slices"

	"convoy/core/model"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxBatchRetry bounds one batchretry or forceresend call.
const maxBatchRetry = 1000

// ListDeliveries lists a group's deliveries, newest first.
func (s *Server) ListDeliveries(ctx context.Context, req *ingestv1.ListDeliveriesRequest) (*ingestv1.ListDeliveriesResponse, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	f := deliveryFilter(req.Filter)
	if err := validateDeliveryFilter(f); err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	if err := s.forceApp(ctx, &f.AppID); err != nil {
		return nil, err
	}
	ds, info, err := s.store.ListDeliveries(ctx, req.GroupId, f, p)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	s.describeWaiting(ctx, ds)
	out := &ingestv1.ListDeliveriesResponse{Page: pageInfo(p, info)}
	for i := range ds {
		out.Deliveries = append(out.Deliveries, deliveryPB(&ds[i]))
	}
	return out, nil
}

func deliveryFilter(f *ingestv1.DeliveryFilter) store.DeliveryFilter {
	if f == nil {
		return store.DeliveryFilter{}
	}
	out := store.DeliveryFilter{EventID: f.EventId, AppID: f.AppId, EndpointID: f.EndpointId, EventType: f.EventType, Statuses: f.Status}
	if f.StartDate != nil {
		out.Start = f.StartDate.AsTime()
	}
	if f.EndDate != nil {
		out.End = f.EndDate.AsTime()
	}
	return out
}

// validateDeliveryFilter checks a filter's statuses and its time range.
func validateDeliveryFilter(f store.DeliveryFilter) error {
	if !f.Start.IsZero() && !f.End.IsZero() && f.End.Before(f.Start) {
		return invalidf("end_date must not be before start_date")
	}
	return validateStatuses(f.Statuses)
}

// GetDelivery returns one delivery.
func (s *Server) GetDelivery(ctx context.Context, req *ingestv1.GetDeliveryRequest) (*ingestv1.Delivery, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	d, err := s.delivery(ctx, req.GroupId, req.DeliveryId)
	if err != nil {
		return nil, err
	}
	ds := []model.Delivery{*d}
	s.describeWaiting(ctx, ds)
	return deliveryPB(&ds[0]), nil
}

// ListAttempts returns every attempt of a delivery, oldest first.
func (s *Server) ListAttempts(ctx context.Context, req *ingestv1.ListAttemptsRequest) (*ingestv1.ListAttemptsResponse, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	if err := s.portalDelivery(ctx, req.GroupId, req.DeliveryId); err != nil {
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

// GetAttempt returns one attempt of a delivery.
func (s *Server) GetAttempt(ctx context.Context, req *ingestv1.GetAttemptRequest) (*ingestv1.Attempt, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	if err := s.portalDelivery(ctx, req.GroupId, req.DeliveryId); err != nil {
		return nil, err
	}
	attempts, err := s.store.DeliveryAttempts(ctx, req.GroupId, req.DeliveryId)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	for i := range attempts {
		if attempts[i].UID == req.AttemptId {
			return attemptPB(req.DeliveryId, &attempts[i]), nil
		}
	}
	return nil, notFound("delivery attempt")
}

// ResendDelivery gives one Failure or Discarded delivery a fresh attempt budget.
func (s *Server) ResendDelivery(ctx context.Context, req *ingestv1.ResendDeliveryRequest) (*ingestv1.Delivery, error) {
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	d, err := s.delivery(ctx, req.GroupId, req.DeliveryId)
	if err != nil {
		return nil, err
	}
	if d.Status != model.StatusFailure && d.Status != model.StatusDiscarded {
		return nil, status.Errorf(codes.FailedPrecondition,
			"delivery is %s: only Failure or Discarded deliveries can be resent (forceresend re-delivers a Success)", d.Status)
	}
	r := s.resender(g)
	if req.ReactivateEndpoint {
		// Reactivating changes the endpoint's status: managing it.
		if p, err := s.auth.Authenticate(ctx); err != nil {
			return nil, err
		} else if p.Portal != nil && !p.Portal.CanManageEndpoints {
			return nil, status.Error(codes.PermissionDenied, "this portal link may not manage endpoints: resend without reactivate_endpoint")
		}
		if err := r.reactivate(ctx, d.EndpointID); err != nil {
			return nil, s.toStatus(ctx, "endpoint", err)
		}
	}
	if err := r.resendable(ctx, d); err != nil {
		return nil, err
	}
	if err := r.restart(ctx, d); err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	return deliveryPB(d), nil
}

// BatchRetryDeliveries resends Failure and Discarded deliveries chosen by id
// or by the list filters.
func (s *Server) BatchRetryDeliveries(ctx context.Context, req *ingestv1.BatchRetryDeliveriesRequest) (*ingestv1.BatchRetryDeliveriesResponse, error) {
	retryable := []string{model.StatusFailure, model.StatusDiscarded}
	g, ds, err := s.selectDeliveries(ctx, &req.GroupId, req.Ids, req.Filter, retryable)
	if err != nil {
		return nil, err
	}
	ids, err := s.resender(g).each(ctx, ds, retryable)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	return &ingestv1.BatchRetryDeliveriesResponse{Retried: int32(len(ids)), Ids: ids}, nil
}

// CountBatchRetryDeliveries counts what BatchRetryDeliveries would retry
// for the same filter (at most maxBatchRetry, as a batch is).
func (s *Server) CountBatchRetryDeliveries(ctx context.Context, req *ingestv1.CountBatchRetryDeliveriesRequest) (*ingestv1.CountBatchRetryDeliveriesResponse, error) {
	retryable := []string{model.StatusFailure, model.StatusDiscarded}
	g, ds, err := s.selectDeliveries(ctx, &req.GroupId, nil, req.Filter, retryable)
	if err != nil {
		return nil, err
	}
	r := s.resender(g)
	n := int32(0)
	for i := range ds {
		if slices.Contains(retryable, ds[i].Status) && r.resendable(ctx, &ds[i]) == nil {
			n++
		}
	}
	return &ingestv1.CountBatchRetryDeliveriesResponse{Num: n}, nil
}

// CountDeliveries counts the deliveries the list's filter selects, by
// status (the filter's statuses are ignored: every status is counted). A
// portal link counts its own application's only.
func (s *Server) CountDeliveries(ctx context.Context, req *ingestv1.CountDeliveriesRequest) (*ingestv1.CountDeliveriesResponse, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	f := deliveryFilter(req.Filter)
	f.Statuses = nil
	if err := validateDeliveryFilter(f); err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	if err := s.forceApp(ctx, &f.AppID); err != nil {
		return nil, err
	}
	counts, err := s.store.CountDeliveriesByStatus(ctx, req.GroupId, f)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	out := &ingestv1.CountDeliveriesResponse{Counts: counts}
	for _, n := range counts {
		out.Total += n
	}
	return out, nil
}

// ForceResendDeliveries re-delivers Success deliveries.
func (s *Server) ForceResendDeliveries(ctx context.Context, req *ingestv1.ForceResendDeliveriesRequest) (*ingestv1.ForceResendDeliveriesResponse, error) {
	if len(req.Ids) == 0 {
		return nil, status.Error(codes.InvalidArgument, "ids is required")
	}
	g, ds, err := s.selectDeliveries(ctx, &req.GroupId, req.Ids, nil, nil)
	if err != nil {
		return nil, err
	}
	ids, err := s.resender(g).each(ctx, ds, []string{model.StatusSuccess})
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	return &ingestv1.ForceResendDeliveriesResponse{Resent: int32(len(ids)), Ids: ids}, nil
}

// selectDeliveries loads the deliveries named by ids, or else those matching
// the filter (with defaultStatuses when it names none).
func (s *Server) selectDeliveries(ctx context.Context, groupIDp *string, idList []string, pf *ingestv1.DeliveryFilter, defaultStatuses []string) (*model.Group, []model.Delivery, error) {
	g, err := s.group(ctx, groupIDp)
	if err != nil {
		return nil, nil, err
	}
	groupID := *groupIDp
	if len(idList) > maxBatchRetry {
		return nil, nil, status.Errorf(codes.InvalidArgument, "ids must list at most %d deliveries", maxBatchRetry)
	}
	var out []model.Delivery
	if len(idList) > 0 {
		for _, id := range idList {
			d, err := s.store.GetDelivery(ctx, groupID, id)
			if err == nil {
				err = s.inApp(ctx, d.AppID, "delivery")
			}
			if err != nil {
				return nil, nil, status.Errorf(codes.NotFound, "delivery %s not found", id)
			}
			out = append(out, *d)
		}
		return g, out, nil
	}
	f := deliveryFilter(pf)
	if len(f.Statuses) == 0 {
		f.Statuses = defaultStatuses
	}
	if err := s.forceApp(ctx, &f.AppID); err != nil {
		return nil, nil, err
	}
	if err := validateDeliveryFilter(f); err != nil {
		return nil, nil, s.toStatus(ctx, "delivery", err)
	}
	p := store.Page{PerPage: 100}
	for len(out) < maxBatchRetry {
		ds, info, err := s.store.ListDeliveries(ctx, groupID, f, p)
		if err != nil {
			return nil, nil, s.toStatus(ctx, "delivery", err)
		}
		out = append(out, ds...)
		if !info.HasNext {
			break
		}
		p.Cursor = info.NextCursor
	}
	return g, out, nil
}

// delivery loads one delivery of the group, of the portal caller's
// application only.
func (s *Server) delivery(ctx context.Context, groupID, id string) (*model.Delivery, error) {
	d, err := s.store.GetDelivery(ctx, groupID, id)
	if err != nil {
		return nil, s.toStatus(ctx, "delivery", err)
	}
	if err := s.inApp(ctx, d.AppID, "delivery"); err != nil {
		return nil, err
	}
	return d, nil
}

// portalDelivery checks, for a portal caller only, that the delivery is of
// its application (other callers are not charged the read).
func (s *Server) portalDelivery(ctx context.Context, groupID, id string) error {
	scope, err := s.portalApp(ctx)
	if err != nil || scope == "" {
		return err
	}
	_, err = s.delivery(ctx, groupID, id)
	return err
}
