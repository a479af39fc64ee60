package grpcapi

import (
	"context"

	"convoy/core/model"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ListMetaEvents lists a group's meta events, newest first, without their
// attempts.
func (s *Server) ListMetaEvents(ctx context.Context, req *ingestv1.ListMetaEventsRequest) (*ingestv1.ListMetaEventsResponse, error) {
	if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "meta event", err)
	}
	ms, info, err := s.store.ListMetaEvents(ctx, req.GroupId, p)
	if err != nil {
		return nil, s.toStatus(ctx, "meta event", err)
	}
	out := &ingestv1.ListMetaEventsResponse{Page: pageInfo(p, info)}
	for i := range ms {
		out.MetaEvents = append(out.MetaEvents, metaEventPB(&ms[i]))
	}
	return out, nil
}

// GetMetaEvent returns one meta event with its attempts.
func (s *Server) GetMetaEvent(ctx context.Context, req *ingestv1.GetMetaEventRequest) (*ingestv1.MetaEvent, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	m, err := s.store.GetMetaEvent(ctx, req.GroupId, req.MetaEventId)
	if err != nil {
		return nil, s.toStatus(ctx, "meta event", err)
	}
	return metaEventPB(m), nil
}

// ResendMetaEvent gives a final meta event (Success, Failure or Discarded) a
// fresh attempt budget under the group's current strategy and queues it. One
// still on its way is refused: its attempts are coming.
func (s *Server) ResendMetaEvent(ctx context.Context, req *ingestv1.ResendMetaEventRequest) (*ingestv1.MetaEvent, error) {
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	m, err := s.store.GetMetaEvent(ctx, req.GroupId, req.MetaEventId)
	if err != nil {
		return nil, s.toStatus(ctx, "meta event", err)
	}
	if !model.IsFinal(m.Status) {
		return nil, status.Errorf(codes.FailedPrecondition, "meta event is %s: only a final meta event (Success, Failure or Discarded) can be resent", m.Status)
	}
	restarted, err := s.store.RestartMetaEvent(ctx, m.UID, g.Config.Strategy.RetryCount)
	if err != nil {
		return nil, s.toStatus(ctx, "meta event", err)
	}
	if err := s.meta.Resend(ctx, restarted); err != nil {
		// Nothing sweeps meta events: put the old status back so that the
		// caller can ask again, rather than leave it Scheduled with nothing
		// queued.
		back := store.MetaEventUpdate{ID: m.UID, Status: m.Status, NumTrials: m.Metadata.NumTrials, At: now()}
		if uerr := s.store.UpdateMetaEvent(context.WithoutCancel(ctx), back); uerr != nil {
			s.log.Error("resent meta event left Scheduled with nothing queued", zap.String("meta_event_id", m.UID), zap.Error(uerr))
		}
		return nil, s.toStatus(ctx, "meta event", err)
	}
	restarted.Attempts = m.Attempts
	return metaEventPB(restarted), nil
}
