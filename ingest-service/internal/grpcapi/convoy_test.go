package grpcapi_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// What Convoy v0.5's API needs beyond ours: the key's own group when none is
// named, offset pages with a total, more filters, one attempt, the batch
// retry count, and a resend that re-activates its endpoint.

func TestGroupOfTheKey(t *testing.T) {
	h := newHarness(t)
	w := newWorld(t, h)
	own := h.as(h.keyOf(t, w.group))

	apps := must(h.api.ListApplications(own, &ingestv1.ListApplicationsRequest{}))(t)
	if len(apps.Applications) == 0 || slices.ContainsFunc(apps.Applications, func(a *ingestv1.Application) bool { return a.GroupId != w.group }) {
		t.Fatalf("a group key naming no group listed %v, want its own group's applications", apps.Applications)
	}
	ev := must(h.api.CreateEvent(own, &ingestv1.CreateEventRequest{AppId: w.app, EventType: "invoice.paid", Data: []byte(`{}`)}))(t)
	if ev.GroupId != w.group {
		t.Fatalf("event created in %s, want the key's group %s", ev.GroupId, w.group)
	}
	if _, err := h.api.GetDelivery(own, &ingestv1.GetDeliveryRequest{DeliveryId: w.otherDelivery}); status.Code(err) != codes.NotFound {
		t.Fatalf("another group's delivery through the key's group: %v, want NotFound", err)
	}
	_, err := h.api.ListApplications(h.admin, &ingestv1.ListApplicationsRequest{})
	if status.Code(err) != codes.InvalidArgument {
		t.Fatalf("admin naming no group: %v, want InvalidArgument", err)
	}
	if _, err := h.api.DeleteGroup(own, &ingestv1.DeleteGroupRequest{}); status.Code(err) != codes.InvalidArgument {
		t.Fatalf("DeleteGroup naming no group: %v, want InvalidArgument, never the key's group", err)
	}
}

func TestOffsetPages(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "paged").Uid
	var made []string
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		made = append(made, h.app(t, g, n).Uid)
	}
	list := func(t *testing.T, p *ingestv1.PageRequest) *ingestv1.ListApplicationsResponse {
		return must(h.api.ListApplications(h.admin, &ingestv1.ListApplicationsRequest{GroupId: g, Page: p}))(t)
	}
	uids := func(r *ingestv1.ListApplicationsResponse) []string {
		var out []string
		for _, a := range r.Applications {
			out = append(out, a.Uid)
		}
		return out
	}
	newest := slices.Clone(made)
	slices.Reverse(newest)
	for _, c := range []struct {
		page      int32
		ascending bool
		want      []string
		hasNext   bool
	}{
		{1, false, newest[:2], true},
		{2, false, newest[2:4], true},
		{3, false, newest[4:], false},
		{4, false, nil, false},
		{1, true, made[:2], true},
		{3, true, made[4:], false},
	} {
		r := list(t, &ingestv1.PageRequest{PerPage: 2, Page: c.page, Ascending: c.ascending})
		if got := uids(r); !slices.Equal(got, c.want) || r.Page.Total != 5 || r.Page.Page != c.page || r.Page.HasNextPage != c.hasNext {
			t.Errorf("page %d ascending %v: %v, total %d, page %d, next %v; want %v, 5, %d, %v",
				c.page, c.ascending, got, r.Page.Total, r.Page.Page, r.Page.HasNextPage, c.want, c.page, c.hasNext)
		}
	}
	if r := list(t, &ingestv1.PageRequest{PerPage: 2}); r.Page.Total != 0 || r.Page.Page != 0 {
		t.Errorf("a cursor page counts nothing: %v", r.Page)
	}
	for _, p := range []*ingestv1.PageRequest{{Page: -1}, {Page: 1, Cursor: "x"}, {Ascending: true}} {
		if _, err := h.api.ListApplications(h.admin, &ingestv1.ListApplicationsRequest{GroupId: g, Page: p}); status.Code(err) != codes.InvalidArgument {
			t.Errorf("page %v: %v, want InvalidArgument", p, err)
		}
	}
}

func TestConvoyFilters(t *testing.T) {
	h := newHarness(t)
	w := newWorld(t, h)
	ctx := h.admin

	t.Run("groups by name", func(t *testing.T) {
		r := must(h.api.ListGroups(ctx, &ingestv1.ListGroupsRequest{Name: "B"}))(t)
		if len(r.Groups) != 1 || r.Groups[0].Uid != w.other {
			t.Fatalf("groups named B: %v", r.Groups)
		}
	})
	t.Run("applications by name, ignoring case, regexp characters literal", func(t *testing.T) {
		h.app(t, w.group, "Big.Shop")
		for q, want := range map[string]int{"SHOP": 2, "g.s": 1, "g*": 0, "resends": 1} {
			r := must(h.api.ListApplications(ctx, &ingestv1.ListApplicationsRequest{GroupId: w.group, NameContains: q}))(t)
			if len(r.Applications) != want {
				t.Errorf("name containing %q: %d applications, want %d", q, len(r.Applications), want)
			}
		}
	})
	t.Run("deliveries by date", func(t *testing.T) {
		d := must(h.api.GetDelivery(ctx, &ingestv1.GetDeliveryRequest{GroupId: w.group, DeliveryId: w.delivery}))(t)
		at := d.CreatedAt.AsTime()
		for _, c := range []struct {
			start, end time.Time
			want       bool
		}{
			{at, at, true},
			{at.Add(-time.Hour), time.Time{}, true},
			{at.Add(time.Millisecond), time.Time{}, false},
			{time.Time{}, at.Add(-time.Millisecond), false},
		} {
			f := &ingestv1.DeliveryFilter{EventId: w.event}
			if !c.start.IsZero() {
				f.StartDate = timestamppb.New(c.start)
			}
			if !c.end.IsZero() {
				f.EndDate = timestamppb.New(c.end)
			}
			r := must(h.api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: w.group, Filter: f}))(t)
			if got := len(r.Deliveries) == 1; got != c.want {
				t.Errorf("created %v, between %v and %v: found %v, want %v", at, c.start, c.end, got, c.want)
			}
		}
		_, err := h.api.ListDeliveries(ctx, &ingestv1.ListDeliveriesRequest{GroupId: w.group, Filter: &ingestv1.DeliveryFilter{
			StartDate: timestamppb.New(at), EndDate: timestamppb.New(at.Add(-time.Hour)),
		}})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("reversed dates: %v, want InvalidArgument", err)
		}
	})
}

func TestOneAttemptAndBatchRetryCount(t *testing.T) {
	h := newHarness(t)
	w := newWorld(t, h)
	ctx := h.admin
	at := must(h.api.GetAttempt(ctx, &ingestv1.GetAttemptRequest{GroupId: w.group, DeliveryId: w.delivery, AttemptId: w.attempt}))(t)
	if at.Uid != w.attempt || at.DeliveryId != w.delivery || at.HttpStatus != 200 {
		t.Fatalf("attempt %v", at)
	}
	if _, err := h.api.GetAttempt(ctx, &ingestv1.GetAttemptRequest{GroupId: w.group, DeliveryId: w.delivery, AttemptId: "none"}); status.Code(err) != codes.NotFound {
		t.Fatalf("unknown attempt: %v, want NotFound", err)
	}

	failed := w.freshDelivery(t, model.StatusFailure)
	w.freshDelivery(t, model.StatusSuccess)
	h.setStatus(t, model.StatusFailure, w.delivery) // another application's failure
	count := func(f *ingestv1.DeliveryFilter) int32 {
		return must(h.api.CountBatchRetryDeliveries(ctx, &ingestv1.CountBatchRetryDeliveriesRequest{GroupId: w.group, Filter: f}))(t).Num
	}
	if n := count(&ingestv1.DeliveryFilter{AppId: w.dapp}); n != 1 {
		t.Errorf("count for the resends application: %d, want its one failure", n)
	}
	if n := count(nil); n != 2 {
		t.Errorf("count for the group: %d, want 2", n)
	}
	res := must(h.api.BatchRetryDeliveries(ctx, &ingestv1.BatchRetryDeliveriesRequest{GroupId: w.group, Filter: &ingestv1.DeliveryFilter{AppId: w.dapp}}))(t)
	if !slices.Equal(res.Ids, []string{failed}) {
		t.Errorf("batch retry retried %v, want what the count counted: %s", res.Ids, failed)
	}
}

func TestResendReactivatesEndpoint(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app).Uid
	ev := h.event(t, g, app, "x")
	id := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})[0].Uid
	h.setStatus(t, model.StatusFailure, id)
	if err := h.store.SetEndpointStatus(context.Background(), ep, model.EndpointInactive); err != nil {
		t.Fatal(err)
	}
	req := &ingestv1.ResendDeliveryRequest{GroupId: g, DeliveryId: id}
	if _, err := h.api.ResendDelivery(h.admin, req); status.Code(err) != codes.FailedPrecondition {
		t.Fatalf("resend to an inactive endpoint: %v, want FailedPrecondition", err)
	}
	req.ReactivateEndpoint = true
	d := must(h.api.ResendDelivery(h.admin, req))(t)
	if d.Status != model.StatusScheduled {
		t.Fatalf("resent delivery %v", d)
	}
	e := must(h.api.GetEndpoint(h.admin, &ingestv1.GetEndpointRequest{GroupId: g, AppId: app, EndpointId: ep}))(t)
	if e.Status != model.EndpointPending {
		t.Fatalf("endpoint %s after a reactivating resend, want pending", e.Status)
	}
	if task := h.task(t, id); task == nil {
		t.Fatal("the resend queued nothing")
	}
}

func TestMatchedEndpoints(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	h.endpoint(t, g, app, "invoice.*")
	h.endpoint(t, g, app, "*")
	h.endpoint(t, g, app, "user.*")
	ev := must(h.api.CreateEvent(h.admin, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "invoice.paid", Data: []byte(`1`)}))(t)
	if ev.MatchedEndpoints != 2 {
		t.Fatalf("matched_endpoints %d, want 2", ev.MatchedEndpoints)
	}
	got := must(h.api.GetEvent(h.admin, &ingestv1.GetEventRequest{GroupId: g, EventId: ev.Uid}))(t)
	if got.MatchedEndpoints != 2 {
		t.Fatalf("stored matched_endpoints %d, want 2", got.MatchedEndpoints)
	}
}

func TestDisabledApplicationHoldsEventsBack(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	app := must(h.api.CreateApplication(h.admin, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "off", IsDisabled: true}))(t)
	if !app.IsDisabled {
		t.Fatalf("created %v, want disabled", app)
	}
	h.endpoint(t, g, app.Uid)
	send := func(t *testing.T) *ingestv1.Delivery {
		ev := must(h.api.CreateEvent(h.admin, &ingestv1.CreateEventRequest{GroupId: g, AppId: app.Uid, EventType: "x", Data: []byte(`1`)}))(t)
		h.storeQueued(t, ev)
		ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})
		if len(ds) != 1 {
			t.Fatalf("%d deliveries, want 1", len(ds))
		}
		return ds[0]
	}
	if d := send(t); d.Status != model.StatusDiscarded || d.Description != "application is disabled" || h.task(t, d.Uid) != nil {
		t.Fatalf("a disabled application's delivery: %v (queued: %v), want Discarded and not queued", d, h.task(t, d.Uid) != nil)
	}
	en := false
	if a := must(h.api.UpdateApplication(h.admin, &ingestv1.UpdateApplicationRequest{GroupId: g, AppId: app.Uid, IsDisabled: &en}))(t); a.IsDisabled {
		t.Fatalf("updated %v, want enabled", a)
	}
	if d := send(t); d.Status != model.StatusScheduled || h.task(t, d.Uid) == nil {
		t.Fatalf("an enabled application's delivery: %v, want Scheduled and queued", d)
	}
}
