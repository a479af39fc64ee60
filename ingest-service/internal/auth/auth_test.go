package auth

import (
	"context"
	"testing"

	"convoy/core/model"
	"convoy/core/store"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type fakeKeys map[string]*model.APIKey

func (f fakeKeys) APIKeyByHash(_ context.Context, hash string) (*model.APIKey, error) {
	if k, ok := f[hash]; ok {
		return k, nil
	}
	return nil, store.ErrNotFound
}

func TestAuthenticate(t *testing.T) {
	a := New("admin-secret", fakeKeys{HashKey("group-key"): {GroupID: "g1"}})
	tests := []struct {
		name   string
		header []string
		want   Principal
		code   codes.Code
	}{
		{"no header", nil, Principal{}, codes.Unauthenticated},
		{"empty", []string{""}, Principal{}, codes.Unauthenticated},
		{"wrong scheme", []string{"Basic admin-secret"}, Principal{}, codes.Unauthenticated},
		{"admin", []string{"Bearer admin-secret"}, Principal{Admin: true}, codes.OK},
		{"admin lowercase scheme", []string{"bearer admin-secret"}, Principal{Admin: true}, codes.OK},
		{"group key", []string{"Bearer group-key"}, Principal{GroupID: "g1"}, codes.OK},
		{"unknown key", []string{"Bearer nope"}, Principal{}, codes.Unauthenticated},
		{"admin prefix is not admin", []string{"Bearer admin-secre"}, Principal{}, codes.Unauthenticated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			if tt.header != nil {
				ctx = metadata.NewIncomingContext(ctx, metadata.Pairs("authorization", tt.header[0]))
			}
			got, err := a.Authenticate(ctx)
			if status.Code(err) != tt.code {
				t.Fatalf("code %v, want %v (%v)", status.Code(err), tt.code, err)
			}
			if got != tt.want {
				t.Fatalf("principal %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestCanAccessGroup(t *testing.T) {
	if !(Principal{Admin: true}).CanAccessGroup("any") {
		t.Error("admin denied")
	}
	if !(Principal{GroupID: "g1"}).CanAccessGroup("g1") {
		t.Error("own group denied")
	}
	if (Principal{GroupID: "g1"}).CanAccessGroup("g2") {
		t.Error("other group allowed")
	}
}
