package httpapi

import (
	"context"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

type apiKeyInput struct {
	Name string `json:"name"`
}

type apiKeyView struct {
	UID  string `json:"uid"`
	Name string `json:"name"`
	// Key is the plain key, present only in the answer to its creation.
	Key       string  `json:"key,omitempty"`
	CreatedAt *string `json:"created_at"`
	// groupID is shown by Convoy's dialect, as the key's role.
	groupID string
}

func apiKeyOut(k *ingestv1.APIKey) apiKeyView {
	return apiKeyView{UID: k.GetUid(), Name: k.GetName(), Key: k.GetKey(), CreatedAt: timeOut(k.GetCreatedAt()), groupID: k.GetGroupId()}
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
	k, err := a.ingest.CreateAPIKey(ctx, &ingestv1.CreateAPIKeyRequest{GroupId: r.PathValue("group_id"), Name: in.Name})
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
