package grpcapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/metaevent"
	"convoy/core/model"
	"convoy/core/queue"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
)

// metaEvent stores a meta event of the group in status st, standing in for
// the dispatcher, which stores one when it first sends it.
func (h *harness) metaEvent(t testing.TB, groupID, st string) *model.MetaEvent {
	t.Helper()
	at := time.Now().UTC().Truncate(time.Millisecond)
	m := &model.MetaEvent{
		UID: ids.New(), GroupID: groupID, EventType: metaevent.EndpointDisabled, Status: st,
		Metadata: model.MetaEventMetadata{
			Raw: `{"event_type":"endpoint.disabled","data":{"uid":"e1"},"created_at":"` + at.Format(time.RFC3339Nano) + `"}`, NumTrials: 1, RetryLimit: 3,
		},
		Attempts:  []model.Attempt{{UID: ids.New(), URL: "https://ops.example.com/meta", Method: "POST", HTTPStatus: 500, Error: "endpoint answered Internal Server Error", CreatedAt: at}},
		CreatedAt: at, UpdatedAt: at,
	}
	if err := h.store.InsertMetaEvent(context.Background(), m); err != nil {
		t.Fatalf("store meta event: %v", err)
	}
	return m
}

// metaTasks returns every task on the meta stream, oldest first.
func (h *harness) metaTasks(t testing.TB) []*metaevent.Task {
	t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, queue.StreamMeta)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*metaevent.Task
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		msg, err := s.GetMsg(ctx, seq)
		if err != nil {
			continue // deleted
		}
		task, err := metaevent.DecodeTask(msg.Data)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, task)
	}
	return out
}

func TestMetaEventConfig(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin

	t.Run("off by default with a secret in the format's shape", func(t *testing.T) {
		simple := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "simple"}))(t).Config.MetaEvent
		if simple.IsEnabled || simple.Url != "" || len(simple.EventTypes) != 0 || len(simple.Secret) < 32 || strings.HasPrefix(simple.Secret, "whsec_") {
			t.Fatalf("default meta_event %v", simple)
		}
		std := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "std", Config: &ingestv1.GroupConfigInput{SignatureFormat: str("standard-webhooks")}}))(t).Config.MetaEvent
		if !strings.HasPrefix(std.Secret, "whsec_") {
			t.Fatalf("standard-webhooks group's meta secret %q lacks whsec_", std.Secret)
		}
	})

	t.Run("set on create, partial updates", func(t *testing.T) {
		g := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "meta", Config: &ingestv1.GroupConfigInput{
			MetaEventIsEnabled: new(true), MetaEventUrl: str(" https://ops.example.com/meta "), MetaEventSecret: str("my-meta-secret"),
			SetMetaEventTypes: true, MetaEventTypes: []string{metaevent.EndpointDisabled, metaevent.DeliveryFailed, metaevent.EndpointDisabled},
		}}))(t)
		m := g.Config.MetaEvent
		if !m.IsEnabled || m.Url != "https://ops.example.com/meta" || m.Secret != "my-meta-secret" ||
			!slices.Equal(m.EventTypes, []string{metaevent.EndpointDisabled, metaevent.DeliveryFailed}) {
			t.Fatalf("created meta_event %v", m)
		}
		update := func(in *ingestv1.GroupConfigInput) *ingestv1.MetaEventConfig {
			must(api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g.Uid, Config: in}))(t)
			return must(api.GetGroup(ctx, &ingestv1.GetGroupRequest{GroupId: g.Uid}))(t).Config.MetaEvent
		}
		m = update(&ingestv1.GroupConfigInput{MetaEventUrl: str("http://ops.example.com/v2")})
		if !m.IsEnabled || m.Url != "http://ops.example.com/v2" || m.Secret != "my-meta-secret" || len(m.EventTypes) != 2 {
			t.Fatalf("url update changed other fields: %v", m)
		}
		m = update(&ingestv1.GroupConfigInput{SetMetaEventTypes: true})
		if len(m.EventTypes) != 0 || !m.IsEnabled {
			t.Fatalf("clearing event_types (every type) gave %v", m)
		}
		m = update(&ingestv1.GroupConfigInput{MetaEventIsEnabled: new(false), SignatureHash: str("SHA512")})
		if m.IsEnabled || m.Url != "http://ops.example.com/v2" || m.Secret != "my-meta-secret" {
			t.Fatalf("turning meta events off lost settings: %v", m)
		}
		// Without a URL it can be off, not on.
		m = update(&ingestv1.GroupConfigInput{MetaEventUrl: str("")})
		if m.Url != "" {
			t.Fatalf("url not cleared: %v", m)
		}
		_, err := api.UpdateGroup(ctx, &ingestv1.UpdateGroupRequest{GroupId: g.Uid, Config: &ingestv1.GroupConfigInput{MetaEventIsEnabled: new(true)}})
		wantCode(t, err, codes.InvalidArgument, "config.meta_event.url is required")
	})
}

// A user disabling or re-enabling an endpoint sends endpoint.disabled or
// endpoint.enabled to a group that wants them, with the endpoint and never
// its secrets; a group with meta events off gets nothing queued.
func TestEndpointStatusChangeSendsMetaEvents(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	on := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "on", Config: &ingestv1.GroupConfigInput{
		MetaEventIsEnabled: new(true), MetaEventUrl: str("https://ops.example.com/meta"),
	}}))(t).Uid
	off := h.group(t, "off").Uid
	filtered := must(api.CreateGroup(ctx, &ingestv1.CreateGroupRequest{Name: "filtered", Config: &ingestv1.GroupConfigInput{
		MetaEventIsEnabled: new(true), MetaEventUrl: str("https://ops.example.com/meta"),
		SetMetaEventTypes: true, MetaEventTypes: []string{metaevent.EndpointEnabled},
	}}))(t).Uid
	setStatus := func(g, app, ep, st string) {
		must(api.UpdateEndpoint(ctx, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: ep, Status: str(st)}))(t)
	}

	for _, g := range []string{off, filtered} {
		app := h.app(t, g, "a").Uid
		ep := h.endpoint(t, g, app).Uid
		setStatus(g, app, ep, model.EndpointInactive)
	}
	if got := h.metaTasks(t); len(got) != 0 {
		t.Fatalf("%d meta events queued for groups that do not want endpoint.disabled", len(got))
	}

	app := h.app(t, on, "a").Uid
	e := h.endpoint(t, on, app)
	setStatus(on, app, e.Uid, model.EndpointInactive)
	setStatus(on, app, e.Uid, model.EndpointInactive) // already inactive: no second notice
	setStatus(on, app, e.Uid, model.EndpointActive)
	setStatus(on, app, e.Uid, model.EndpointActive) // pending already: no notice
	tasks := h.metaTasks(t)
	if len(tasks) != 2 || tasks[0].EventType != metaevent.EndpointDisabled || tasks[1].EventType != metaevent.EndpointEnabled {
		t.Fatalf("queued %d meta events %v, want endpoint.disabled then endpoint.enabled", len(tasks), tasks)
	}
	for i, wantStatus := range []string{model.EndpointInactive, model.EndpointPending} {
		task := tasks[i]
		if strings.Contains(string(task.Body), e.Secret) {
			t.Fatalf("meta event body carries the endpoint's secret: %s", task.Body)
		}
		var b struct {
			EventType string             `json:"event_type"`
			Data      metaevent.Endpoint `json:"data"`
			CreatedAt time.Time          `json:"created_at"`
		}
		if err := json.Unmarshal(task.Body, &b); err != nil {
			t.Fatal(err)
		}
		if task.GroupID != on || b.EventType != task.EventType || b.Data.UID != e.Uid || b.Data.AppID != app ||
			b.Data.Status != wantStatus || b.Data.URL != e.Url || b.CreatedAt.IsZero() {
			t.Fatalf("meta event %d: task %+v body %s", i, task, task.Body)
		}
	}
}

func TestMetaEventsListGetResend(t *testing.T) {
	h := newHarness(t)
	api, ctx := h.api, h.admin
	g := h.group(t, "g").Uid
	var stored []*model.MetaEvent
	for _, st := range []string{model.StatusSuccess, model.StatusFailure, model.StatusRetry} {
		stored = append(stored, h.metaEvent(t, g, st))
	}
	h.metaEvent(t, h.group(t, "other").Uid, model.StatusSuccess)

	res := must(api.ListMetaEvents(ctx, &ingestv1.ListMetaEventsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 2}}))(t)
	if len(res.MetaEvents) != 2 || res.MetaEvents[0].Uid != stored[2].UID || res.MetaEvents[1].Uid != stored[1].UID ||
		!res.Page.HasNextPage || len(res.MetaEvents[0].Attempts) != 0 {
		t.Fatalf("page 1 %v", res)
	}
	res = must(api.ListMetaEvents(ctx, &ingestv1.ListMetaEventsRequest{GroupId: g, Page: &ingestv1.PageRequest{PerPage: 2, Cursor: res.Page.NextPageCursor}}))(t)
	if len(res.MetaEvents) != 1 || res.MetaEvents[0].Uid != stored[0].UID || res.Page.HasNextPage {
		t.Fatalf("page 2 %v", res)
	}

	got := must(api.GetMetaEvent(ctx, &ingestv1.GetMetaEventRequest{GroupId: g, MetaEventId: stored[1].UID}))(t)
	if got.EventType != metaevent.EndpointDisabled || got.Status != model.StatusFailure || got.Metadata.Raw != stored[1].Metadata.Raw ||
		got.Metadata.NumTrials != 1 || got.Metadata.RetryLimit != 3 || len(got.Attempts) != 1 || got.Attempts[0].HttpStatus != 500 {
		t.Fatalf("meta event %v", got)
	}

	_, err := api.ResendMetaEvent(ctx, &ingestv1.ResendMetaEventRequest{GroupId: g, MetaEventId: stored[2].UID})
	wantCode(t, err, codes.FailedPrecondition, "only a final meta event")
	for i, m := range stored[:2] {
		r := must(api.ResendMetaEvent(ctx, &ingestv1.ResendMetaEventRequest{GroupId: g, MetaEventId: m.UID}))(t)
		if r.Status != model.StatusScheduled || r.Metadata.NumTrials != 0 || r.Metadata.RetryLimit != 10 || r.Metadata.NextSendTime == nil ||
			len(r.Attempts) != 1 || r.Metadata.Raw != m.Metadata.Raw {
			t.Fatalf("resent meta event %v", r)
		}
		tasks := h.metaTasks(t)
		if len(tasks) != i+1 {
			t.Fatalf("%d meta tasks queued, want %d", len(tasks), i+1)
		}
		last := tasks[i]
		if last.UID != m.UID || last.Generation != 1 || string(last.Body) != m.Metadata.Raw || last.RetryLimit != 10 {
			t.Fatalf("resend task %+v", last)
		}
	}
	// Resent, it is on its way again and not resendable until final.
	_, err = api.ResendMetaEvent(ctx, &ingestv1.ResendMetaEventRequest{GroupId: g, MetaEventId: stored[0].UID})
	wantCode(t, err, codes.FailedPrecondition, "is Scheduled")
	_, err = api.GetMetaEvent(ctx, &ingestv1.GetMetaEventRequest{GroupId: g, MetaEventId: ids.New()})
	wantCode(t, err, codes.NotFound, "meta event not found")
}
