package store_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
)

func testGroups(t *testing.T, st *store.Store) {
	ctx := t.Context()
	var mine []string
	for range 5 {
		mine = append(mine, newGroup(t, st).UID)
	}
	g, err := st.GetGroup(ctx, mine[0])
	mustOK(t, err)
	if g.Name != "g" || !reflect.DeepEqual(g.Config, model.DefaultGroupConfig()) {
		t.Fatalf("group read back as %+v", g)
	}
	_, err = st.GetGroup(ctx, ids.New())
	wantNotFound(t, "get missing group", err)

	g.Name = "renamed"
	g.Config.Signature.Hash = "SHA3_256"
	g.Config.RetentionPolicy = "720h"
	mustOK(t, st.ReplaceGroup(ctx, g))
	got, err := st.GetGroup(ctx, g.UID)
	mustOK(t, err)
	if got.Name != "renamed" || got.Config.Signature.Hash != "SHA3_256" || got.Config.RetentionPolicy != "720h" {
		t.Fatalf("replaced group read back as %+v", got)
	}
	wantNotFound(t, "replace missing group", st.ReplaceGroup(ctx, &model.Group{UID: ids.New()}))

	// Groups are not scoped: the list holds other subtests' groups too, and
	// ours appear among them newest first.
	all, _ := collectPages(t, 2, func(g *model.Group) string { return g.UID }, func(p store.Page) ([]model.Group, store.PageInfo, error) {
		return st.ListGroups(ctx, p)
	})
	var seen []string
	for _, id := range all {
		if slices.Contains(mine, id) {
			seen = append(seen, id)
		}
	}
	if !slices.Equal(seen, newestFirst(mine)) {
		t.Fatalf("listed groups %v, want %v", seen, newestFirst(mine))
	}
	if !slices.IsSortedFunc(all, func(a, b string) int { return -compare(a, b) }) {
		t.Fatalf("group list is not newest first: %v", all)
	}

	mustOK(t, st.DeleteGroup(ctx, mine[1]))
	_, err = st.GetGroup(ctx, mine[1])
	wantNotFound(t, "get deleted group", err)
	wantNotFound(t, "delete deleted group", st.DeleteGroup(ctx, mine[1]))
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func testAPIKeys(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g1, g2 := newGroup(t, st), newGroup(t, st)
	var mine []string
	for i := range 5 {
		k := &model.APIKey{Hash: ids.New() + "-hash", UID: ids.New(), GroupID: g1.UID, Name: "k", CreatedAt: ms(time.Now())}
		mustOK(t, st.CreateAPIKey(ctx, k))
		mine = append(mine, k.UID)
		if i == 0 {
			got, err := st.APIKeyByHash(ctx, k.Hash)
			mustOK(t, err)
			if *got != *k {
				t.Fatalf("key read back as %+v, want %+v", got, k)
			}
		}
	}
	other := &model.APIKey{Hash: ids.New() + "-hash", UID: ids.New(), GroupID: g2.UID, Name: "other", CreatedAt: ms(time.Now())}
	mustOK(t, st.CreateAPIKey(ctx, other))
	_, err := st.APIKeyByHash(ctx, "no-such-hash")
	wantNotFound(t, "missing key", err)

	all, pages := collectPages(t, 2, func(k *model.APIKey) string { return k.UID }, func(p store.Page) ([]model.APIKey, store.PageInfo, error) {
		return st.ListAPIKeys(ctx, g1.UID, p)
	})
	if !slices.Equal(all, newestFirst(mine)) || pages != 3 {
		t.Fatalf("listed keys %v in %d pages, want %v in 3", all, pages, newestFirst(mine))
	}

	wantNotFound(t, "delete another group's key", st.DeleteAPIKey(ctx, g1.UID, other.UID))
	if _, err := st.APIKeyByHash(ctx, other.Hash); err != nil {
		t.Fatalf("another group's key is gone after a refused delete: %v", err)
	}
	mustOK(t, st.DeleteAPIKey(ctx, g2.UID, other.UID))
	_, err = st.APIKeyByHash(ctx, other.Hash)
	wantNotFound(t, "deleted key", err)
	wantNotFound(t, "delete deleted key", st.DeleteAPIKey(ctx, g2.UID, other.UID))
}

func testApplications(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g1, g2 := newGroup(t, st), newGroup(t, st)
	var mine []string
	for range 5 {
		mine = append(mine, newApp(t, st, g1.UID).UID)
	}
	foreign := newApp(t, st, g2.UID)

	a, err := st.GetApplication(ctx, g1.UID, mine[0])
	mustOK(t, err)
	if a.Name != "shop" || a.Secret != "s" || a.GroupID != g1.UID {
		t.Fatalf("application read back as %+v", a)
	}
	_, err = st.GetApplication(ctx, g1.UID, foreign.UID)
	wantNotFound(t, "another group's application", err)
	_, err = st.GetApplication(ctx, g1.UID, ids.New())
	wantNotFound(t, "missing application", err)

	all, _ := collectPages(t, 3, func(a *model.Application) string { return a.UID }, func(p store.Page) ([]model.Application, store.PageInfo, error) {
		return st.ListApplications(ctx, g1.UID, "", p)
	})
	if !slices.Equal(all, newestFirst(mine)) {
		t.Fatalf("listed applications %v, want %v", all, newestFirst(mine))
	}
	// A page exactly as long as what is left has no next page.
	items, info, err := st.ListApplications(ctx, g1.UID, "", store.Page{PerPage: 5})
	mustOK(t, err)
	if len(items) != 5 || info.HasNext || info.NextCursor != "" {
		t.Fatalf("per_page 5 of 5: %d items, %+v", len(items), info)
	}

	a.Name, a.SupportEmail = "renamed", "ops@example.com"
	mustOK(t, st.ReplaceApplication(ctx, a))
	got, err := st.GetApplication(ctx, g1.UID, a.UID)
	mustOK(t, err)
	if got.Name != "renamed" || got.SupportEmail != "ops@example.com" {
		t.Fatalf("replaced application read back as %+v", got)
	}
	wantNotFound(t, "replace missing application", st.ReplaceApplication(ctx, &model.Application{UID: ids.New()}))

	// Deleting an application takes its endpoints with it, and only in its group.
	ep := newEndpoint(t, st, g1.UID, a.UID)
	wantNotFound(t, "delete through another group", st.DeleteApplication(ctx, g2.UID, a.UID))
	mustOK(t, st.DeleteApplication(ctx, g1.UID, a.UID))
	_, err = st.GetApplication(ctx, g1.UID, a.UID)
	wantNotFound(t, "deleted application", err)
	_, err = st.EndpointByID(ctx, ep.UID)
	wantNotFound(t, "endpoint of a deleted application", err)
	wantNotFound(t, "delete deleted application", st.DeleteApplication(ctx, g1.UID, a.UID))
}

func testEndpoints(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g1, g2 := newGroup(t, st), newGroup(t, st)
	app1, app2 := newApp(t, st, g1.UID), newApp(t, st, g1.UID)
	var mine []string
	var first *model.Endpoint
	for i := range 4 {
		e := newEndpoint(t, st, g1.UID, app1.UID)
		if i == 0 {
			first = e
		}
		mine = append(mine, e.UID)
	}
	sibling := newEndpoint(t, st, g1.UID, app2.UID)

	got, err := st.EndpointByID(ctx, first.UID)
	mustOK(t, err)
	if !reflect.DeepEqual(got, first) {
		t.Fatalf("endpoint read back as\n%+v\nwant\n%+v", got, first)
	}
	_, err = st.GetEndpoint(ctx, g1.UID, app1.UID, first.UID)
	mustOK(t, err)
	_, err = st.GetEndpoint(ctx, g2.UID, app1.UID, first.UID)
	wantNotFound(t, "endpoint through another group", err)
	_, err = st.GetEndpoint(ctx, g1.UID, app2.UID, first.UID)
	wantNotFound(t, "endpoint through another application", err)
	_, err = st.EndpointByID(ctx, ids.New())
	wantNotFound(t, "missing endpoint", err)

	all, _ := collectPages(t, 3, func(e *model.Endpoint) string { return e.UID }, func(p store.Page) ([]model.Endpoint, store.PageInfo, error) {
		return st.ListEndpoints(ctx, g1.UID, app1.UID, p)
	})
	if !slices.Equal(all, newestFirst(mine)) {
		t.Fatalf("listed endpoints %v, want %v", all, newestFirst(mine))
	}
	items, _, err := st.ListEndpoints(ctx, g2.UID, app1.UID, store.Page{PerPage: 10})
	mustOK(t, err)
	if len(items) != 0 {
		t.Fatalf("another group lists %d of our endpoints", len(items))
	}
	ofApp, err := st.EndpointsOfApp(ctx, app1.UID)
	mustOK(t, err)
	if got := uidsOf(ofApp, func(e *model.Endpoint) string { return e.UID }); !sameSet(got, mine) {
		t.Fatalf("endpoints of app %v, want %v", got, mine)
	}

	first.URL, first.RateLimit, first.Events = "https://example.com/v2", 99, []string{"*"}
	mustOK(t, st.ReplaceEndpoint(ctx, first))
	got, err = st.EndpointByID(ctx, first.UID)
	mustOK(t, err)
	if got.URL != "https://example.com/v2" || got.RateLimit != 99 || !slices.Equal(got.Events, []string{"*"}) {
		t.Fatalf("replaced endpoint read back as %+v", got)
	}
	wantNotFound(t, "replace missing endpoint", st.ReplaceEndpoint(ctx, &model.Endpoint{UID: ids.New()}))

	mustOK(t, st.SetEndpointStatus(ctx, first.UID, model.EndpointInactive))
	got, err = st.EndpointByID(ctx, first.UID)
	mustOK(t, err)
	if got.Status != model.EndpointInactive || !got.UpdatedAt.After(first.UpdatedAt.Add(-time.Millisecond)) {
		t.Fatalf("status %q updated_at %v after SetEndpointStatus", got.Status, got.UpdatedAt)
	}
	wantNotFound(t, "status of missing endpoint", st.SetEndpointStatus(ctx, ids.New(), model.EndpointActive))

	wantNotFound(t, "delete through another application", st.DeleteEndpoint(ctx, g1.UID, app1.UID, sibling.UID))
	mustOK(t, st.DeleteEndpoint(ctx, g1.UID, app2.UID, sibling.UID))
	_, err = st.EndpointByID(ctx, sibling.UID)
	wantNotFound(t, "deleted endpoint", err)
	wantNotFound(t, "delete deleted endpoint", st.DeleteEndpoint(ctx, g1.UID, app2.UID, sibling.UID))
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Creating a resource whose id is taken fails with ErrDuplicate and leaves the
// first one as it was.
func testDuplicateKeys(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	app := newApp(t, st, g.UID)
	ep := newEndpoint(t, st, g.UID, app.UID)
	key := &model.APIKey{Hash: ids.New() + "-hash", UID: ids.New(), GroupID: g.UID, CreatedAt: ms(time.Now())}
	mustOK(t, st.CreateAPIKey(ctx, key))

	for _, tc := range []struct {
		name string
		err  error
	}{
		{"group", st.CreateGroup(ctx, &model.Group{UID: g.UID, Name: "dup"})},
		{"api key", st.CreateAPIKey(ctx, &model.APIKey{Hash: key.Hash, UID: ids.New(), GroupID: g.UID, Name: "dup"})},
		{"application", st.CreateApplication(ctx, &model.Application{UID: app.UID, GroupID: g.UID, Name: "dup"})},
		{"endpoint", st.CreateEndpoint(ctx, &model.Endpoint{UID: ep.UID, GroupID: g.UID, AppID: app.UID, URL: "https://dup"})},
	} {
		if !errors.Is(tc.err, store.ErrDuplicate) {
			t.Errorf("duplicate %s: err = %v, want ErrDuplicate", tc.name, tc.err)
		}
	}
	if got, _ := st.GetGroup(ctx, g.UID); got == nil || got.Name != "g" {
		t.Errorf("group after duplicate create: %+v", got)
	}
	if got, _ := st.APIKeyByHash(ctx, key.Hash); got == nil || got.UID != key.UID {
		t.Errorf("api key after duplicate create: %+v", got)
	}
	if got, _ := st.GetApplication(ctx, g.UID, app.UID); got == nil || got.Name != "shop" {
		t.Errorf("application after duplicate create: %+v", got)
	}
	if got, _ := st.EndpointByID(ctx, ep.UID); got == nil || got.URL != ep.URL {
		t.Errorf("endpoint after duplicate create: %+v", got)
	}
}

// Deleting a group deletes everything in it and nothing outside it.
func testDeleteGroupCascades(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g, keep := newGroup(t, st), newGroup(t, st)
	var evs []model.Event
	for _, gid := range []string{g.UID, keep.UID} {
		app := newApp(t, st, gid)
		ep := newEndpoint(t, st, gid, app.UID)
		ev := event(gid, app.UID, "invoice.paid", time.Now())
		mustOK(t, st.InsertEvents(ctx, []model.Event{ev}))
		mustOK(t, st.InsertDeliveries(ctx, []model.Delivery{delivery(ev, ep.UID, time.Now())}))
		_, _, err := st.ClaimIdempotencyKey(ctx, gid, "k", ev.UID)
		mustOK(t, err)
		evs = append(evs, ev)
	}
	mustOK(t, st.DeleteGroup(ctx, g.UID))
	_, err := st.GetEvent(ctx, g.UID, evs[0].UID)
	wantNotFound(t, "event of a deleted group", err)
	ds, _, err := st.ListDeliveries(ctx, g.UID, store.DeliveryFilter{}, store.Page{PerPage: 10})
	mustOK(t, err)
	apps, _, err := st.ListApplications(ctx, g.UID, "", store.Page{PerPage: 10})
	mustOK(t, err)
	if len(ds) != 0 || len(apps) != 0 {
		t.Fatalf("after delete: %d deliveries, %d applications left", len(ds), len(apps))
	}
	// The key is free again in the deleted group, still taken in the other.
	if _, claimed, err := st.ClaimIdempotencyKey(ctx, g.UID, "k", ids.New()); err != nil || !claimed {
		t.Fatalf("claim in deleted group: claimed=%v err=%v", claimed, err)
	}
	if owner, claimed, err := st.ClaimIdempotencyKey(ctx, keep.UID, "k", ids.New()); err != nil || claimed || owner != evs[1].UID {
		t.Fatalf("claim in kept group: owner=%s claimed=%v err=%v", owner, claimed, err)
	}
	if _, err := st.GetEvent(ctx, keep.UID, evs[1].UID); err != nil {
		t.Fatalf("other group's event: %v", err)
	}
}
