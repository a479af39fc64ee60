// Package auth decides who is calling: the admin key may do everything, a
// group API key may act only inside its own group (reading only, when its
// role is read_only), and a portal link's token only on its one application.
package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"time"

	"convoy/core/cache"
	"convoy/core/model"
	"convoy/core/store"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Principal is an authenticated caller.
type Principal struct {
	Admin   bool
	GroupID string
	// KeyID is the uid of the group key or of the portal link.
	KeyID string
	// ReadOnly callers may only read.
	ReadOnly bool
	// Portal is set for a portal link's token.
	Portal *PortalScope
}

// PortalScope is what a portal link's token may reach.
type PortalScope struct {
	AppID              string
	CanManageEndpoints bool
	ExpiresAt          time.Time
	FrameAncestors     []string
}

// CanAccessGroup reports whether the caller may act inside group id.
func (p Principal) CanAccessGroup(id string) bool { return p.Admin || p.GroupID == id }

// Actor names the caller in the audit log.
func (p Principal) Actor() string {
	if p.Admin {
		return "admin"
	}
	return p.KeyID
}

// KeyStore finds group API keys and portal links by the SHA-256 of their
// secret, and records when a key was last used.
type KeyStore interface {
	APIKeyByHash(ctx context.Context, hash string) (*model.APIKey, error)
	PortalLinkByHash(ctx context.Context, hash string) (*model.PortalLink, error)
	TouchAPIKey(ctx context.Context, hash string, at time.Time) error
}

// Authenticator checks the bearer key in a call's metadata.
type Authenticator struct {
	adminKey []byte
	keys     KeyStore
	log      *zap.Logger
	// Keys and links are cached briefly so that authenticating an event
	// costs no store read; a revoked key or link stops working within this
	// time on every replica. Expiry is checked on every call.
	cache  *cache.TTL[string, *model.APIKey]
	portal *cache.TTL[string, *model.PortalLink]

	// touched is when this replica last wrote a key's last_used_at.
	touchMu sync.Mutex
	touched map[string]time.Time
	now     func() time.Time
}

// KeyCacheTTL is how long a group key or portal link stays cached.
const KeyCacheTTL = 2 * time.Second

// LastUsedInterval is how often at most a key's last_used_at is written.
const LastUsedInterval = time.Minute

// PortalTokenPrefix starts every portal link's token, so that a token is
// looked up where portal links are kept.
const PortalTokenPrefix = "convoy_portal_"

// New returns an Authenticator for the admin key and the stored group keys.
func New(adminKey string, keys KeyStore) *Authenticator {
	return &Authenticator{
		adminKey: []byte(adminKey), keys: keys, log: zap.NewNop(),
		cache:   cache.New[string, *model.APIKey](KeyCacheTTL),
		portal:  cache.New[string, *model.PortalLink](KeyCacheTTL),
		touched: map[string]time.Time{}, now: time.Now,
	}
}

// WithLogger sets the logger for the background last_used_at writes.
func (a *Authenticator) WithLogger(log *zap.Logger) *Authenticator {
	a.log = log
	return a
}

// HashKey is how a plain key is stored and looked up.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

var errInvalidKey = status.Error(codes.Unauthenticated, "invalid API key")

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
	if strings.HasPrefix(key, PortalTokenPrefix) {
		p, err := a.portalLink(ctx, hash)
		// A group key is random text after "convoy_": one may, very rarely,
		// look like a portal token.
		if !errors.Is(err, errInvalidKey) {
			return p, err
		}
	}
	k, err := a.cache.Get(ctx, hash, func(ctx context.Context) (*model.APIKey, error) {
		return a.keys.APIKeyByHash(ctx, hash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errInvalidKey
	}
	if err != nil {
		return Principal{}, status.Error(codes.Unavailable, "cannot check the API key right now; retry")
	}
	now := a.now()
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return Principal{}, status.Error(codes.Unauthenticated, "API key expired")
	}
	a.touch(ctx, k, now)
	return Principal{GroupID: k.GroupID, KeyID: k.UID, ReadOnly: k.Role == model.RoleReadOnly}, nil
}

func (a *Authenticator) portalLink(ctx context.Context, hash string) (Principal, error) {
	l, err := a.portal.Get(ctx, hash, func(ctx context.Context) (*model.PortalLink, error) {
		return a.keys.PortalLinkByHash(ctx, hash)
	})
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, errInvalidKey
	}
	if err != nil {
		return Principal{}, status.Error(codes.Unavailable, "cannot check the portal token right now; retry")
	}
	if !a.now().Before(l.ExpiresAt) {
		return Principal{}, status.Error(codes.Unauthenticated, "portal link expired")
	}
	return Principal{GroupID: l.GroupID, KeyID: l.UID, Portal: &PortalScope{
		AppID: l.AppID, CanManageEndpoints: l.CanManageEndpoints, ExpiresAt: l.ExpiresAt, FrameAncestors: l.FrameAncestors,
	}}, nil
}

// touch writes the key's last_used_at when this replica has not for a
// minute. The write runs off the request path: authenticating stays a
// cache hit, and a failed write only leaves the time a little older.
func (a *Authenticator) touch(ctx context.Context, k *model.APIKey, now time.Time) {
	a.touchMu.Lock()
	last, ok := a.touched[k.Hash]
	if !ok && k.LastUsedAt != nil {
		last = *k.LastUsedAt
	}
	if now.Sub(last) < LastUsedInterval {
		a.touchMu.Unlock()
		return
	}
	if len(a.touched) > 100_000 {
		clear(a.touched)
	}
	a.touched[k.Hash] = now
	a.touchMu.Unlock()
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := a.keys.TouchAPIKey(ctx, k.Hash, now.UTC().Truncate(time.Millisecond)); err != nil {
			a.log.Warn("record api key use", zap.String("key_id", k.UID), zap.Error(err))
		}
	}()
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
