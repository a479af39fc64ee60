package grpcapi_test

import (
	"context"
	"testing"

	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestEncryptionStatusAndRotate(t *testing.T) {
	h := newHarness(t)
	st, err := h.api.GetEncryptionStatus(h.admin, &ingestv1.GetEncryptionStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.ActiveKeyId != "k1" || len(st.Keys) != 1 || st.Keys[0] != "k1" || st.Status != store.RotationIdle {
		t.Fatalf("status = %v", st)
	}
	st, err = h.api.RotateEncryptionKey(h.admin, &ingestv1.RotateEncryptionKeyRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != store.RotationPending || st.RotationKeyId != "k1" {
		t.Fatalf("after rotate = %v", st)
	}
	_, err = h.api.RotateEncryptionKey(h.admin, &ingestv1.RotateEncryptionKeyRequest{})
	if status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("second rotate while pending: %v, want FailedPrecondition", err)
	}
	if err := h.store.SetRotation(context.Background(), store.Rotation{Status: store.RotationDone, ActiveKeyID: "k1", Total: 3, Done: 3}); err != nil {
		t.Fatal(err)
	}
	st, err = h.api.GetEncryptionStatus(h.admin, &ingestv1.GetEncryptionStatusRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != store.RotationDone || st.Done != 3 || st.Total != 3 {
		t.Fatalf("status = %v", st)
	}
}
