// Package portalcsp tells which pages may embed a portal link's page: the
// link's frame-ancestors list, for the Content-Security-Policy header the
// console serves /ui/portal with.
package portalcsp

import (
	"context"
	"errors"
	"strings"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// ErrInvalidToken is returned for a token that is not a live portal link's
// (unknown, revoked, expired, or another kind of credential).
var ErrInvalidToken = errors.New("portalcsp: not a live portal link token")

// SessionGetter is the one IngestService call used (an IngestServiceClient).
type SessionGetter interface {
	GetPortalSession(ctx context.Context, in *ingestv1.GetPortalSessionRequest, opts ...grpc.CallOption) (*ingestv1.PortalSession, error)
}

// Source answers the frame-ancestors of portal links.
type Source struct{ ingest SessionGetter }

// New returns a Source asking ingest-service.
func New(ingest SessionGetter) *Source { return &Source{ingest: ingest} }

// Deny is the policy for a page whose token is not valid: embedding nowhere.
const Deny = "frame-ancestors 'none'"

// FrameAncestors returns the link's sources joined for the directive, such
// as "'self' https://app.example.com". It asks the same call as
// GET /api/v1/portal/session, so a revoked or expired link fails here
// within the same 2 s.
func (s *Source) FrameAncestors(ctx context.Context, token string) (string, error) {
	if strings.TrimSpace(token) == "" {
		return "", ErrInvalidToken
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	sess, err := s.ingest.GetPortalSession(ctx, &ingestv1.GetPortalSessionRequest{})
	switch status.Code(err) {
	case codes.OK:
	case codes.Unauthenticated, codes.PermissionDenied, codes.NotFound:
		return "", ErrInvalidToken
	default:
		return "", err
	}
	list := sess.GetFrameAncestors()
	if len(list) == 0 {
		return "'self'", nil
	}
	return strings.Join(list, " "), nil
}

// Header is the whole Content-Security-Policy value for token: the link's
// frame-ancestors, or Deny when the token is not valid or cannot be checked.
func (s *Source) Header(ctx context.Context, token string) string {
	list, err := s.FrameAncestors(ctx, token)
	if err != nil {
		return Deny
	}
	return "frame-ancestors " + list
}
