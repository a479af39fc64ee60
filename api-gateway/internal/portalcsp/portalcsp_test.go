package portalcsp

import (
	"context"
	"errors"
	"net"
	"testing"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// sessions answers GetPortalSession for the tokens it knows, as
// ingest-service does for live links.
type sessions struct {
	ingestv1.UnimplementedIngestServiceServer
	byToken map[string][]string
}

func (s sessions) GetPortalSession(ctx context.Context, _ *ingestv1.GetPortalSessionRequest) (*ingestv1.PortalSession, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	auth := md.Get("authorization")
	if len(auth) == 0 {
		return nil, status.Error(codes.Unauthenticated, "missing")
	}
	switch auth[0] {
	case "Bearer broken":
		return nil, status.Error(codes.Unavailable, "store down")
	case "Bearer admin":
		return nil, status.Error(codes.Unauthenticated, "this call needs a portal link's token")
	}
	list, ok := s.byToken[auth[0]]
	if !ok {
		return nil, status.Error(codes.Unauthenticated, "invalid API key")
	}
	return &ingestv1.PortalSession{Uid: "pl-1", FrameAncestors: list}, nil
}

func TestFrameAncestors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	ingestv1.RegisterIngestServiceServer(srv, sessions{byToken: map[string][]string{
		"Bearer convoy_portal_a": {"'self'", "https://app.example.com"},
		"Bearer convoy_portal_b": nil,
	}})
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	src := New(ingestv1.NewIngestServiceClient(conn))

	for _, c := range []struct {
		name, token, want, header string
		err                       error
	}{
		{"the link's list", "convoy_portal_a", "'self' https://app.example.com", "frame-ancestors 'self' https://app.example.com", nil},
		{"a link with no list is self only", "convoy_portal_b", "'self'", "frame-ancestors 'self'", nil},
		{"unknown token", "convoy_portal_zz", "", Deny, ErrInvalidToken},
		{"not a portal credential", "admin", "", Deny, ErrInvalidToken},
		{"no token", "", "", Deny, ErrInvalidToken},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := src.FrameAncestors(t.Context(), c.token)
			if got != c.want || !errors.Is(err, c.err) {
				t.Fatalf("FrameAncestors = %q, %v; want %q, %v", got, err, c.want, c.err)
			}
			if h := src.Header(t.Context(), c.token); h != c.header {
				t.Fatalf("Header = %q, want %q", h, c.header)
			}
		})
	}
	t.Run("ingest unavailable is an error, not an invalid token", func(t *testing.T) {
		_, err := src.FrameAncestors(t.Context(), "broken")
		if err == nil || errors.Is(err, ErrInvalidToken) || status.Code(err) != codes.Unavailable {
			t.Fatalf("err = %v, want the Unavailable status", err)
		}
		if h := src.Header(t.Context(), "broken"); h != Deny {
			t.Fatalf("Header = %q, want %q", h, Deny)
		}
	})
}
