package grpcapi

import (
	"context"
	"errors"
	"fmt"

	"convoy/core/store"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// invalid is a bad-input error; its text names the field and the rule.
type invalid string

func (e invalid) Error() string { return string(e) }

func invalidf(format string, args ...any) error { return invalid(fmt.Sprintf(format, args...)) }

// toStatus maps an error to the gRPC status the caller sees. It is the one
// place where store, queue and validation errors become codes.
func (s *Server) toStatus(ctx context.Context, what string, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := status.FromError(err); ok {
		return err
	}
	var inv invalid
	switch {
	case errors.As(err, &inv):
		return status.Error(codes.InvalidArgument, inv.Error())
	case errors.Is(err, store.ErrNotFound):
		return status.Error(codes.NotFound, what+" not found")
	case errors.Is(err, store.ErrDuplicate):
		return status.Error(codes.AlreadyExists, what+" already exists")
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, "request canceled")
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, "request timed out")
	}
	// Anything else is the store or the queue failing: the request may be
	// retried once they are back, so say Unavailable (HTTP 503), never OK.
	s.log.Warn("request failed", zap.String("resource", what), zap.Error(err))
	return status.Error(codes.Unavailable, "storage or queue unavailable; retry later")
}

func notFound(what string) error { return status.Error(codes.NotFound, what+" not found") }
