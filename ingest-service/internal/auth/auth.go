// Package auth decides who is calling: the admin key may do everything, a
// group API key may act only inside its own group.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"time"

	"convoy/core/cache"
	"convoy/core/model"
	"convoy/core/store"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Principal is an authenticated caller.
type Principal struct {
	Admin   bool
	GroupID string
}

// CanAccessGroup reports whether the caller may act inside group id.
func (p Principal) CanAccessGroup(id string) bool { return p.Admin || p.GroupID == id }

// KeyStore finds group API keys by the SHA-256 of the key.
type KeyStore interface {
	APIKeyByHash(ctx context.Context, hash string) (*model.APIKey, error)
}

// Authenticator checks the bearer key in a call's metadata.
type Authenticator struct {
	adminKey []byte
	keys     KeyStore
	// Keys are cached briefly so that authenticating an event costs no store
	// read; a revoked key stops working within this time on every replica.
	cache *cache.TTL[string, *model.APIKey]
}

// KeyCacheTTL is how long a group key stays cached.
const KeyCacheTTL = 2 * time.Second

// New returns an Authenticator for the admin key and the stored group keys.
func New(adminKey string, keys KeyStore) *Authenticator {
	return &Authenticator{adminKey: []byte(adminKey), keys: keys, cache: cache.New[string, *model.APIKey](KeyCacheTTL)}
}

// HashKey is how a plain key is stored and looked up.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Authenticate returns the caller of ctx, or an Unauthenticated status.
func (a *Authenticator) Authenticate(ctx context.Context) (Principal, error) {
	key, err := bearer(ctx)
	if err != nil {
		return Principal{}, err
	}
	if len(a.adminKey) > 0 && subtle.ConstantTimeCompare([]byte(key), a.adminKey) == 1 {
		return Principal{Admin: true}, nil
	}
	hash := HashKey(key)
	k, err := a.cache.Get(ctx, hash, func(ctx context.Context) (*model.APIKey, error) {
		return a.keys.APIKeyByHash(ctx, hash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, status.Error(codes.Unauthenticated, "invalid API key")
	}
	if err != nil {
		return Principal{}, status.Error(codes.Unavailable, "cannot check the API key right now; retry")
	}
	return Principal{GroupID: k.GroupID}, nil
}

func bearer(ctx context.Context) (string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
		return "", status.Error(codes.Unauthenticated, "missing Authorization: Bearer <api key>")
	}
	scheme, key, ok := strings.Cut(strings.TrimSpace(vals[0]), " ")
	key = strings.TrimSpace(key)
	if !ok || !strings.EqualFold(scheme, "Bearer") || key == "" {
		return "", status.Error(codes.Unauthenticated, "authorization must be 'Bearer <api key>'")
	}
	return key, nil
}
