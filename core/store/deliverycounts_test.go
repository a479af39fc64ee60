package store_test

import (
	"maps"
	"path/filepath"
	"testing"
	"time"

	"convoy/core/embedded"
	"convoy/core/model"
	"convoy/core/store"
	"convoy/core/store/sqliteindex"
)

// Deliveries counted by status through the SQLite index on the embedded
// store answer what the aggregation a plain store runs answers, and what the
// deliveries say, for each of the list's filters; another group's never
// count, and every status is present.
func TestCountDeliveriesByStatus(t *testing.T) {
	f, err := embedded.StartFerretDB(t.Context(), embedded.FerretOptions{Dir: filepath.Join(t.TempDir(), "ferretdb")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	plain := openStore(t, f.URI(), "convoy")
	if err := f.EnsureIDIndexes(t.Context()); err != nil {
		t.Fatal(err)
	}
	ix := sqliteindex.Open(f.Dir(), "convoy")
	t.Cleanup(func() { ix.Close() })
	indexed := openStore(t, f.URI(), "convoy", store.WithIndex(ix))
	ctx := t.Context()

	g, other := newGroup(t, plain), newGroup(t, plain)
	appA, appB, appO := newApp(t, plain, g.UID), newApp(t, plain, g.UID), newApp(t, plain, other.UID)
	epA, epB, epO := newEndpoint(t, plain, g.UID, appA.UID), newEndpoint(t, plain, g.UID, appB.UID), newEndpoint(t, plain, other.UID, appO.UID)
	base := ms(time.Now().Add(-time.Hour))
	at := func(i int) time.Time { return base.Add(time.Duration(i) * time.Minute) }
	statuses := []string{model.StatusSuccess, model.StatusFailure, model.StatusRetry, model.StatusSuccess, model.StatusDiscarded}
	var evs []model.Event
	var ds []model.Delivery
	for i := range 10 {
		ev := event(g.UID, appA.UID, []string{"invoice.paid", "invoice.created"}[i%2], at(i))
		evB := event(g.UID, appB.UID, "invoice.paid", at(i))
		evO := event(other.UID, appO.UID, "invoice.paid", at(i))
		evs = append(evs, ev, evB, evO)
		for j, d := range []model.Delivery{delivery(ev, epA.UID, at(i)), delivery(evB, epB.UID, at(i)), delivery(evO, epO.UID, at(i))} {
			d.Status = statuses[(i+j)%len(statuses)]
			ds = append(ds, d)
		}
	}
	mustOK(t, plain.InsertEvents(ctx, evs))
	mustOK(t, plain.InsertDeliveries(ctx, ds))

	// want counts the group's deliveries that match by hand.
	want := func(match func(d *model.Delivery) bool) map[string]int64 {
		out := map[string]int64{}
		for _, st := range model.DeliveryStatuses {
			out[st] = 0
		}
		for i := range ds {
			if ds[i].GroupID == g.UID && match(&ds[i]) {
				out[ds[i].Status]++
			}
		}
		return out
	}
	cases := []struct {
		name   string
		f      store.DeliveryFilter
		filter func(d *model.Delivery) bool
	}{
		{"all", store.DeliveryFilter{}, func(*model.Delivery) bool { return true }},
		{"app", store.DeliveryFilter{AppID: appB.UID}, func(d *model.Delivery) bool { return d.AppID == appB.UID }},
		{"endpoint", store.DeliveryFilter{EndpointID: epA.UID}, func(d *model.Delivery) bool { return d.EndpointID == epA.UID }},
		{"event", store.DeliveryFilter{EventID: evs[3].UID}, func(d *model.Delivery) bool { return d.EventID == evs[3].UID }},
		{"event type", store.DeliveryFilter{EventType: "invoice.created"}, func(d *model.Delivery) bool { return d.EventType == "invoice.created" }},
		{"time range", store.DeliveryFilter{Start: at(2), End: at(6)}, func(d *model.Delivery) bool { return !d.CreatedAt.Before(at(2)) && !d.CreatedAt.After(at(6)) }},
		{"statuses", store.DeliveryFilter{Statuses: []string{model.StatusFailure, model.StatusRetry}}, func(d *model.Delivery) bool {
			return d.Status == model.StatusFailure || d.Status == model.StatusRetry
		}},
		{"no such app", store.DeliveryFilter{AppID: "app-none"}, func(*model.Delivery) bool { return false }},
		{"not an id", store.DeliveryFilter{EventID: "nope"}, func(*model.Delivery) bool { return false }},
	}
	for _, c := range cases {
		w := want(c.filter)
		for label, st := range map[string]*store.Store{"plain": plain, "indexed": indexed} {
			got, err := st.CountDeliveriesByStatus(ctx, g.UID, c.f)
			if err != nil {
				t.Fatalf("%s %s: %v", c.name, label, err)
			}
			if !maps.Equal(got, w) {
				t.Errorf("%s %s: %v, want %v", c.name, label, got, w)
			}
		}
	}
	if all := want(func(*model.Delivery) bool { return true }); all[model.StatusSuccess] == 0 || all[model.StatusDiscarded] == 0 {
		t.Fatalf("fixture counts nothing: %v", all)
	}
}
