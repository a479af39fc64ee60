package grpcapi

import (
	"context"
	"errors"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// claim binds ev's idempotency key to ev. When the key is taken it returns
// the event that took it. When that event is not stored (its request failed,
// or is still in flight), ev takes over the claimed id, and committing it is
// safe to repeat: event and delivery ids are the same, and stores and queue
// drop the repeats.
func (s *Server) claim(ctx context.Context, ev *model.Event) (*model.Event, error) {
	owner, claimed, err := s.store.ClaimIdempotencyKey(ctx, ev.GroupID, ev.IdempotencyKey, ev.UID)
	if err != nil || claimed {
		return nil, err
	}
	original, err := s.store.GetEvent(ctx, ev.GroupID, owner)
	if err == nil {
		return original, nil
	}
	if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	ev.UID = owner
	if t, ok := ids.Time(owner); ok {
		ev.CreatedAt = t.UTC()
	}
	return nil, nil
}

// ListEvents lists a group's events, newest first.
func (s *Server) ListEvents(ctx context.Context, req *ingestv1.ListEventsRequest) (*ingestv1.ListEventsResponse, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	f := store.EventFilter{AppID: req.AppId, EventType: req.EventType, IdempotencyKey: req.IdempotencyKey}
	if err := s.forceApp(ctx, &f.AppID); err != nil {
		return nil, err
	}
	if req.StartDate != nil {
		f.Start = req.StartDate.AsTime()
	}
	if req.EndDate != nil {
		f.End = req.EndDate.AsTime()
	}
	if !f.Start.IsZero() && !f.End.IsZero() && f.End.Before(f.Start) {
		return nil, s.toStatus(ctx, "event", invalidf("end_date must not be before start_date"))
	}
	events, info, err := s.store.ListEvents(ctx, req.GroupId, f, p)
	if err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	out := &ingestv1.ListEventsResponse{Page: pageInfo(p, info)}
	for i := range events {
		out.Events = append(out.Events, eventPB(&events[i]))
	}
	return out, nil
}

// GetEvent returns one event.
func (s *Server) GetEvent(ctx context.Context, req *ingestv1.GetEventRequest) (*ingestv1.Event, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	e, err := s.store.GetEvent(ctx, req.GroupId, req.EventId)
	if err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	if err := s.inApp(ctx, e.AppID, "event"); err != nil {
		return nil, err
	}
	return eventPB(e), nil
}
