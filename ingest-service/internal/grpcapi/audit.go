package grpcapi

import (
	"context"
	"encoding/json"

	"convoy/core/ids"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

const redacted = "[REDACTED]"

// audit records a change the caller has just made. The change is already
// stored and there are no transactions to undo it with, so a failed record
// is logged, loudly, rather than turned into a failed answer.
func (s *Server) audit(ctx context.Context, groupID, action, resourceType, resourceID, before, after string) {
	actor := "unknown"
	if p, err := s.auth.Authenticate(ctx); err == nil {
		actor = p.Actor()
	}
	e := &model.AuditEntry{
		UID: ids.New(), GroupID: groupID, Actor: actor, Action: action,
		ResourceType: resourceType, ResourceID: resourceID,
		Before: before, After: after, CreatedAt: now(),
	}
	// The caller may give up once the change is made; the record must not.
	if err := s.store.AppendAudit(context.WithoutCancel(ctx), e); err != nil {
		s.log.Error("audit entry not recorded", zap.String("group_id", groupID), zap.String("action", action),
			zap.String("resource_type", resourceType), zap.String("resource_id", resourceID), zap.Error(err))
	}
}

// auditDocument is doc as a JSON object under its stored field names, with
// every secret replaced: endpoint and application secrets, the meta event
// secret, and the hashes that identify a key or a portal token.
func auditDocument(doc any) string {
	if doc == nil {
		return ""
	}
	raw, err := bson.MarshalExtJSON(doc, false, false)
	if err != nil {
		return ""
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return ""
	}
	switch doc.(type) {
	case *model.APIKey, *model.PortalLink:
		delete(m, "_id") // the hash of the key or token
	}
	redact(m)
	out, err := json.Marshal(m)
	if err != nil {
		return ""
	}
	return string(out)
}

// redact replaces, anywhere in v, the values of "secret" and the "value"
// of each entry of "secrets".
func redact(v any) {
	switch t := v.(type) {
	case map[string]any:
		for k, child := range t {
			switch k {
			case "secret", "token", "key":
				if s, ok := child.(string); ok && s != "" {
					t[k] = redacted
				}
			case "secrets":
				if list, ok := child.([]any); ok {
					for _, item := range list {
						if sm, ok := item.(map[string]any); ok {
							if _, has := sm["value"]; has {
								sm["value"] = redacted
							}
						}
					}
				}
			default:
				redact(child)
			}
		}
	case []any:
		for _, item := range t {
			redact(item)
		}
	}
}

// ListAuditLog lists a group's audit entries newest first; with no group,
// every group's (admin key only).
func (s *Server) ListAuditLog(ctx context.Context, req *ingestv1.ListAuditLogRequest) (*ingestv1.ListAuditLogResponse, error) {
	if req.GroupId == "" {
		p, err := s.caller(ctx)
		if err != nil {
			return nil, err
		}
		if !p.Admin {
			return nil, status.Error(codes.PermissionDenied, "every group's audit log needs the admin API key")
		}
	} else if _, err := s.group(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	p, err := page(req.Page)
	if err != nil {
		return nil, s.toStatus(ctx, "audit entry", err)
	}
	entries, info, err := s.store.ListAudit(ctx, req.GroupId, p)
	if err != nil {
		return nil, s.toStatus(ctx, "audit entry", err)
	}
	out := &ingestv1.ListAuditLogResponse{Page: pageInfo(p, info), Entries: make([]*ingestv1.AuditEntry, 0, len(entries))}
	for i := range entries {
		e := &entries[i]
		out.Entries = append(out.Entries, &ingestv1.AuditEntry{
			Uid: e.UID, GroupId: e.GroupID, Actor: e.Actor, Action: e.Action, ResourceType: e.ResourceType,
			ResourceId: e.ResourceID, Before: e.Before, After: e.After, CreatedAt: ts(e.CreatedAt),
		})
	}
	return out, nil
}
