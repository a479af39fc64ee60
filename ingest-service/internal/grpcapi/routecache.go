package grpcapi

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"
)

// routesMaxAge bounds how long a group's endpoints are reused without a
// reload even when its routing version has not moved: the version misses
// only the dispatcher's status changes (an endpoint disabled after its
// failures), and deliveries queued to such an endpoint are discarded when
// their turn comes, so this bounds a difference in how they are stored.
const routesMaxAge = 30 * time.Second

// routeCache keeps every group's endpoints (and disabled applications) for
// broadcasts and fan-outs. Reading them all is a scan of the endpoints on the embedded store (about
// 2.6 s for 10,000 here), far too slow to repeat every second; so an entry
// is reused for as long as the group's routing version, one read by `_id`,
// says nothing changed. Every replica moves the version after it changes
// an endpoint or an application, so the others see the change at their next
// broadcast.
type routeCache struct {
	mu      sync.Mutex
	entries map[string]*routeEntry
}

type routeEntry struct {
	// mu is held while loading, so that concurrent broadcasts share one scan.
	mu      sync.Mutex
	loaded  bool
	version int64
	at      time.Time
	routes  routeSet
}

func (c *routeCache) entry(groupID string) *routeEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]*routeEntry{}
	}
	e, ok := c.entries[groupID]
	if !ok {
		e = &routeEntry{}
		c.entries[groupID] = e
	}
	return e
}

func (c *routeCache) forget(groupID string) {
	c.mu.Lock()
	delete(c.entries, groupID)
	c.mu.Unlock()
}

// groupRoutes returns every endpoint of a group, and its disabled
// applications.
func (s *Server) groupRoutes(ctx context.Context, groupID string) (routeSet, error) {
	// The version is read before the endpoints: a change made during the
	// load moves it past what is cached, so the next call reloads.
	v, err := s.store.RoutingVersion(ctx, groupID)
	if err != nil {
		return routeSet{}, err
	}
	e := s.routes.entry(groupID)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.loaded && e.version == v && time.Since(e.at) < routesMaxAge {
		return e.routes, nil
	}
	at := time.Now()
	eps, err := s.store.EndpointsOfGroup(ctx, groupID)
	if err != nil {
		return routeSet{}, err
	}
	apps, err := s.store.ApplicationsOfGroup(ctx, groupID)
	if err != nil {
		return routeSet{}, err
	}
	set := routeSet{eps: eps}
	for i := range apps {
		if apps[i].IsDisabled {
			if set.disabled == nil {
				set.disabled = map[string]bool{}
			}
			set.disabled[apps[i].UID] = true
		}
	}
	e.loaded, e.version, e.at, e.routes = true, v, at, set
	return set, nil
}

// routesChanged is called after a change to a group's endpoints or
// applications has been written. A failure to move the version is logged,
// not answered: the change is made, and other replicas see it within
// routesMaxAge.
func (s *Server) routesChanged(ctx context.Context, groupID string) {
	s.routes.forget(groupID)
	if err := s.store.BumpRoutingVersion(context.WithoutCancel(ctx), groupID); err != nil {
		s.log.Warn("routing version not moved", zap.String("group_id", groupID), zap.Error(err))
	}
}
