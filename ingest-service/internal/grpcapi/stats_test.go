package grpcapi_test

import (
	"testing"
	"time"

	"convoy/core/deadletter"
	"convoy/core/endpointhealth"
	"convoy/core/endpointstats"
	"convoy/core/queue"
	"convoy/core/store"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
)

func cellOf(outcome string, n int, latency time.Duration) *endpointstats.Cell {
	c := &endpointstats.Cell{}
	for range n {
		c.Add(outcome, latency)
	}
	return c
}

// The stats read answers the window's buckets and totals from what the
// dispatchers flushed, with percentiles, the last outcomes, the circuit and
// the pending deliveries; a bad window is InvalidArgument naming it.
func TestGetEndpointStats(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	g := h.group(t, "stats")
	app := h.app(t, g.Uid, "a")
	ep := h.endpoint(t, g.Uid, app.Uid)
	h.event(t, g.Uid, app.Uid, "x") // one Scheduled delivery stored: pending

	now := time.Now().UTC()
	current := now.Truncate(endpointstats.SlotSize)
	twoHours := now.Add(-2 * time.Hour)
	yesterday := now.Add(-25 * time.Hour)
	mixed := cellOf("success", 98, 10*time.Millisecond)
	mixed.Merge(cellOf("http_error", 1, 100*time.Millisecond))
	mixed.Merge(cellOf("timeout", 1, 30*time.Second))
	var updates []store.StatsUpdate
	for _, w := range []struct {
		at time.Time
		c  *endpointstats.Cell
	}{{now, mixed}, {twoHours, cellOf("success", 2, time.Millisecond)}, {yesterday, cellOf("refused", 5, time.Millisecond)}} {
		updates = append(updates, store.StatsUpdate{EndpointID: ep.Uid, GroupID: g.Uid, Day: w.at,
			Slots: map[int]*endpointstats.Cell{endpointstats.Slot(w.at): w.c}})
	}
	updates[0].LastSuccessAt, updates[0].LastFailureAt = now, twoHours
	if _, err := h.store.AddEndpointStats(ctx, updates); err != nil {
		t.Fatal(err)
	}
	kv, err := endpointhealth.EnsureBucket(ctx, h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	opened := now.Add(-time.Minute).Truncate(time.Second)
	if _, _, err := endpointhealth.Update(ctx, kv, ep.Uid, func(s *endpointhealth.State) error {
		s.Circuit, s.FailureRate, s.OpenedAt, s.ConsecutiveFailures = endpointhealth.Open, 0.8, &opened, 7
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	get := func(window string) *ingestv1.EndpointStats {
		t.Helper()
		return must(h.api.GetEndpointStats(h.admin, &ingestv1.GetEndpointStatsRequest{GroupId: g.Uid, AppId: app.Uid, EndpointId: ep.Uid, Window: window}))(t)
	}
	for _, tc := range []struct {
		window                    string
		buckets                   int
		success, failure, timeout int64
	}{
		{"", 288, 100, 1, 1},
		{"24h", 288, 100, 1, 1},
		{"3h", 36, 100, 1, 1},
		{"1h", 12, 98, 1, 1},
		{"48h", 576, 100, 6, 1},
		{"7m", 2, 98, 1, 1}, // rounded up to whole buckets
	} {
		s := get(tc.window)
		if len(s.Buckets) != tc.buckets {
			t.Fatalf("window %q: %d buckets, want %d", tc.window, len(s.Buckets), tc.buckets)
		}
		tot := s.Totals
		if tot.Success != tc.success || tot.Failure != tc.failure || tot.Timeout != tc.timeout {
			t.Errorf("window %q: totals %d/%d/%d, want %d/%d/%d", tc.window, tot.Success, tot.Failure, tot.Timeout, tc.success, tc.failure, tc.timeout)
		}
		last := s.Buckets[len(s.Buckets)-1].Start.AsTime()
		if !s.End.AsTime().Equal(last.Add(endpointstats.SlotSize)) || !s.Start.AsTime().Equal(s.Buckets[0].Start.AsTime()) {
			t.Errorf("window %q: start %v end %v, buckets %v to %v", tc.window, s.Start.AsTime(), s.End.AsTime(), s.Buckets[0].Start.AsTime(), last)
		}
		for i := 1; i < len(s.Buckets); i++ {
			if d := s.Buckets[i].Start.AsTime().Sub(s.Buckets[i-1].Start.AsTime()); d != endpointstats.SlotSize {
				t.Fatalf("window %q: buckets %d and %d are %v apart", tc.window, i-1, i, d)
			}
		}
	}

	s := get("")
	var found *ingestv1.StatsFigures
	for _, b := range s.Buckets {
		if b.Start.AsTime().Equal(current) {
			found = b.Figures
		} else if b.Figures.Success+b.Figures.Failure+b.Figures.Timeout == 0 && (b.Figures.P50 != nil || b.Figures.P99 != nil) {
			t.Errorf("empty bucket %v has percentiles", b.Start.AsTime())
		}
	}
	if found == nil || found.Success != 98 || found.P50 == nil || *found.P50 < 10 || *found.P50 > 12 || found.P99 == nil || *found.P99 < 100 || *found.P99 > 120 {
		t.Errorf("current bucket = %v, want 98/1/1 with p50 ~10 ms and p99 ~100 ms", found)
	}
	if s.Totals.P50 == nil || *s.Totals.P50 > 12 {
		t.Errorf("total p50 = %v", s.Totals.P50)
	}
	if s.LastSuccessAt == nil || !s.LastSuccessAt.AsTime().Equal(now.Truncate(time.Millisecond)) ||
		s.LastFailureAt == nil || !s.LastFailureAt.AsTime().Equal(twoHours.Truncate(time.Millisecond)) {
		t.Errorf("last outcomes %v / %v, want %v / %v", s.LastSuccessAt.AsTime(), s.LastFailureAt.AsTime(), now, twoHours)
	}
	if s.ConsecutiveFailures != 7 || s.Circuit.State != "open" || s.Circuit.FailureRate != 0.8 || !s.Circuit.OpenedAt.AsTime().Equal(opened) {
		t.Errorf("health %d %v, want 7 failures and an open circuit", s.ConsecutiveFailures, s.Circuit)
	}
	if s.DeliveriesPending != 1 || s.EndpointId != ep.Uid || s.Window != "24h0m0s" {
		t.Errorf("pending %d, endpoint %q, window %q", s.DeliveriesPending, s.EndpointId, s.Window)
	}

	// An endpoint nothing was recorded for answers zeros, a closed circuit
	// and no last outcomes.
	quiet := h.endpoint(t, g.Uid, app.Uid, "never")
	q := must(h.api.GetEndpointStats(h.admin, &ingestv1.GetEndpointStatsRequest{GroupId: g.Uid, AppId: app.Uid, EndpointId: quiet.Uid}))(t)
	if q.Totals.Success+q.Totals.Failure+q.Totals.Timeout != 0 || q.Totals.P50 != nil || q.LastSuccessAt != nil || q.Circuit.State != "closed" || q.DeliveriesPending != 0 {
		t.Errorf("quiet endpoint: %v", q)
	}

	for _, w := range []string{"1d", "0s", "4m", "169h", "-1h", "soon"} {
		_, err := h.api.GetEndpointStats(h.admin, &ingestv1.GetEndpointStatsRequest{GroupId: g.Uid, AppId: app.Uid, EndpointId: ep.Uid, Window: w})
		wantCode(t, err, codes.InvalidArgument, "window")
	}
}

// Dead letters list with their decoded ids and page by cursor; a redrive
// puts the task back on its subject and empties the list.
func TestDeadLettersListAndRedrive(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	g := h.group(t, "dl")
	app := h.app(t, g.Uid, "a")
	h.endpoint(t, g.Uid, app.Uid)
	ev := must(h.api.CreateEvent(h.admin, &ingestv1.CreateEventRequest{GroupId: g.Uid, AppId: app.Uid, EventType: "x", Data: []byte(`{}`)}))(t)
	// The queued task, as a dispatcher that kept failing to read the store
	// would dead-letter it.
	s, err := h.js.Stream(ctx, queue.StreamDispatch)
	if err != nil {
		t.Fatal(err)
	}
	var tasks [][]byte
	var subjects []string
	for seq := uint64(1); len(tasks) == 0 && seq < 100; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue
		}
		if tk, err := queue.DecodeTask(m.Data); err == nil && tk.EventId == ev.Uid {
			tasks, subjects = append(tasks, m.Data), append(subjects, m.Subject)
			if err := s.DeleteMsg(ctx, seq); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(tasks) != 1 {
		t.Fatal("the event's dispatch task was not queued")
	}
	dq := deadletter.New(h.js)
	for _, e := range []deadletter.Entry{
		{Reason: deadletter.ReasonStoreFailing, Error: "mongodb: timeout", Subject: subjects[0], Task: tasks[0]},
		{Reason: deadletter.ReasonUndecodable, Error: "decode task: bad", Subject: "convoy.dispatch.x", Task: []byte{1, 2, 3}},
	} {
		if err := dq.Put(ctx, e); err != nil {
			t.Fatal(err)
		}
	}

	p1 := must(h.api.ListDeadLetters(h.admin, &ingestv1.ListDeadLettersRequest{Page: &ingestv1.PageRequest{PerPage: 1}}))(t)
	if len(p1.DeadLetters) != 1 || !p1.Page.HasNextPage || p1.Page.NextPageCursor == "" {
		t.Fatalf("page 1 = %v", p1)
	}
	d := p1.DeadLetters[0]
	if d.Reason != "store_failing" || d.Error != "mongodb: timeout" || d.EventId != ev.Uid || d.GroupId != g.Uid || d.EndpointId == "" ||
		d.DeliveryId == "" || d.HasOutcome || d.DeadAt == nil || d.Id == 0 || d.Subject != subjects[0] {
		t.Errorf("entry = %v", d)
	}
	p2 := must(h.api.ListDeadLetters(h.admin, &ingestv1.ListDeadLettersRequest{Page: &ingestv1.PageRequest{PerPage: 1, Cursor: p1.Page.NextPageCursor}}))(t)
	if len(p2.DeadLetters) != 1 || p2.Page.HasNextPage || p2.DeadLetters[0].Reason != "undecodable" || p2.DeadLetters[0].DeliveryId != "" {
		t.Errorf("page 2 = %v", p2)
	}
	_, err = h.api.ListDeadLetters(h.admin, &ingestv1.ListDeadLettersRequest{Page: &ingestv1.PageRequest{Cursor: "nope"}})
	wantCode(t, err, codes.InvalidArgument, "next_page_cursor")

	res := must(h.api.RedriveDeadLetters(h.admin, &ingestv1.RedriveDeadLettersRequest{Ids: []uint64{d.Id, 12345}}))(t)
	if res.Redriven != 1 || res.Failed != 1 {
		t.Errorf("redrive by ids = %v, want 1 redriven and 1 failed", res)
	}
	if tk := h.task(t, d.DeliveryId); tk == nil || tk.EventId != ev.Uid {
		t.Errorf("redriven task not back on the dispatch stream: %v", tk)
	}
	res = must(h.api.RedriveDeadLetters(h.admin, &ingestv1.RedriveDeadLettersRequest{}))(t)
	if res.Redriven != 1 || res.Failed != 0 {
		t.Errorf("redrive all = %v, want the undecodable one republished", res)
	}
	if left := must(h.api.ListDeadLetters(h.admin, &ingestv1.ListDeadLettersRequest{}))(t); len(left.DeadLetters) != 0 {
		t.Errorf("left after redrive: %v", left.DeadLetters)
	}
}
