package grpcapi

import (
	"context"
	"strconv"

	"convoy/core/deadletter"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// ListDeadLetters lists the dead-letter stream, oldest first (admin only).
// The cursor is the id the next page starts at.
func (s *Server) ListDeadLetters(ctx context.Context, req *ingestv1.ListDeadLettersRequest) (*ingestv1.ListDeadLettersResponse, error) {
	q, err := s.deadLetterQueue(ctx)
	if err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "dead letter", err)
	}
	var from uint64
	if p.Cursor != "" {
		if from, err = strconv.ParseUint(p.Cursor, 10, 64); err != nil || from == 0 {
			return nil, s.toStatus(ctx, "dead letter", invalidf("next_page_cursor is not a cursor of this list"))
		}
	}
	entries, next, err := q.List(ctx, from, p.PerPage)
	if err != nil {
		return nil, s.toStatus(ctx, "dead letter", err)
	}
	out := &ingestv1.ListDeadLettersResponse{Page: &ingestv1.PageInfo{PerPage: int32(p.PerPage), HasNextPage: next != 0}}
	if next != 0 {
		out.Page.NextPageCursor = strconv.FormatUint(next, 10)
	}
	for _, e := range entries {
		d := &ingestv1.DeadLetter{Id: e.ID, Reason: e.Reason, Error: e.Error, Subject: e.Subject,
			DeadAt: timestamppb.New(e.DeadAt), HasOutcome: e.Outcome != nil}
		if t := e.Decoded; t != nil {
			d.DeliveryId, d.EventId, d.EndpointId, d.GroupId = t.DeliveryId, t.EventId, t.EndpointId, t.GroupId
		}
		out.DeadLetters = append(out.DeadLetters, d)
	}
	return out, nil
}

// RedriveDeadLetters puts dead letters back to work (admin only): the ids
// given, or every entry. Entries that fail stay in the stream.
func (s *Server) RedriveDeadLetters(ctx context.Context, req *ingestv1.RedriveDeadLettersRequest) (*ingestv1.RedriveDeadLettersResponse, error) {
	q, err := s.deadLetterQueue(ctx)
	if err != nil {
		return nil, err
	}
	if len(req.Ids) > 1000 {
		return nil, s.toStatus(ctx, "dead letter", invalidf("ids must hold at most 1000 ids"))
	}
	res, err := q.Redrive(ctx, s.store, req.Ids)
	for _, f := range res.Failures {
		s.log.Warn("dead letter not redriven", zap.Uint64("dead_letter_id", f.ID), zap.Error(f.Err))
	}
	s.log.Info("dead letters redriven", zap.Int("redriven", res.Redriven), zap.Int("failed", len(res.Failures)))
	if err != nil {
		return nil, s.toStatus(ctx, "dead letter", err)
	}
	return &ingestv1.RedriveDeadLettersResponse{Redriven: int32(res.Redriven), Failed: int32(len(res.Failures))}, nil
}

// deadLetterQueue authenticates an admin call on the dead letters.
func (s *Server) deadLetterQueue(ctx context.Context) (*deadletter.Queue, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	if s.deadLetters == nil {
		return nil, status.Error(codes.Unavailable, "dead letters are not available on this server")
	}
	return s.deadLetters, nil
}
