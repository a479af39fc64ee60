package store_test

import (
	"slices"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
)

// testConvoyQueries covers the queries Convoy v0.5's API needs: numbered
// pages with a total, either order; groups by name; applications by part
// of the name; deliveries by date; keys by uid and of every group.
func testConvoyQueries(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	var apps []string
	for _, name := range []string{"Alpha", "beta", "al.pha", "gamma", "ALPHABET"} {
		at := ms(time.Now())
		a := &model.Application{UID: ids.New(), GroupID: g.UID, Name: name, CreatedAt: at, UpdatedAt: at}
		mustOK(t, st.CreateApplication(ctx, a))
		apps = append(apps, a.UID)
	}

	t.Run("numbered pages", func(t *testing.T) {
		newest := slices.Clone(apps)
		slices.Reverse(newest)
		for _, c := range []struct {
			p       store.Page
			want    []string
			hasNext bool
		}{
			{store.Page{PerPage: 2, Number: 1}, newest[:2], true},
			{store.Page{PerPage: 2, Number: 3}, newest[4:], false},
			{store.Page{PerPage: 2, Number: 9}, nil, false},
			{store.Page{PerPage: 3, Number: 1, Ascending: true}, apps[:3], true},
			{store.Page{PerPage: 3, Number: 2, Ascending: true}, apps[3:], false},
		} {
			items, info, err := st.ListApplications(ctx, g.UID, "", c.p)
			mustOK(t, err)
			got := uidsOf(items, func(a *model.Application) string { return a.UID })
			if len(got) == 0 {
				got = nil
			}
			if !slices.Equal(got, c.want) || info.Total != 5 || info.HasNext != c.hasNext {
				t.Errorf("page %+v: %v total %d next %v; want %v total 5 next %v", c.p, got, info.Total, info.HasNext, c.want, c.hasNext)
			}
		}
	})
	t.Run("applications by part of the name", func(t *testing.T) {
		for q, want := range map[string]int{"alpha": 2, "AL.PHA": 1, "a": 5, ".": 1, "zeta": 0} {
			items, _, err := st.ListApplications(ctx, g.UID, q, store.Page{PerPage: 10})
			mustOK(t, err)
			if len(items) != want {
				t.Errorf("name containing %q: %d, want %d", q, len(items), want)
			}
		}
	})
	t.Run("groups by name", func(t *testing.T) {
		named := newGroup(t, st)
		named.Name = "named-" + named.UID
		mustOK(t, st.ReplaceGroup(ctx, named))
		items, _, err := st.ListGroupsNamed(ctx, named.Name, store.Page{PerPage: 10})
		mustOK(t, err)
		if len(items) != 1 || items[0].UID != named.UID {
			t.Fatalf("groups named %s: %v", named.Name, items)
		}
	})
	t.Run("deliveries by date", func(t *testing.T) {
		app := newApp(t, st, g.UID)
		ep := newEndpoint(t, st, g.UID, app.UID)
		base := ms(time.Now())
		var ds []model.Delivery
		for i := range 3 {
			ev := event(g.UID, app.UID, "x", base.Add(time.Duration(i)*time.Second))
			ds = append(ds, delivery(ev, ep.UID, ev.CreatedAt))
		}
		mustOK(t, st.InsertDeliveries(ctx, ds))
		items, _, err := st.ListDeliveries(ctx, g.UID, store.DeliveryFilter{AppID: app.UID, Start: base.Add(time.Second), End: base.Add(time.Second)}, store.Page{PerPage: 10})
		mustOK(t, err)
		if len(items) != 1 || items[0].UID != ds[1].UID {
			t.Fatalf("deliveries created at %v: %v, want only %s", base.Add(time.Second), uidsOf(items, func(d *model.Delivery) string { return d.UID }), ds[1].UID)
		}
	})
	t.Run("keys by uid and of every group", func(t *testing.T) {
		other := newGroup(t, st)
		var made []string
		for _, gid := range []string{g.UID, other.UID} {
			k := &model.APIKey{Hash: ids.New(), UID: ids.New(), GroupID: gid, Name: "k", CreatedAt: ms(time.Now())}
			mustOK(t, st.CreateAPIKey(ctx, k))
			made = append(made, k.UID)
		}
		k, err := st.GetAPIKey(ctx, made[1])
		mustOK(t, err)
		if k.GroupID != other.UID {
			t.Fatalf("key %+v, want group %s", k, other.UID)
		}
		_, err = st.GetAPIKey(ctx, ids.New())
		wantNotFound(t, "get missing key", err)
		all, _, err := st.ListAPIKeys(ctx, "", store.Page{PerPage: 100})
		mustOK(t, err)
		got := uidsOf(all, func(k *model.APIKey) string { return k.UID })
		for _, uid := range made {
			if !slices.Contains(got, uid) {
				t.Errorf("every group's keys %v lack %s", got, uid)
			}
		}
	})
}
