package httpapi

import (
	"context"
	"net/http"

	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// encryptionView is the stored secrets' encryption: the configured key ids
// (never the keys) and the last key rotation's progress.
type encryptionView struct {
	ActiveKeyID   string   `json:"active_key_id"`
	Keys          []string `json:"keys"`
	Status        string   `json:"status"`
	RotationKeyID string   `json:"rotation_key_id"`
	Total         int64    `json:"total"`
	Done          int64    `json:"done"`
	StartedAt     *string  `json:"started_at"`
	FinishedAt    *string  `json:"finished_at"`
	Error         string   `json:"error,omitempty"`
}

func encryptionOut(s *ingestv1.EncryptionStatus) encryptionView {
	keys := s.GetKeys()
	if keys == nil {
		keys = []string{}
	}
	return encryptionView{
		ActiveKeyID: s.GetActiveKeyId(), Keys: keys, Status: s.GetStatus(), RotationKeyID: s.GetRotationKeyId(),
		Total: s.GetTotal(), Done: s.GetDone(), StartedAt: timeOut(s.GetStartedAt()), FinishedAt: timeOut(s.GetFinishedAt()),
		Error: s.GetError(),
	}
}

func (a *API) getEncryption(ctx context.Context, _ *http.Request) (any, error) {
	res, err := a.ingest.GetEncryptionStatus(ctx, &ingestv1.GetEncryptionStatusRequest{})
	if err != nil {
		return nil, err
	}
	return encryptionOut(res), nil
}

// rotateEncryption starts a background pass that seals every stored secret
// again with the active key; GET /admin/encryption follows it.
func (a *API) rotateEncryption(ctx context.Context, _ *http.Request) (any, error) {
	res, err := a.ingest.RotateEncryptionKey(ctx, &ingestv1.RotateEncryptionKeyRequest{})
	if err != nil {
		return nil, err
	}
	return encryptionOut(res), nil
}
