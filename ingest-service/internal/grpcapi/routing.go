package grpcapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"convoy/core/filter"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/plan"
	"convoy/core/store"
	"convoy/ingest-service/internal/catalog"
	"convoy/ingest-service/internal/fanout"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// maxFilterBytes bounds an endpoint's filter.
const maxFilterBytes = 16 << 10

// compiled caches what is compiled from a stored text (a filter, a schema)
// by that text, so that an entry is never stale and every endpoint with the
// same filter shares one. It is cleared when it grows past its bound.
type compiled[T any] struct {
	mu sync.RWMutex
	m  map[string]T
}

const compiledMax = 10_000

func (c *compiled[T]) get(raw string, compile func(string) (T, error)) (T, error) {
	c.mu.RLock()
	v, ok := c.m[raw]
	c.mu.RUnlock()
	if ok {
		return v, nil
	}
	v, err := compile(raw)
	if err != nil {
		return v, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= compiledMax {
		c.m = make(map[string]T)
	}
	c.m[raw] = v
	c.mu.Unlock()
	return v, nil
}

func parseFilter(raw string) (*filter.Filter, error) { return filter.Parse([]byte(raw)) }

func compileSchema(raw string) (*catalog.Schema, error) { return catalog.Compile([]byte(raw)) }

// filterInput names a filter error by its field ("filter.body.amount: ...").
func filterInput(err error) error {
	if fe, ok := errors.AsType[*filter.Error](err); ok && fe.Path != "" {
		return invalidf("filter.%s", fe.Error())
	}
	return invalidf("filter: %v", err)
}

// compactFilter validates an endpoint's filter and returns the form it is
// stored in: compact JSON, or "" for none.
func compactFilter(raw []byte) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	if len(raw) > maxFilterBytes {
		return "", invalidf("filter must be at most %d bytes", maxFilterBytes)
	}
	if _, err := filter.Parse(raw); err != nil {
		return "", filterInput(err)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", invalidf("filter must be valid JSON")
	}
	return b.String(), nil
}

// route returns the endpoints of eps that may receive ev (plan.Route),
// with the compiled filters cached by their text.
func (s *Server) route(ev *model.Event, eps []model.Endpoint) []model.Endpoint {
	return plan.Route(ev, eps, func(src string) (*filter.Filter, error) {
		f, err := s.filters.get(src, parseFilter)
		if err != nil {
			// Stored filters were validated by this code; one that no
			// longer parses must not silently drop events.
			s.log.Warn("stored endpoint filter does not parse; delivering", zap.Error(err))
		}
		return f, err
	})
}

// plan returns ev's deliveries among the candidate endpoints eps.
func (s *Server) plan(g *model.Group, ev *model.Event, eps []model.Endpoint) []model.Delivery {
	routed := s.route(ev, eps)
	ds := plan.Deliveries(g, &model.Application{UID: ev.AppID}, ev, routed)
	if ev.AppID == "" {
		// A broadcast or fan-out event: each delivery belongs to its
		// endpoint's application.
		appOf := make(map[string]string, len(routed))
		for i := range routed {
			appOf[routed[i].UID] = routed[i].AppID
		}
		for i := range ds {
			ds[i].AppID = appOf[ds[i].EndpointID]
		}
	}
	return ds
}

// routeSet is the endpoints an event may go to, with the applications of
// theirs that are disabled (whose new deliveries are stored Discarded).
type routeSet struct {
	eps      []model.Endpoint
	disabled map[string]bool
}

// targets loads the routeSet of an event.
type targets func(ctx context.Context) (routeSet, error)

// planAll returns ev's deliveries in set, those of disabled applications
// discarded, and counts them on the event.
func (s *Server) planAll(g *model.Group, ev *model.Event, set routeSet) []model.Delivery {
	ds := s.plan(g, ev, set.eps)
	for i := range ds {
		if set.disabled[ds[i].AppID] {
			plan.Discard(&ds[i], "application is disabled")
		}
	}
	ev.MatchedEndpoints = int32(len(ds))
	return ds
}

// accept claims ev's idempotency key, plans its deliveries and commits it:
// the answer comes once they are queued and the event stored.
func (s *Server) accept(ctx context.Context, g *model.Group, ev *model.Event, load targets) (*ingestv1.Event, error) {
	if ev.IdempotencyKey != "" {
		original, err := s.claim(ctx, ev)
		if err != nil {
			return nil, s.toStatus(ctx, "event", err)
		}
		if original != nil {
			return eventPB(original), nil
		}
	}
	set, err := load(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	accepted := fanout.Accepted{Event: ev, Deliveries: s.planAll(g, ev, set)}
	if err := s.fanout.Commit(ctx, accepted); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	return eventPB(ev), nil
}

// newEvent builds the event of a validated request and checks it fits on
// the queue and, when the group enforces its catalog, that its type and
// payload do.
func (s *Server) newEvent(ctx context.Context, g *model.Group, appID, eventType string, data []byte, key string, headers map[string]string) (*model.Event, error) {
	ev, err := s.buildEvent(ctx, g, appID, eventType, data, key, headers)
	if err != nil {
		return nil, err
	}
	if err := s.checkCatalog(ctx, g, ev); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	return ev, nil
}

// buildEvent builds the event of a validated request and checks it fits on
// the queue.
func (s *Server) buildEvent(ctx context.Context, g *model.Group, appID, eventType string, data []byte, key string, headers map[string]string) (*model.Event, error) {
	// created_at is the id's own time, so that a time range is an `_id`
	// range the store's indexes serve.
	uid := ids.New()
	at, _ := ids.Time(uid)
	ev := &model.Event{
		UID: uid, GroupID: g.UID, AppID: appID, EventType: strings.TrimSpace(eventType),
		Data: data, IdempotencyKey: key, CustomHeaders: headers, CreatedAt: at.UTC(),
	}
	ev.TraceParent, ev.TraceState = producerTrace(ctx)
	if err := validateTaskSize(ev); err != nil {
		return nil, s.toStatus(ctx, "event", err)
	}
	return ev, nil
}

// prepareEvent validates a single event and returns it with its targets:
// the endpoints of its application.
func (s *Server) prepareEvent(ctx context.Context, g *model.Group, req *ingestv1.CreateEventRequest) (*model.Event, targets, error) {
	if err := validateEvent(req); err != nil {
		return nil, nil, s.toStatus(ctx, "event", err)
	}
	app, err := s.apps.Get(ctx, req.AppId, func(ctx context.Context) (*model.Application, error) {
		return s.store.GetApplication(ctx, g.UID, req.AppId)
	})
	if err == nil && app.GroupID != g.UID {
		err = store.ErrNotFound
	}
	if err != nil {
		return nil, nil, s.toStatus(ctx, "application", err)
	}
	ev, err := s.newEvent(ctx, g, app.UID, req.EventType, req.Data, req.IdempotencyKey, req.CustomHeaders)
	if err != nil {
		return nil, nil, err
	}
	return ev, func(ctx context.Context) (routeSet, error) {
		eps, err := s.endpoints.Get(ctx, app.UID, func(ctx context.Context) ([]model.Endpoint, error) {
			return s.store.EndpointsOfApp(ctx, app.UID)
		})
		set := routeSet{eps: eps}
		if app.IsDisabled {
			set.disabled = map[string]bool{app.UID: true}
		}
		return set, err
	}, nil
}

// prepareBroadcast validates a broadcast: one event of the group (no
// application) whose targets are every endpoint of the group.
func (s *Server) prepareBroadcast(ctx context.Context, g *model.Group, req *ingestv1.BroadcastEventRequest) (*model.Event, targets, error) {
	if err := validateEventFields(req.EventType, req.Data, req.IdempotencyKey, req.CustomHeaders); err != nil {
		return nil, nil, s.toStatus(ctx, "event", err)
	}
	ev, err := s.newEvent(ctx, g, "", req.EventType, req.Data, req.IdempotencyKey, req.CustomHeaders)
	if err != nil {
		return nil, nil, err
	}
	return ev, func(ctx context.Context) (routeSet, error) { return s.groupRoutes(ctx, g.UID) }, nil
}

// prepareFanout validates a fan-out: one event of the group whose targets
// are the endpoints of every application with the owner.
func (s *Server) prepareFanout(ctx context.Context, g *model.Group, req *ingestv1.FanoutEventRequest) (*model.Event, targets, error) {
	owner := strings.TrimSpace(req.OwnerId)
	if owner == "" {
		return nil, nil, s.toStatus(ctx, "event", invalidf("owner_id is required"))
	}
	if err := firstError(validateOwnerID(owner), validateEventFields(req.EventType, req.Data, req.IdempotencyKey, req.CustomHeaders)); err != nil {
		return nil, nil, s.toStatus(ctx, "event", err)
	}
	ev, err := s.newEvent(ctx, g, "", req.EventType, req.Data, req.IdempotencyKey, req.CustomHeaders)
	if err != nil {
		return nil, nil, err
	}
	ev.OwnerID = owner
	return ev, func(ctx context.Context) (routeSet, error) {
		apps, err := s.store.ApplicationsOfOwner(ctx, g.UID, owner)
		if err != nil || len(apps) == 0 {
			return routeSet{}, err
		}
		owned := make(map[string]bool, len(apps))
		for i := range apps {
			owned[apps[i].UID] = true
		}
		all, err := s.groupRoutes(ctx, g.UID)
		if err != nil {
			return routeSet{}, err
		}
		out := routeSet{disabled: all.disabled}
		for i := range all.eps {
			if owned[all.eps[i].AppID] {
				out.eps = append(out.eps, all.eps[i])
			}
		}
		return out, nil
	}, nil
}

// CreateEvent accepts an event: it is stored, fanned out to every subscribed
// endpoint whose filter matches and queued before this returns. With an
// idempotency key already used in the group, it answers the original event
// and creates nothing.
func (s *Server) CreateEvent(ctx context.Context, req *ingestv1.CreateEventRequest) (*ingestv1.Event, error) {
	g, err := s.cachedGroup(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	ev, load, err := s.prepareEvent(ctx, g, req)
	if err != nil {
		return nil, err
	}
	return s.accept(ctx, g, ev, load)
}

// BroadcastEvent accepts one event for every subscribed endpoint of every
// application of the group, with the durability of a single event.
func (s *Server) BroadcastEvent(ctx context.Context, req *ingestv1.BroadcastEventRequest) (*ingestv1.Event, error) {
	g, err := s.cachedGroup(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	ev, load, err := s.prepareBroadcast(ctx, g, req)
	if err != nil {
		return nil, err
	}
	return s.accept(ctx, g, ev, load)
}

// FanoutEvent accepts one event for every subscribed endpoint of every
// application with the owner_id.
func (s *Server) FanoutEvent(ctx context.Context, req *ingestv1.FanoutEventRequest) (*ingestv1.Event, error) {
	g, err := s.cachedGroup(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	ev, load, err := s.prepareFanout(ctx, g, req)
	if err != nil {
		return nil, err
	}
	return s.accept(ctx, g, ev, load)
}

// PrecheckEvent answers how many endpoints an event, broadcast or fan-out
// would be delivered to, refusing it as accepting it would; nothing is
// created and no idempotency key is claimed.
func (s *Server) PrecheckEvent(ctx context.Context, req *ingestv1.PrecheckEventRequest) (*ingestv1.PrecheckEventResponse, error) {
	g, err := s.cachedGroup(ctx, &req.GroupId)
	if err != nil {
		return nil, err
	}
	var (
		ev   *model.Event
		load targets
	)
	switch k := req.Kind.(type) {
	case *ingestv1.PrecheckEventRequest_Event:
		ev, load, err = s.prepareEvent(ctx, g, k.Event)
	case *ingestv1.PrecheckEventRequest_Broadcast:
		ev, load, err = s.prepareBroadcast(ctx, g, k.Broadcast)
	case *ingestv1.PrecheckEventRequest_Fanout:
		ev, load, err = s.prepareFanout(ctx, g, k.Fanout)
	default:
		return nil, status.Error(codes.InvalidArgument, "one of event, broadcast or fanout is required")
	}
	if err != nil {
		return nil, err
	}
	set, err := load(ctx)
	if err != nil {
		return nil, s.toStatus(ctx, "endpoint", err)
	}
	return &ingestv1.PrecheckEventResponse{Endpoints: int32(len(s.planAll(g, ev, set)))}, nil
}

// TestFilter evaluates a filter against a payload and headers, as fan-out
// would for an endpoint with that filter.
func (s *Server) TestFilter(ctx context.Context, req *ingestv1.TestFilterRequest) (*ingestv1.TestFilterResponse, error) {
	if err := s.inGroup(ctx, &req.GroupId); err != nil {
		return nil, err
	}
	f, err := filter.Parse(req.Filter)
	if err != nil {
		return nil, s.toStatus(ctx, "filter", filterInput(err))
	}
	var body any
	if p := bytes.TrimSpace(req.Payload); len(p) > 0 {
		if body, err = filter.Decode(p); err != nil {
			return nil, s.toStatus(ctx, "filter", invalidf("payload must be valid JSON"))
		}
	}
	return &ingestv1.TestFilterResponse{Matches: f.Match(body, filter.Headers(req.Headers))}, nil
}
