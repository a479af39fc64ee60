package retention

import (
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/endpointstats"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
)

func TestRetentionDeletesExactlyWhatIsOlderThanThePolicy(t *testing.T) {
	mongoURI, _ := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), mongoURI, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	keep := model.DefaultGroupConfig()
	keep.RetentionPolicy = "1h"
	groups := []model.Group{
		{UID: ids.New(), Name: "with-policy", Config: keep, CreatedAt: now},
		{UID: ids.New(), Name: "keeps-everything", Config: model.DefaultGroupConfig(), CreatedAt: now},
	}
	ages := []time.Duration{3 * time.Hour, 61 * time.Minute, 59 * time.Minute, time.Minute}
	for _, g := range groups {
		if err := st.CreateGroup(t.Context(), &g); err != nil {
			t.Fatal(err)
		}
		for _, age := range ages {
			at := now.Add(-age)
			ev := model.Event{UID: ids.At(at), GroupID: g.UID, AppID: "a", EventType: "x", Data: []byte(`1`), CreatedAt: at}
			d := model.Delivery{UID: ids.Delivery(ev.UID, "ep"), GroupID: g.UID, EventID: ev.UID, Status: model.StatusSuccess, CreatedAt: at, UpdatedAt: at}
			if err := st.InsertEvents(t.Context(), []model.Event{ev}); err != nil {
				t.Fatal(err)
			}
			if err := st.InsertDeliveries(t.Context(), []model.Delivery{d}); err != nil {
				t.Fatal(err)
			}
		}
	}
	e := New(st, Options{Batch: 1, Pause: time.Millisecond}, prometheus.NewRegistry(), zap.NewNop())
	e.now = func() time.Time { return now }
	deleted, err := e.Once(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if deleted != 4 {
		t.Fatalf("deleted %d documents, want 4 (2 events and their 2 deliveries older than 1h)", deleted)
	}
	for _, g := range groups {
		evs, _, err := st.ListEvents(t.Context(), g.UID, store.EventFilter{}, store.Page{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		ds, _, err := st.ListDeliveries(t.Context(), g.UID, store.DeliveryFilter{}, store.Page{PerPage: 100})
		if err != nil {
			t.Fatal(err)
		}
		want := 4
		if g.Config.RetentionPolicy != "" {
			want = 2
			for _, ev := range evs {
				if now.Sub(ev.CreatedAt) > time.Hour {
					t.Errorf("event aged %v survived a 1h policy", now.Sub(ev.CreatedAt))
				}
			}
		}
		if len(evs) != want || len(ds) != want {
			t.Errorf("group %s: %d events and %d deliveries left, want %d of each", g.Name, len(evs), len(ds), want)
		}
	}
}

// Endpoint stats go by whole UTC days once past StatsRetention, whatever
// the group's policy; the days within it stay.
func TestRetentionDropsOldEndpointStats(t *testing.T) {
	mongoURI, _ := embeddedtest.ForTest(t)
	st, err := store.Open(t.Context(), mongoURI, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close(t.Context()) })
	if err := st.EnsureSchema(t.Context()); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 31, 12, 0, 0, 0, time.UTC)
	ages := []time.Duration{StatsRetention + 48*time.Hour, StatsRetention + 13*time.Hour, StatsRetention - time.Hour, 0}
	var updates []store.StatsUpdate
	for _, age := range ages {
		at := now.Add(-age)
		c := &endpointstats.Cell{}
		c.Add(endpointstats.Success, time.Millisecond)
		updates = append(updates, store.StatsUpdate{EndpointID: "ep", GroupID: "g", Day: at,
			Slots: map[int]*endpointstats.Cell{endpointstats.Slot(at): c}})
	}
	if _, err := st.AddEndpointStats(t.Context(), updates); err != nil {
		t.Fatal(err)
	}
	e := New(st, Options{Batch: 10, Pause: time.Millisecond}, prometheus.NewRegistry(), zap.NewNop())
	e.now = func() time.Time { return now }
	if _, err := e.Once(t.Context()); err != nil {
		t.Fatal(err)
	}
	days, err := st.EndpointStatsDays(t.Context(), "ep", now.Add(-ages[0]), now)
	if err != nil {
		t.Fatal(err)
	}
	// The cutoff's own day (30 days ago) stays whole, the two before go.
	if len(days) != 2 || !days[0].Day.Equal(endpointstats.Day(now.Add(-ages[2]))) {
		t.Fatalf("days left %v, want the two within %v", days, StatsRetention)
	}
}
