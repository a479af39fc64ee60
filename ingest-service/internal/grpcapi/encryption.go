package grpcapi

import (
	"context"
	"errors"

	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// GetEncryptionStatus answers the configured keys and the last key
// rotation (admin only).
func (s *Server) GetEncryptionStatus(ctx context.Context, _ *ingestv1.GetEncryptionStatusRequest) (*ingestv1.EncryptionStatus, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	st, err := s.store.EncryptionState(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "encryption status", err)
	}
	return s.encryptionStatus(st), nil
}

// RotateEncryptionKey asks for every stored secret to be sealed again with
// the active key (admin only). scheduler-service runs the rotation in the
// background; GetEncryptionStatus follows it.
func (s *Server) RotateEncryptionKey(ctx context.Context, _ *ingestv1.RotateEncryptionKeyRequest) (*ingestv1.EncryptionStatus, error) {
	if err := s.admin(ctx); err != nil {
		return nil, err
	}
	active := s.store.Keyring().ActiveID()
	if active == "" {
		return nil, status.Error(codes.FailedPrecondition, "no encryption key is configured: set CONVOY_ENCRYPTION_KEYS (or CONVOY_ENCRYPTION_KEY_FILE) on every service first")
	}
	st, err := s.store.RequestRotation(ctx, active)
	if errors.Is(err, store.ErrRotationRunning) {
		return nil, status.Error(codes.FailedPrecondition, "a key rotation is already pending or running")
	}
	if err != nil {
		return nil, s.toStatus(ctx, "encryption status", err)
	}
	s.log.Info("key rotation requested", zap.String("active_key_id", active))
	return s.encryptionStatus(st), nil
}

func (s *Server) encryptionStatus(st *store.EncryptionState) *ingestv1.EncryptionStatus {
	kr := s.store.Keyring()
	r := st.Rotation
	return &ingestv1.EncryptionStatus{
		ActiveKeyId: kr.ActiveID(), Keys: kr.IDs(), Status: r.Status, Total: r.Total, Done: r.Done,
		StartedAt: tsPtr(r.StartedAt), FinishedAt: tsPtr(r.FinishedAt), Error: r.Error, RotationKeyId: r.ActiveKeyID,
	}
}
