package store_test

import (
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/store"

	"github.com/oklog/ulid/v2"
)

// eventAt is an event made at `at`, its id carrying that time as ingest's do.
func eventAt(groupID, appID string, at time.Time) model.Event {
	ev := event(groupID, appID, "invoice.paid", at)
	ev.UID = ulid.MustNew(ulid.Timestamp(at), rand.Reader).String()
	return ev
}

func testEventsCreatedBetween(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g, other := newGroup(t, st), newGroup(t, st)
	app, otherApp := newApp(t, st, g.UID), newApp(t, st, other.UID)
	// Ten days back: no other subtest makes events then.
	base := ms(time.Now().Add(-240 * time.Hour))
	var evs []model.Event
	for i := range 6 {
		evs = append(evs, eventAt(g.UID, app.UID, base.Add(time.Duration(i)*time.Second)))
	}
	evs = append(evs, eventAt(other.UID, otherApp.UID, base.Add(2500*time.Millisecond)))
	mustOK(t, st.InsertEvents(ctx, evs))
	uids := func(es []model.Event) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.UID)
		}
		return out
	}
	for _, tc := range []struct {
		name     string
		from, to time.Time
		after    string
		limit    int
		want     []model.Event
	}{
		{"whole range, every group, oldest first", base, base.Add(5 * time.Second), "", 100,
			[]model.Event{evs[0], evs[1], evs[2], evs[6], evs[3], evs[4], evs[5]}},
		{"both ends included", base.Add(time.Second), base.Add(3 * time.Second), "", 100,
			[]model.Event{evs[1], evs[2], evs[6], evs[3]}},
		{"limited", base, base.Add(5 * time.Second), "", 2, []model.Event{evs[0], evs[1]}},
		{"after a mark", base, base.Add(5 * time.Second), evs[6].UID, 100, []model.Event{evs[3], evs[4], evs[5]}},
		{"a mark before the range is ignored", base.Add(4 * time.Second), base.Add(5 * time.Second), evs[0].UID, 100,
			[]model.Event{evs[4], evs[5]}},
		{"empty range", base.Add(-time.Hour), base.Add(-time.Minute), "", 100, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := st.EventsCreatedBetween(ctx, tc.from, tc.to, tc.after, tc.limit)
			mustOK(t, err)
			if g, w := uids(got), uids(tc.want); !slices.Equal(g, w) {
				t.Fatalf("got %v, want %v", g, w)
			}
		})
	}
	got, err := st.EventsCreatedBetween(ctx, base, base, "", 1)
	mustOK(t, err)
	if len(got) != 1 || string(got[0].Data) != string(evs[0].Data) || !got[0].CreatedAt.Equal(evs[0].CreatedAt) {
		t.Fatalf("event read back as %+v", got)
	}
}

func testMarks(t *testing.T, st *store.Store) {
	ctx := t.Context()
	got, err := st.Mark(ctx, "test-pass")
	mustOK(t, err)
	if got != "" {
		t.Fatalf("mark of a pass that never ran is %q, want empty", got)
	}
	for _, v := range []string{"01A", "01B"} {
		mustOK(t, st.SetMark(ctx, "test-pass", v))
		got, err := st.Mark(ctx, "test-pass")
		mustOK(t, err)
		if got != v {
			t.Fatalf("mark is %q, want %q", got, v)
		}
	}
	other, err := st.Mark(ctx, "other-pass")
	mustOK(t, err)
	if other != "" {
		t.Fatalf("marks are not kept apart: other pass has %q", other)
	}
}
