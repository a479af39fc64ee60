package grpcapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/ingest-service/internal/auth"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

var errGroupIDRequired = status.Error(codes.InvalidArgument, "group_id is required")

// CreateGroup creates a group; every config field left out takes its default.
func (s *Server) CreateGroup(ctx context.Context, req *ingestv1.CreateGroupRequest) (*ingestv1.Group, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	if err := validateName("name", req.Name); err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	cfg, err := applyGroupConfig(model.DefaultGroupConfig(), req.Config)
	if err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	at := now()
	g := &model.Group{UID: ids.New(), Name: strings.TrimSpace(req.Name), Config: cfg, CreatedAt: at, UpdatedAt: at}
	if err := s.store.CreateGroup(ctx, g); err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	s.audit(ctx, g.UID, "create", "group", g.UID, "", auditDocument(g))
	return groupPB(g), nil
}

// ListGroups lists every group, newest first (admin only).
func (s *Server) ListGroups(ctx context.Context, req *ingestv1.ListGroupsRequest) (*ingestv1.ListGroupsResponse, error) {
	caller, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	if !caller.Admin {
		return s.ownGroup(ctx, caller.GroupID, req.Name, p)
	}
	groups, info, err := s.store.ListGroupsNamed(ctx, req.Name, p)
	if err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	out := &ingestv1.ListGroupsResponse{Page: pageInfo(p, info)}
	for i := range groups {
		out.Groups = append(out.Groups, groupPB(&groups[i]))
	}
	return out, nil
}

// ownGroup is the group list a group key sees: its own group, on one page,
// kept by the name filter like any other.
func (s *Server) ownGroup(ctx context.Context, groupID, name string, p store.Page) (*ingestv1.ListGroupsResponse, error) {
	out := &ingestv1.ListGroupsResponse{Page: pageInfo(p, store.PageInfo{})}
	if p.Cursor != "" || p.Number > 1 {
		return out, nil // the one group was on the first page
	}
	g, err := s.store.GetGroup(ctx, groupID)
	if err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	if name == "" || g.Name == name {
		out.Groups = []*ingestv1.Group{groupPB(g)}
	}
	if p.Number > 0 {
		out.Page.Total = int64(len(out.Groups))
	}
	return out, nil
}

// GetGroup returns one group.
func (s *Server) GetGroup(ctx context.Context, req *ingestv1.GetGroupRequest) (*ingestv1.Group, error) {
	if req.GroupId == "" {
		return nil, errGroupIDRequired
	}
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	return groupPB(g), nil
}

// UpdateGroup changes a group's name or config; fields left out keep their
// value. A strategy change applies to the next scheduling decision of every
// delivery of the group.
func (s *Server) UpdateGroup(ctx context.Context, req *ingestv1.UpdateGroupRequest) (*ingestv1.Group, error) {
	if req.GroupId == "" {
		return nil, errGroupIDRequired
	}
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	before := auditDocument(g)
	if req.Name != nil {
		if err := validateName("name", *req.Name); err != nil {
			return nil, s.toStatus(ctx, "group", err)
		}
		g.Name = strings.TrimSpace(*req.Name)
	}
	if g.Config, err = applyGroupConfig(g.Config, req.Config); err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	g.UpdatedAt = now()
	if err := s.store.ReplaceGroup(ctx, g); err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	s.groups.Forget(g.UID)
	s.meta.Forget(g.UID)
	s.audit(ctx, g.UID, "update", "group", g.UID, before, auditDocument(g))
	return groupPB(g), nil
}

// DeleteGroup deletes a group with everything in it.
func (s *Server) DeleteGroup(ctx context.Context, req *ingestv1.DeleteGroupRequest) (*ingestv1.DeleteGroupResponse, error) {
	if req.GroupId == "" {
		return nil, errGroupIDRequired
	}
	g, err := s.group(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeleteGroup(ctx, req.GroupId); err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	s.audit(ctx, g.UID, "delete", "group", g.UID, auditDocument(g), "")
	s.groups.Forget(req.GroupId)
	s.meta.Forget(req.GroupId)
	return &ingestv1.DeleteGroupResponse{}, nil
}

// CreateAPIKey makes a group API key; the plain key is in this answer only.
func (s *Server) CreateAPIKey(ctx context.Context, req *ingestv1.CreateAPIKeyRequest) (*ingestv1.APIKey, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	if err := validateName("name", req.Name); err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	role := req.Role
	switch role {
	case "":
		role = model.RoleAdmin
	case model.RoleAdmin, model.RoleReadOnly:
	default:
		return nil, status.Error(codes.InvalidArgument, "role must be admin or read_only")
	}
	var expires *time.Time
	if req.ExpiresAt != nil {
		if err := req.ExpiresAt.CheckValid(); err != nil {
			return nil, status.Error(codes.InvalidArgument, "expires_at must be a valid time")
		}
		t := req.ExpiresAt.AsTime().UTC().Truncate(time.Millisecond)
		if !t.After(time.Now()) {
			return nil, status.Error(codes.InvalidArgument, "expires_at must be in the future")
		}
		expires = &t
	}
	if _, err := s.store.GetGroup(ctx, req.GroupId); err != nil {
		return nil, s.toStatus(ctx, "group", err)
	}
	raw := make([]byte, 32)
	_, _ = rand.Read(raw)
	plain := "convoy_" + base64.RawURLEncoding.EncodeToString(raw)
	k := &model.APIKey{Hash: auth.HashKey(plain), UID: ids.New(), GroupID: req.GroupId, Name: strings.TrimSpace(req.Name),
		Role: role, ExpiresAt: expires, CreatedAt: now()}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	s.audit(ctx, k.GroupID, "create", "api_key", k.UID, "", auditDocument(k))
	return keyPB(k, plain), nil
}

// ListAPIKeys lists a group's keys (never the keys themselves).
func (s *Server) ListAPIKeys(ctx context.Context, req *ingestv1.ListAPIKeysRequest) (*ingestv1.ListAPIKeysResponse, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	if req.GroupId != "" {
		if _, err := s.store.GetGroup(ctx, req.GroupId); err != nil {
			return nil, s.toStatus(ctx, "group", err)
		}
	}
	keys, info, err := s.store.ListAPIKeys(ctx, req.GroupId, p)
	if err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	out := &ingestv1.ListAPIKeysResponse{Page: pageInfo(p, info)}
	for i := range keys {
		out.Keys = append(out.Keys, keyPB(&keys[i], ""))
	}
	return out, nil
}

// GetAPIKey returns one key (never the key itself), whatever its group.
func (s *Server) GetAPIKey(ctx context.Context, req *ingestv1.GetAPIKeyRequest) (*ingestv1.APIKey, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	k, err := s.store.GetAPIKey(ctx, req.KeyId)
	if err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	return keyPB(k, ""), nil
}

// RevokeAPIKey deletes a group's key (any group's when group_id is empty).
// Replicas that cached it stop accepting it within auth.KeyCacheTTL.
func (s *Server) RevokeAPIKey(ctx context.Context, req *ingestv1.RevokeAPIKeyRequest) (*ingestv1.RevokeAPIKeyResponse, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	k, err := s.store.GetAPIKey(ctx, req.KeyId)
	if err == nil && req.GroupId != "" && k.GroupID != req.GroupId {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	if err := s.store.DeleteAPIKey(ctx, k.GroupID, req.KeyId); err != nil {
		return nil, s.toStatus(ctx, "api key", err)
	}
	s.audit(ctx, k.GroupID, "delete", "api_key", k.UID, auditDocument(k), "")
	return &ingestv1.RevokeAPIKeyResponse{}, nil
}
