package grpcapi

import (
	"context"
	"math"
	"time"

	"convoy/ingest-service/internal/auth"

	"go.uber.org/zap"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
)

// RateLimiter counts a key's calls (an *apirate.Limiter).
type RateLimiter interface {
	Allow(ctx context.Context, key string) (ok bool, retryAfter time.Duration, err error)
}

// WithRateLimit limits every group key's and portal link's calls; the admin
// key is not limited (it is the operator's).
func WithRateLimit(l RateLimiter) Option {
	return func(s *Server) { s.limiter = l }
}

// limit answers ResourceExhausted, with the wait as RetryInfo, when the
// caller's key is over its rate. When the count cannot be kept (NATS down)
// the call goes through: the limit protects the service, and refusing
// every call would be the outage it guards against.
func (s *Server) limit(ctx context.Context, p auth.Principal) error {
	if s.limiter == nil || p.Admin {
		return nil
	}
	ok, wait, err := s.limiter.Allow(ctx, p.KeyID)
	if err != nil {
		s.log.Warn("api rate limit not checked", zap.String("key_id", p.KeyID), zap.Error(err))
		return nil
	}
	if ok {
		return nil
	}
	st := status.New(codes.ResourceExhausted, "API rate limit exceeded for this key; retry after the time in Retry-After")
	secs := time.Duration(math.Ceil(wait.Seconds())) * time.Second
	if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(max(secs, time.Second))}); err == nil {
		st = d
	}
	return st.Err()
}
