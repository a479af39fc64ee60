package store_test

import (
	"sync"
	"testing"
	"time"

	"convoy/core/endpointstats"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/store"
)

func cell(success, failure, timeout int64, latency time.Duration) *endpointstats.Cell {
	c := &endpointstats.Cell{}
	for range success {
		c.Add(endpointstats.Success, latency)
	}
	for range failure {
		c.Add(endpointstats.Failure, latency)
	}
	for range timeout {
		c.Add(endpointstats.Timeout, latency)
	}
	return c
}

// Counts added by several writers at once (replicas) sum exactly, per slot
// and per day; the last outcomes only move forward; a day without counts
// reads as absent.
func testEndpointStats(t *testing.T, st *store.Store) {
	ctx := t.Context()
	ep, other := ids.New(), ids.New()
	day1 := time.Date(2001, 2, 3, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 0, 1)
	early, late := day1.Add(10*time.Minute), day2.Add(23*time.Hour+59*time.Minute)

	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			n, err := st.AddEndpointStats(ctx, []store.StatsUpdate{
				{EndpointID: ep, GroupID: "g", Day: day1, Slots: map[int]*endpointstats.Cell{
					2: cell(3, 1, 0, 10*time.Millisecond), 287: cell(0, 0, 2, 30*time.Second),
				}, LastSuccessAt: early, LastFailureAt: early},
				{EndpointID: ep, GroupID: "g", Day: day2, Slots: map[int]*endpointstats.Cell{
					287: cell(1, 0, 0, 2*time.Millisecond),
				}, LastSuccessAt: late},
				{EndpointID: other, GroupID: "g", Day: day1, Slots: map[int]*endpointstats.Cell{0: cell(5, 5, 5, time.Second)}},
			})
			if err != nil || n != 3 {
				t.Errorf("add stats: %d, %v", n, err)
			}
		})
	}
	wg.Wait()

	days, err := st.EndpointStatsDays(ctx, ep, day1.Add(-time.Hour), day2.Add(48*time.Hour))
	mustOK(t, err)
	if len(days) != 2 || !days[0].Day.Equal(day1) || !days[1].Day.Equal(day2) {
		t.Fatalf("days = %+v, want the two days with counts", days)
	}
	for _, tc := range []struct {
		day, slot                 int
		success, failure, timeout int64
		bin                       int
	}{
		{0, 2, 12, 4, 0, endpointstats.Bin(10 * time.Millisecond)},
		{0, 287, 0, 0, 8, endpointstats.Bin(30 * time.Second)},
		{1, 287, 4, 0, 0, endpointstats.Bin(2 * time.Millisecond)},
	} {
		c := days[tc.day].Slots[tc.slot]
		if c == nil {
			t.Fatalf("day %d slot %d missing: %+v", tc.day, tc.slot, days[tc.day].Slots)
		}
		if c.Success != tc.success || c.Failure != tc.failure || c.Timeout != tc.timeout {
			t.Errorf("day %d slot %d: %d/%d/%d, want %d/%d/%d", tc.day, tc.slot, c.Success, c.Failure, c.Timeout, tc.success, tc.failure, tc.timeout)
		}
		if c.Latency[tc.bin] != c.Attempts() {
			t.Errorf("day %d slot %d: bin %d holds %d, want %d", tc.day, tc.slot, tc.bin, c.Latency[tc.bin], c.Attempts())
		}
	}
	if len(days[0].Slots) != 2 {
		t.Errorf("day 1 has slots %v, want 2 and 287", days[0].Slots)
	}

	succ, fail, err := st.EndpointLastOutcomes(ctx, ep)
	mustOK(t, err)
	if succ == nil || !succ.Equal(late) || fail == nil || !fail.Equal(early) {
		t.Errorf("last outcomes %v / %v, want %v / %v", succ, fail, late, early)
	}
	// An older success does not move it back.
	_, err = st.AddEndpointStats(ctx, []store.StatsUpdate{{EndpointID: ep, GroupID: "g", Day: day1, LastSuccessAt: early}})
	mustOK(t, err)
	if succ, _, _ = st.EndpointLastOutcomes(ctx, ep); succ == nil || !succ.Equal(late) {
		t.Errorf("last success moved back to %v", succ)
	}
	if s, f, err := st.EndpointLastOutcomes(ctx, ids.New()); err != nil || s != nil || f != nil {
		t.Errorf("unknown endpoint: %v %v %v", s, f, err)
	}
	if days, err := st.EndpointStatsDays(ctx, ids.New(), day1, day2); err != nil || len(days) != 0 {
		t.Errorf("unknown endpoint's days: %v %v", days, err)
	}

	// Retention drops whole days before the cutoff's day.
	n, err := st.DropEndpointStatsBefore(ctx, day2.Add(time.Hour))
	mustOK(t, err)
	if n != 1 {
		t.Errorf("dropped %d days, want 1", n)
	}
	days, err = st.EndpointStatsDays(ctx, ep, day1, day2)
	mustOK(t, err)
	if len(days) != 1 || !days[0].Day.Equal(day2) {
		t.Errorf("after retention: %+v, want day 2 only", days)
	}
	// The last outcomes go once both are older than the cutoff.
	if succ, _, _ := st.EndpointLastOutcomes(ctx, ep); succ == nil {
		t.Error("last outcomes of an endpoint active after the cutoff were deleted")
	}
	_, err = st.DropEndpointStatsBefore(ctx, day2.AddDate(0, 0, 2))
	mustOK(t, err)
	if succ, fail, _ := st.EndpointLastOutcomes(ctx, ep); succ != nil || fail != nil {
		t.Errorf("last outcomes older than the cutoff kept: %v %v", succ, fail)
	}
}

// Pending counts the endpoint's deliveries that are not final, and only its.
func testCountPendingDeliveries(t *testing.T, st *store.Store) {
	ctx := t.Context()
	g := newGroup(t, st)
	app := newApp(t, st, g.UID)
	ep, other := newEndpoint(t, st, g.UID, app.UID), newEndpoint(t, st, g.UID, app.UID)
	var ds []model.Delivery
	for _, tc := range []struct {
		ep     string
		status string
	}{
		{ep.UID, model.StatusScheduled}, {ep.UID, model.StatusProcessing}, {ep.UID, model.StatusRetry},
		{ep.UID, model.StatusSuccess}, {ep.UID, model.StatusFailure}, {ep.UID, model.StatusDiscarded},
		{other.UID, model.StatusRetry},
	} {
		d := delivery(event(g.UID, app.UID, "x", time.Now()), tc.ep, time.Now())
		d.Status = tc.status
		ds = append(ds, d)
	}
	mustOK(t, st.InsertDeliveries(ctx, ds))
	n, err := st.CountPendingDeliveries(ctx, ep.UID)
	mustOK(t, err)
	if n != 3 {
		t.Errorf("pending = %d, want 3", n)
	}
}
