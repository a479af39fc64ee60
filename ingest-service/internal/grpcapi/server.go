// Package grpcapi implements convoy.ingest.v1.IngestService: every operation
// a producer or an operator performs. It authenticates the caller, validates
// input (naming the field), and reads and writes through the store; events go
// through fanout so that they are stored and queued before the answer.
package grpcapi

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"

	"convoy/core/cache"
	"convoy/core/deadletter"
	"convoy/core/filter"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/ingest-service/internal/auth"
	"convoy/ingest-service/internal/catalog"
	"convoy/ingest-service/internal/fanout"
	ingestv1 "convoy/proto/convoy/ingest/v1"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Publisher queues dispatch tasks.
type Publisher interface {
	PublishTasks(ctx context.Context, tasks []*queuev1.DeliveryTask) error
}

// MetaEmitter sends a group's meta events (a *metaevent.Emitter).
type MetaEmitter interface {
	Emit(ctx context.Context, groupID, eventType string, data any) error
	Resend(ctx context.Context, m *model.MetaEvent) error
	Forget(groupID string)
}

// Server is the IngestService.
type Server struct {
	ingestv1.UnimplementedIngestServiceServer

	store  *store.Store
	auth   *auth.Authenticator
	fanout *fanout.Fanout
	pub    Publisher
	meta   MetaEmitter
	log    *zap.Logger

	// Set by WithJetStream; without it the stats answer every circuit
	// closed and the dead-letter calls are Unavailable.
	deadLetters *deadletter.Queue
	health      *healthReader
	heads       *orderedHeads
	// limiter, when set, bounds each key's calls per second.
	limiter RateLimiter
	// listen serves the Listen calls (convoy listen).
	listen *listening

	// Settings read on every event are cached briefly; writes through this
	// replica forget them at once, other replicas see changes within the TTL.
	groups    *cache.TTL[string, *model.Group]
	apps      *cache.TTL[string, *model.Application]
	endpoints *cache.TTL[string, []model.Endpoint]
	// routes are a group's endpoints, for broadcasts and fan-outs;
	// catalogs its event types, for enforcement.
	routes   routeCache
	catalogs *cache.TTL[string, map[string]catalogEntry]

	// Filters and schemas compiled, by their stored text.
	filters compiled[*filter.Filter]
	schemas compiled[*catalog.Schema]
}

// SettingsCacheTTL bounds how stale another replica's view of a group,
// application or endpoint change may be when it accepts an event.
const SettingsCacheTTL = time.Second

// Option adds an optional dependency.
type Option func(*Server)

// WithJetStream gives the service JetStream for what lives there: the
// dead-letter stream, the endpoint health bucket and the ordered queues.
func WithJetStream(js jetstream.JetStream) Option {
	return func(s *Server) {
		s.deadLetters = deadletter.New(js)
		s.health = &healthReader{js: js}
		s.heads = &orderedHeads{js: js}
		s.listen = &listening{nc: js.Conn(), js: js, stopping: make(chan struct{})}
	}
}

// New returns the service.
func New(st *store.Store, a *auth.Authenticator, f *fanout.Fanout, pub Publisher, meta MetaEmitter, log *zap.Logger, opts ...Option) *Server {
	s := &Server{
		store: st, auth: a, fanout: f, pub: pub, meta: meta, log: log,
		groups:    cache.New[string, *model.Group](SettingsCacheTTL),
		apps:      cache.New[string, *model.Application](SettingsCacheTTL),
		endpoints: cache.New[string, []model.Endpoint](SettingsCacheTTL),
		catalogs:  cache.New[string, map[string]catalogEntry](SettingsCacheTTL),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// now is the current time at the store's resolution (BSON dates hold
// milliseconds), so that a resource's timestamps answer the same on creation
// as on every later read, and a date filter given an answered created_at
// matches that resource.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// admin authenticates a call that only the admin key may make.
func (s *Server) admin(ctx context.Context) error {
	p, err := s.caller(ctx)
	if err != nil {
		return err
	}
	if !p.Admin {
		return status.Error(codes.PermissionDenied, "this operation needs the admin API key")
	}
	return nil
}

// inGroup authenticates a call inside the group *groupID. Another group's
// key sees the group as not existing. An empty id means the caller's own
// group when the caller holds a group key, as Convoy v0.5's clients name no
// group and let the key choose; the id is filled in for the rest of the call.
func (s *Server) inGroup(ctx context.Context, groupID *string) error {
	p, err := s.caller(ctx)
	if err != nil {
		return err
	}
	if *groupID == "" {
		if p.Admin {
			return status.Error(codes.InvalidArgument, "group_id is required with the admin key (groupId on Convoy's routes)")
		}
		*groupID = p.GroupID
	}
	if !p.CanAccessGroup(*groupID) {
		return notFound("group")
	}
	return nil
}

// group authenticates a call inside a group and loads the group fresh.
func (s *Server) group(ctx context.Context, groupID *string) (*model.Group, error) {
	if err := s.inGroup(ctx, groupID); err != nil {
		return nil, err
	}
	g, err := s.store.GetGroup(ctx, *groupID)
	return g, s.toStatus(ctx, "group", err)
}

// cachedGroup is group for the event hot path.
func (s *Server) cachedGroup(ctx context.Context, groupID *string) (*model.Group, error) {
	if err := s.inGroup(ctx, groupID); err != nil {
		return nil, err
	}
	id := *groupID
	g, err := s.groups.Get(ctx, id, func(ctx context.Context) (*model.Group, error) { return s.store.GetGroup(ctx, id) })
	return g, s.toStatus(ctx, "group", err)
}

// newSecret returns a random endpoint secret in the shape the signature
// formats expect. When any of them is a Standard Webhooks format the secret
// is "whsec_" and standard base64, which Standard Webhooks libraries decode
// into the key (they decode any string secret), and which the other formats
// use as it is.
func newSecret(formats ...string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	for _, f := range formats {
		if strings.HasPrefix(f, model.FormatStandardWebhooks) { // either Standard Webhooks format
			return "whsec_" + base64.StdEncoding.EncodeToString(b)
		}
	}
	return base64.RawURLEncoding.EncodeToString(b)
}
