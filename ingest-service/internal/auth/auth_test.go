package auth

import (
	"context"
	"sync"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/store"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

type fakeKeys struct {
	keys  map[string]*model.APIKey
	links map[string]*model.PortalLink

	mu      sync.Mutex
	touches int
}

func (f *fakeKeys) APIKeyByHash(_ context.Context, hash string) (*model.APIKey, error) {
	if k, ok := f.keys[hash]; ok {
		return k, nil
	}
	return nil, store.ErrNotFound
}

func (f *fakeKeys) PortalLinkByHash(_ context.Context, hash string) (*model.PortalLink, error) {
	if l, ok := f.links[hash]; ok {
		return l, nil
	}
	return nil, store.ErrNotFound
}

func (f *fakeKeys) TouchAPIKey(context.Context, string, time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.touches++
	return nil
}

func (f *fakeKeys) touched() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.touches
}

func TestAuthenticate(t *testing.T) {
	past, future := time.Now().Add(-time.Second), time.Now().Add(time.Hour)
	keys := &fakeKeys{
		keys: map[string]*model.APIKey{
			HashKey("group-key"):           {UID: "k1", GroupID: "g1"},
			HashKey("reader-key"):          {UID: "k2", GroupID: "g1", Role: model.RoleReadOnly},
			HashKey("expired-key"):         {UID: "k3", GroupID: "g1", ExpiresAt: &past},
			HashKey("expiring-key"):        {UID: "k4", GroupID: "g1", ExpiresAt: &future},
			HashKey("convoy_portal_a_key"): {UID: "k5", GroupID: "g1"},
		},
		links: map[string]*model.PortalLink{
			HashKey("convoy_portal_live"):    {UID: "p1", GroupID: "g1", AppID: "a1", CanManageEndpoints: true, ExpiresAt: future, FrameAncestors: []string{"'self'"}},
			HashKey("convoy_portal_expired"): {UID: "p2", GroupID: "g1", AppID: "a1", ExpiresAt: past},
		},
	}
	a := New("admin-secret", keys)
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
		{"group key", []string{"Bearer group-key"}, Principal{GroupID: "g1", KeyID: "k1"}, codes.OK},
		{"read-only key", []string{"Bearer reader-key"}, Principal{GroupID: "g1", KeyID: "k2", ReadOnly: true}, codes.OK},
		{"expired key", []string{"Bearer expired-key"}, Principal{}, codes.Unauthenticated},
		{"key not yet expired", []string{"Bearer expiring-key"}, Principal{GroupID: "g1", KeyID: "k4"}, codes.OK},
		{"group key that looks like a portal token", []string{"Bearer convoy_portal_a_key"}, Principal{GroupID: "g1", KeyID: "k5"}, codes.OK},
		{"expired portal link", []string{"Bearer convoy_portal_expired"}, Principal{}, codes.Unauthenticated},
		{"unknown portal token", []string{"Bearer convoy_portal_nope"}, Principal{}, codes.Unauthenticated},
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
			if got.Portal != nil || tt.want.Portal != nil {
				t.Fatalf("portal scope %+v for a non-portal credential", got.Portal)
			}
			if got != tt.want {
				t.Fatalf("principal %+v, want %+v", got, tt.want)
			}
		})
	}

	t.Run("live portal link", func(t *testing.T) {
		ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer convoy_portal_live"))
		got, err := a.Authenticate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got.Admin || got.GroupID != "g1" || got.KeyID != "p1" || got.Portal == nil ||
			got.Portal.AppID != "a1" || !got.Portal.CanManageEndpoints || got.Actor() != "p1" {
			t.Fatalf("principal %+v (portal %+v)", got, got.Portal)
		}
	})
}

// A key's last use is written at most once a minute per replica.
func TestLastUsedIsThrottled(t *testing.T) {
	keys := &fakeKeys{keys: map[string]*model.APIKey{HashKey("group-key"): {UID: "k1", Hash: HashKey("group-key"), GroupID: "g1"}}}
	a := New("admin-secret", keys)
	clock := time.Now()
	a.now = func() time.Time { return clock }
	ctx := metadata.NewIncomingContext(t.Context(), metadata.Pairs("authorization", "Bearer group-key"))
	wait := func(want int) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for keys.touched() != want {
			if time.Now().After(deadline) {
				t.Fatalf("touches %d, want %d", keys.touched(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for range 10 {
		if _, err := a.Authenticate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	wait(1)
	clock = clock.Add(LastUsedInterval - time.Second)
	if _, err := a.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Second)
	if _, err := a.Authenticate(ctx); err != nil {
		t.Fatal(err)
	}
	wait(2)
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
