package grpcapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"regexp"
	"strconv"
	"strings"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/ingest-service/internal/auth"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Bounds of a portal link.
const (
	defaultPortalTTL    = 24 * time.Hour
	minPortalTTL        = time.Minute
	maxPortalTTL        = 365 * 24 * time.Hour
	maxFrameAncestors   = 16
	maxFrameAncestorLen = 200
)

// CreatePortalLink makes a token for one application; the plain token is in
// this answer only.
func (s *Server) CreatePortalLink(ctx context.Context, req *ingestv1.CreatePortalLinkRequest) (*ingestv1.PortalLink, error) {
	a, err := s.app(ctx, &req.GroupId, req.AppId)
	if err != nil {
		return nil, err
	}
	ttl, err := parsePortalTTL(req.ExpiresIn)
	if err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	ancestors := req.FrameAncestors
	if len(ancestors) == 0 {
		ancestors = []string{"'self'"}
	}
	if err := validateFrameAncestors(ancestors); err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw) // crypto/rand.Read never fails on Linux
	plain := auth.PortalTokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	at := now()
	l := &model.PortalLink{
		Hash: auth.HashKey(plain), UID: ids.New(), GroupID: a.GroupID, AppID: a.UID,
		CanManageEndpoints: req.CanManageEndpoints, FrameAncestors: ancestors,
		ExpiresAt: at.Add(ttl), CreatedAt: at,
	}
	if err := s.store.CreatePortalLink(ctx, l); err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	s.audit(ctx, a.GroupID, "create", "portal_link", l.UID, "", auditDocument(l))
	return portalLinkPB(l, plain), nil
}

// ListPortalLinks lists an application's links, expired ones included
// (never their tokens).
func (s *Server) ListPortalLinks(ctx context.Context, req *ingestv1.ListPortalLinksRequest) (*ingestv1.ListPortalLinksResponse, error) {
	if _, err := s.app(ctx, &req.GroupId, req.AppId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	links, info, err := s.store.ListPortalLinks(ctx, req.GroupId, req.AppId, p)
	if err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	out := &ingestv1.ListPortalLinksResponse{Page: pageInfo(p, info), Links: make([]*ingestv1.PortalLink, 0, len(links))}
	for i := range links {
		out.Links = append(out.Links, portalLinkPB(&links[i], ""))
	}
	return out, nil
}

// RevokePortalLink deletes a link. Replicas that cached it stop accepting
// its token within auth.KeyCacheTTL.
func (s *Server) RevokePortalLink(ctx context.Context, req *ingestv1.RevokePortalLinkRequest) (*ingestv1.RevokePortalLinkResponse, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	l, err := s.store.GetPortalLink(ctx, req.GroupId, req.AppId, req.PortalLinkId)
	if err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	if err := s.store.DeletePortalLink(ctx, req.GroupId, req.AppId, req.PortalLinkId); err != nil {
		return nil, s.toStatus(ctx, "portal link", err)
	}
	s.audit(ctx, req.GroupId, "delete", "portal_link", l.UID, auditDocument(l), "")
	return &ingestv1.RevokePortalLinkResponse{}, nil
}

// GetPortalSession describes the caller's own portal link.
func (s *Server) GetPortalSession(ctx context.Context, _ *ingestv1.GetPortalSessionRequest) (*ingestv1.PortalSession, error) {
	p, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if p.Portal == nil {
		return nil, status.Error(codes.Unauthenticated, "this call needs a portal link's token")
	}
	a, err := s.store.GetApplication(ctx, p.GroupID, p.Portal.AppID)
	if err != nil {
		return nil, s.toStatus(ctx, "application", err)
	}
	return &ingestv1.PortalSession{
		Uid: p.KeyID, GroupId: p.GroupID, AppId: a.UID, AppName: a.Name,
		CanManageEndpoints: p.Portal.CanManageEndpoints, ExpiresAt: ts(p.Portal.ExpiresAt),
		FrameAncestors: p.Portal.FrameAncestors,
	}, nil
}

func portalLinkPB(l *model.PortalLink, plain string) *ingestv1.PortalLink {
	return &ingestv1.PortalLink{
		Uid: l.UID, GroupId: l.GroupID, AppId: l.AppID, Token: plain, ExpiresAt: ts(l.ExpiresAt),
		CanManageEndpoints: l.CanManageEndpoints, FrameAncestors: l.FrameAncestors, CreatedAt: ts(l.CreatedAt),
	}
}

// parsePortalTTL reads expires_in: a Go duration ("24h", "90m") or whole
// days or weeks ("7d", "2w").
func parsePortalTTL(v string) (time.Duration, error) {
	if v == "" {
		return defaultPortalTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil && len(v) > 1 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour}[v[len(v)-1]]
		n, nerr := strconv.Atoi(v[:len(v)-1])
		if unit > 0 && nerr == nil && n > 0 && n <= 1000 {
			d, err = time.Duration(n)*unit, nil
		}
	}
	if err != nil || d < minPortalTTL || d > maxPortalTTL {
		return 0, invalidf("expires_in must be a duration from 1m to 365d, such as 24h or 7d")
	}
	return d, nil
}

// A frame-ancestors source: 'self', 'none', a scheme ("https:") or a host
// source with an optional scheme, wildcard subdomain, port and path.
var hostSource = regexp.MustCompile(`^([a-z][a-z0-9+.-]*://)?(\*|(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*)(:(\d{1,5}|\*))?(/[A-Za-z0-9._~!$&()*+=:@%/-]*)?$`)
var schemeSource = regexp.MustCompile(`^[a-z][a-z0-9+.-]*:$`)

// validateFrameAncestors checks each entry is one CSP source expression, so
// that the list can be written into a Content-Security-Policy header as is.
func validateFrameAncestors(list []string) error {
	if len(list) > maxFrameAncestors {
		return invalidf("frame_ancestors must list at most %d sources", maxFrameAncestors)
	}
	for i, src := range list {
		lower := strings.ToLower(src)
		switch {
		case len(src) > maxFrameAncestorLen:
			return invalidf("frame_ancestors[%d] must be at most %d characters", i, maxFrameAncestorLen)
		case lower == "'none'" && len(list) > 1:
			return invalidf("frame_ancestors[%d]: 'none' must be the only source", i)
		case lower == "'self'" || lower == "'none'" || schemeSource.MatchString(lower) || hostSource.MatchString(lower):
		default:
			return invalidf("frame_ancestors[%d] must be 'self', 'none', a scheme such as https: or a host such as https://*.example.com; got %q", i, src)
		}
	}
	return nil
}
