package httpapi

import (
	"context"
	"net/http"
)

// A dialect is a way of naming the same API. Ours nests everything under
// /api/v1/groups/{group_id}; Convoy v0.5's serves applications, events and
// deliveries at the top level, takes the group from groupId (or the group
// of a group key), pages by number, and answers its own shapes. Convoy's
// routes use our handlers: the dialect layer sets the path values and
// paging our handlers read, and reshapes what they answer.
type dialect int

const (
	ours dialect = iota
	convoyV05
)

type dialectKey struct{}

// dialectOf reports the dialect of the route r was routed to.
func dialectOf(r *http.Request) dialect {
	d, _ := r.Context().Value(dialectKey{}).(dialect)
	return d
}

type handler = func(a *API, ctx context.Context, r *http.Request) (any, error)

// shaper turns our answer into Convoy's, reading more through ingest where
// Convoy's shape embeds related resources.
type shaper func(a *API, ctx context.Context, r *http.Request, v any) (any, error)

// convoy adapts one of our handlers to a Convoy v0.5 route. The group is
// the groupId parameter (group_id once canonical); empty means the group of
// the caller's group key, which ingest resolves.
func convoy(h handler, shape shaper) handler {
	return func(a *API, ctx context.Context, r *http.Request) (any, error) {
		r = r.WithContext(context.WithValue(r.Context(), dialectKey{}, convoyV05))
		if r.PathValue("group_id") == "" {
			q, err := parseQuery(r)
			if err != nil {
				return nil, err
			}
			r.SetPathValue("group_id", q.single("group_id"))
			if err := q.err(); err != nil {
				return nil, err
			}
		}
		v, err := h(a, ctx, r)
		if err != nil || shape == nil {
			return v, err
		}
		return shape(a, ctx, r, v)
	}
}
