package grpcapi

import (
	"context"
	"errors"
	"strings"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/plan"
	"convoy/core/store"
	"convoy/ingest-service/internal/fanout"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// CreateEvent accepts an event: it is stored, fanned out to every subscribed
// endpoint and queued before this returns. With an idempotency key already
// used in the group, it answers the original event and creates nothing.
func (s *Server) CreateEvent(ctx context.Context, req *ingestv1.CreateEventRequest) (*ingestv1.Event, error) {
	g, err := s.cachedGroup(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	if err := validateEvent(req); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	app, err := s.apps.Get(ctx, req.AppId, func(ctx context.Context) (*model.Application, error) {
		return s.store.GetApplication(ctx, g.UID, req.AppId)
	})
	if err == nil && app.GroupID != g.UID {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	// created_at is the id's own time, so that a time range is an `_id`
	// range the store's indexes serve.
	uid := ids.New()
	at, _ := ids.Time(uid)
	ev := &model.Event{
		UID: uid, GroupID: g.UID, AppID: app.UID, EventType: strings.TrimSpace(req.EventType),
		Data: req.Data, IdempotencyKey: req.IdempotencyKey, CustomHeaders: req.CustomHeaders, CreatedAt: at.UTC(),
	}
	if err := validateTaskSize(ev); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	if ev.IdempotencyKey != "" {
		original, err := s.claim(ctx, ev)
		if err != nil {
			return nil, s.toStatus(ctx, "event", err)
		}
		if original != nil {
			return eventPB(original), nil
		}
	}
	endpoints, err := s.endpoints.Get(ctx, app.UID, func(ctx context.Context) ([]model.Endpoint, error) {
		return s.store.EndpointsOfApp(ctx, app.UID)
	})
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	accepted := fanout.Accepted{Event: ev, Deliveries: plan.Deliveries(g, app, ev, endpoints)}
	ev.MatchedEndpoints = int32(len(accepted.Deliveries))
	if err := s.fanout.Commit(ctx, accepted); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	return eventPB(ev), nil
}

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
	f := store.EventFilter{AppID: req.AppId, EventType: req.EventType}
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
	return eventPB(e), nil
}
