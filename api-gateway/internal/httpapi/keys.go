package httpapi

import (
	"context"
	"net/http"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/types/known/timestamppb"
)

type apiKeyInput struct {
	Name string `json:"name"`
	// Role is "admin" (the default) or "read_only".
	Role *string `json:"role"`
	// ExpiresAt is an RFC 3339 time; unset, the key never expires.
	ExpiresAt *string `json:"expires_at"`
}

type apiKeyView struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	Role string `json:"role"`
	// Key is the plain key, present only in the answer to its creation.
	Key        string  `json:"key,omitempty"`
	ExpiresAt  *string `json:"expires_at"`
	LastUsedAt *string `json:"last_used_at"`
	CreatedAt  *string `json:"created_at"`
	// groupID is shown by Convoy's dialect, as the key's role.
	groupID string
}

func apiKeyOut(k *ingestv1.APIKey) apiKeyView {
	return apiKeyView{
		UID: k.GetUid(), Name: k.GetName(), Role: k.GetRole(), Key: k.GetKey(),
		ExpiresAt: timeOut(k.GetExpiresAt()), LastUsedAt: timeOut(k.GetLastUsedAt()),
		CreatedAt: timeOut(k.GetCreatedAt()), groupID: k.GetGroupId(),
	}
}

// expiresAt reads an optional RFC 3339 time field.
func expiresAt(field string, v *string) (*timestamppb.Timestamp, error) {
	if v == nil || *v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339Nano, *v)
	if err != nil {
		return nil, badRequest("%s must be an RFC 3339 time such as 2030-01-02T15:04:05Z", field)
	}
	return timestamppb.New(t), nil
}

// getAPIKey answers one key of any group (Convoy's /security/keys/{id}).
func (a *API) getAPIKey(ctx context.Context, r *http.Request) (any, error) {
	k, err := a.ingest.GetAPIKey(ctx, &ingestv1.GetAPIKeyRequest{KeyId: r.PathValue("key_id")})
	if err != nil {
		return nil, err
	}
	return apiKeyOut(k), nil
}

func (a *API) createAPIKey(ctx context.Context, r *http.Request) (any, error) {
	in := bodyAs[apiKeyInput](r)
	exp, err := expiresAt("expires_at", in.ExpiresAt)
	if err != nil {
		return nil, err
	}
	req := &ingestv1.CreateAPIKeyRequest{GroupId: r.PathValue("group_id"), Name: in.Name, ExpiresAt: exp}
	if in.Role != nil {
		req.Role = *in.Role
	}
	k, err := a.ingest.CreateAPIKey(ctx, req)
	if err != nil {
		return nil, err
	}
	return apiKeyOut(k), nil
}

func (a *API) listAPIKeys(ctx context.Context, r *http.Request) (any, error) {
	p, err := pageOnly(r)
	if err != nil {
		return nil, err
	}
	res, err := a.ingest.ListAPIKeys(ctx, &ingestv1.ListAPIKeysRequest{GroupId: r.PathValue("group_id"), Page: p})
	if err != nil {
		return nil, err
	}
	return page[apiKeyView]{Content: mapSlice(res.GetKeys(), apiKeyOut), Pagination: paginationOf(res.GetPage(), p)}, nil
}

func (a *API) revokeAPIKey(ctx context.Context, r *http.Request) (any, error) {
	_, err := a.ingest.RevokeAPIKey(ctx, &ingestv1.RevokeAPIKeyRequest{GroupId: r.PathValue("group_id"), KeyId: r.PathValue("key_id")})
	return nil, err
}
