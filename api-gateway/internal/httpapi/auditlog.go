package httpapi

import (
	"context"
	"encoding/json"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

type auditEntryView struct {
	UID          string          `json:"uid"`
	GroupID      string          `json:"group_id"`
	Actor        string          `json:"actor"`
	Action       string          `json:"action"`
	ResourceType string          `json:"resource_type"`
	ResourceID   string          `json:"resource_id"`
	Before       json.RawMessage `json:"before"`
	After        json.RawMessage `json:"after"`
	CreatedAt    *string         `json:"created_at"`
}

// document is a stored JSON object, or null when there is none.
func document(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("null")
	}
	return json.RawMessage(s)
}

func auditEntryOut(e *ingestv1.AuditEntry) auditEntryView {
	return auditEntryView{
		UID: e.GetUid(), GroupID: e.GetGroupId(), Actor: e.GetActor(), Action: e.GetAction(),
		ResourceType: e.GetResourceType(), ResourceID: e.GetResourceId(),
		Before: document(e.GetBefore()), After: document(e.GetAfter()), CreatedAt: timeOut(e.GetCreatedAt()),
	}
}

// listAuditLog answers a group's log, or every group's on the admin route
// (which has no group_id).
func (a *API) listAuditLog(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListAuditLog(ctx, &ingestv1.ListAuditLogRequest{GroupId: r.PathValue("group_id"), Page: p})
	if err != nil {
		return nil, err
	}
	return page[auditEntryView]{Content: mapSlice(res.GetEntries(), auditEntryOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}
