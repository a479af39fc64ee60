package grpcapi_test

import (
	"strings"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

func filteredEndpoint(t *testing.T, h *harness, groupID, appID, filter string) *ingestv1.Endpoint {
	t.Helper()
	e, err := h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{
		GroupId: groupID, AppId: appID, Url: "https://example.com/hook", Filter: []byte(filter),
	})
	if err != nil {
		t.Fatalf("create endpoint with filter %s: %v", filter, err)
	}
	return e
}

// queuedTo reports which of eps got a dispatch task for ev.
func queuedTo(t *testing.T, h *harness, ev *ingestv1.Event, eps ...*ingestv1.Endpoint) []bool {
	t.Helper()
	out := make([]bool, len(eps))
	for i, ep := range eps {
		out[i] = h.task(t, ids.Delivery(ev.Uid, ep.Uid)) != nil
	}
	return out
}

func TestEndpointFilters(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "filters").Uid
	app := h.app(t, g, "shop").Uid
	gold := filteredEndpoint(t, h, g, app, `{"body": {"customer.tier": "gold"}}`)
	big := filteredEndpoint(t, h, g, app, `{"body": {"amount": {"$gte": 1000}}}`)
	eu := filteredEndpoint(t, h, g, app, `{"headers": {"X-Region": {"$in": ["eu-west-1", "eu-central-1"]}}}`)
	all := h.endpoint(t, g, app)

	tests := []struct {
		name    string
		data    string
		headers map[string]string
		want    []bool // gold, big, eu, all
	}{
		{"gold small", `{"customer": {"tier": "gold"}, "amount": 5}`, nil, []bool{true, false, false, true}},
		{"silver big eu", `{"customer": {"tier": "silver"}, "amount": 5000}`, map[string]string{"x-region": "eu-west-1"}, []bool{false, true, true, true}},
		{"nothing matches", `{"amount": 1}`, map[string]string{"X-Region": "us-east-1"}, []bool{false, false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: "invoice.paid", Data: []byte(tt.data), CustomHeaders: tt.headers}
			pre := must(h.api.PrecheckEvent(h.admin, &ingestv1.PrecheckEventRequest{GroupId: g, Kind: &ingestv1.PrecheckEventRequest_Event{Event: req}}))(t)
			ev := must(h.api.CreateEvent(h.admin, req))(t)
			got := queuedTo(t, h, ev, gold, big, eu, all)
			n := 0
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("endpoint %d queued = %v, want %v", i, got[i], tt.want[i])
				}
				if tt.want[i] {
					n++
				}
			}
			if int(pre.Endpoints) != n {
				t.Errorf("precheck = %d endpoints, want %d", pre.Endpoints, n)
			}
		})
	}

	t.Run("update replaces and removes the filter", func(t *testing.T) {
		up := must(h.api.UpdateEndpoint(h.admin, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: gold.Uid, Filter: []byte(`{"body": {"amount": 1}}`)}))(t)
		if string(up.Filter) != `{"body":{"amount":1}}` {
			t.Errorf("filter = %s", up.Filter)
		}
		up = must(h.api.UpdateEndpoint(h.admin, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: gold.Uid, Filter: []byte(`null`)}))(t)
		if len(up.Filter) != 0 {
			t.Errorf("filter after null = %s, want none", up.Filter)
		}
		_ = must(h.api.UpdateEndpoint(h.admin, &ingestv1.UpdateEndpointRequest{GroupId: g, AppId: app, EndpointId: gold.Uid, Filter: []byte(`{"body": {"customer.tier": "gold"}}`)}))(t)
	})

	t.Run("bad filters are refused naming the operator", func(t *testing.T) {
		for _, tt := range []struct{ filter, want string }{
			{`{"body": {"amount": {"$gtx": 5}}}`, `filter.body.amount: unknown operator "$gtx"`},
			{`{"body": {"name": {"$regex": "[a-"}}}`, `filter.body.name: invalid $regex`},
			{`[1]`, `filter: must be a JSON object`},
		} {
			_, err := h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{GroupId: g, AppId: app, Url: "https://example.com/x", Filter: []byte(tt.filter)})
			if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.want) {
				t.Errorf("filter %s: %v, want InvalidArgument with %q", tt.filter, err, tt.want)
			}
		}
	})

	t.Run("test filter", func(t *testing.T) {
		for _, tt := range []struct {
			filter, payload string
			headers         map[string]string
			want            bool
		}{
			{`{"body": {"items.sku": "b"}}`, `{"items": [{"sku": "a"}, {"sku": "b"}]}`, nil, true},
			{`{"body": {"items.sku": "c"}}`, `{"items": [{"sku": "a"}, {"sku": "b"}]}`, nil, false},
			{`{"headers": {"x-a": "1"}}`, `{}`, map[string]string{"X-A": "1"}, true},
		} {
			res := must(h.api.TestFilter(h.admin, &ingestv1.TestFilterRequest{GroupId: g, Filter: []byte(tt.filter), Payload: []byte(tt.payload), Headers: tt.headers}))(t)
			if res.Matches != tt.want {
				t.Errorf("TestFilter(%s, %s) = %v, want %v", tt.filter, tt.payload, res.Matches, tt.want)
			}
		}
		_, err := h.api.TestFilter(h.admin, &ingestv1.TestFilterRequest{GroupId: g, Filter: []byte(`{"body": {"a": {"$gtx": 1}}}`)})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), `filter.body.a: unknown operator "$gtx"`) {
			t.Errorf("bad filter: %v", err)
		}
	})
}

func TestEventTypeCatalog(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "catalog").Uid
	app := h.app(t, g, "shop").Uid
	h.endpoint(t, g, app)
	schema := []byte(`{"type": "object", "required": ["invoice"], "properties": {"invoice": {"type": "string"}, "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}}}}`)
	et := must(h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "invoice.paid", Description: "paid", Schema: schema, Example: []byte(`{"invoice": "in_1"}`)}))(t)

	t.Run("crud", func(t *testing.T) {
		_, err := h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "invoice.paid"})
		if status.Code(err) != codes.AlreadyExists {
			t.Errorf("duplicate name: %v, want AlreadyExists", err)
		}
		_, err = h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "bad", Schema: []byte(`{"type": 5}`)})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "schema does not compile") {
			t.Errorf("bad schema: %v", err)
		}
		_, err = h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "bad", Schema: schema, Example: []byte(`{}`)})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), "example does not match") {
			t.Errorf("example failing its schema: %v", err)
		}
		other := must(h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "invoice.void"}))(t)
		_, err = h.api.UpdateEventType(h.admin, &ingestv1.UpdateEventTypeRequest{GroupId: g, EventTypeId: other.Uid, Name: proto.String("invoice.paid")})
		if status.Code(err) != codes.AlreadyExists {
			t.Errorf("rename onto a taken name: %v, want AlreadyExists", err)
		}
		up := must(h.api.UpdateEventType(h.admin, &ingestv1.UpdateEventTypeRequest{GroupId: g, EventTypeId: other.Uid, Name: proto.String("invoice.voided"), Deprecated: proto.Bool(true)}))(t)
		if up.Name != "invoice.voided" || !up.Deprecated {
			t.Errorf("updated = %v", up)
		}
		// The old name is free again.
		again := must(h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "invoice.void"}))(t)
		got := must(h.api.GetEventType(h.admin, &ingestv1.GetEventTypeRequest{GroupId: g, EventTypeId: et.Uid}))(t)
		if got.Name != "invoice.paid" || string(got.Example) != `{"invoice":"in_1"}` {
			t.Errorf("got %v", got)
		}
		list := must(h.api.ListEventTypes(h.admin, &ingestv1.ListEventTypesRequest{GroupId: g}))(t)
		if len(list.EventTypes) != 3 {
			t.Errorf("listed %d event types, want 3", len(list.EventTypes))
		}
		must(h.api.DeleteEventType(h.admin, &ingestv1.DeleteEventTypeRequest{GroupId: g, EventTypeId: again.Uid}))(t)
		must(h.api.DeleteEventType(h.admin, &ingestv1.DeleteEventTypeRequest{GroupId: g, EventTypeId: up.Uid}))(t)
		_ = must(h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: g, Name: "invoice.void"}))(t)
	})

	t.Run("enforcement", func(t *testing.T) {
		send := func(typ, data string) error {
			_, err := h.api.CreateEvent(h.admin, &ingestv1.CreateEventRequest{GroupId: g, AppId: app, EventType: typ, Data: []byte(data)})
			return err
		}
		if err := send("unknown.type", `{}`); err != nil {
			t.Fatalf("enforcement off: %v", err)
		}
		_ = must(h.api.UpdateGroup(h.admin, &ingestv1.UpdateGroupRequest{GroupId: g, Config: &ingestv1.GroupConfigInput{EnforceEventTypes: proto.Bool(true)}}))(t)
		for _, tt := range []struct {
			name, typ, data, want string
		}{
			{"valid", "invoice.paid", `{"invoice": "in_1", "lines": [{"qty": 1}]}`, ""},
			{"type without schema", "invoice.void", `[1, 2]`, ""},
			{"unknown type", "user.created", `{}`, `event_type "user.created" is not in the group's event-type catalog`},
			{"missing property", "invoice.paid", `{"lines": []}`, "at /: missing property 'invoice'"},
			{"wrong type deep", "invoice.paid", `{"invoice": "in_1", "lines": [{"qty": 1}, {"qty": "2"}]}`, "at /lines/1/qty: "},
		} {
			t.Run(tt.name, func(t *testing.T) {
				err := send(tt.typ, tt.data)
				if tt.want == "" {
					if err != nil {
						t.Fatalf("refused: %v", err)
					}
					return
				}
				if status.Code(err) != codes.InvalidArgument || !strings.Contains(status.Convert(err).Message(), tt.want) {
					t.Errorf("%v, want InvalidArgument with %q", err, tt.want)
				}
			})
		}
	})
}

func TestBroadcastAndFanout(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "broadcast").Uid
	type appEps struct {
		app string
		eps []*ingestv1.Endpoint
	}
	var apps []appEps
	for i, owner := range []string{"acme", "acme", "globex", ""} {
		a := must(h.api.CreateApplication(h.admin, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "app", OwnerId: owner}))(t)
		ae := appEps{app: a.Uid}
		ae.eps = append(ae.eps, h.endpoint(t, g, a.Uid, "invoice.*"), h.endpoint(t, g, a.Uid, "user.*"))
		if i == 0 {
			ae.eps = append(ae.eps, filteredEndpoint(t, h, g, a.Uid, `{"body": {"amount": {"$gt": 100}}}`))
		}
		apps = append(apps, ae)
	}

	t.Run("owner_id is listed and filtered", func(t *testing.T) {
		res := must(h.api.ListApplications(h.admin, &ingestv1.ListApplicationsRequest{GroupId: g, OwnerId: "acme"}))(t)
		if len(res.Applications) != 2 || res.Applications[0].OwnerId != "acme" {
			t.Errorf("acme's applications: %v", res.Applications)
		}
	})

	precheck := func(k any) int32 {
		req := &ingestv1.PrecheckEventRequest{GroupId: g}
		switch k := k.(type) {
		case *ingestv1.BroadcastEventRequest:
			req.Kind = &ingestv1.PrecheckEventRequest_Broadcast{Broadcast: k}
		case *ingestv1.FanoutEventRequest:
			req.Kind = &ingestv1.PrecheckEventRequest_Fanout{Fanout: k}
		}
		return must(h.api.PrecheckEvent(h.admin, req))(t).Endpoints
	}

	t.Run("broadcast", func(t *testing.T) {
		req := &ingestv1.BroadcastEventRequest{GroupId: g, EventType: "invoice.paid", Data: []byte(`{"amount": 50}`), IdempotencyKey: "b-1"}
		if n := precheck(req); n != 4 {
			t.Errorf("precheck = %d, want 4 (one invoice endpoint per application)", n)
		}
		before := h.queued(t)
		ev := must(h.api.BroadcastEvent(h.admin, req))(t)
		if ev.AppId != "" {
			t.Errorf("broadcast event app_id = %q, want none", ev.AppId)
		}
		for _, a := range apps {
			task := h.task(t, ids.Delivery(ev.Uid, a.eps[0].Uid))
			if task == nil || task.AppId != a.app {
				t.Errorf("invoice endpoint of %s: task %v, want one with its app_id", a.app, task)
			}
			if h.task(t, ids.Delivery(ev.Uid, a.eps[1].Uid)) != nil {
				t.Errorf("user.* endpoint of %s got the invoice broadcast", a.app)
			}
		}
		if got := h.queued(t) - before; got != 4 {
			t.Errorf("queued %d tasks, want 4", got)
		}
		again := must(h.api.BroadcastEvent(h.admin, req))(t)
		if again.Uid != ev.Uid || h.queued(t)-before != 4 {
			t.Errorf("repeat with the same idempotency key: %s (first %s), queued %d", again.Uid, ev.Uid, h.queued(t)-before)
		}
		stored := must(h.api.GetEvent(h.admin, &ingestv1.GetEventRequest{GroupId: g, EventId: ev.Uid}))(t)
		if stored.EventType != "invoice.paid" {
			t.Errorf("stored event %v", stored)
		}
	})

	t.Run("fanout", func(t *testing.T) {
		req := &ingestv1.FanoutEventRequest{GroupId: g, OwnerId: "acme", EventType: "invoice.paid", Data: []byte(`{"amount": 500}`)}
		if n := precheck(req); n != 3 {
			t.Errorf("precheck = %d, want 3 (acme's two invoice endpoints and the filtered one)", n)
		}
		ev := must(h.api.FanoutEvent(h.admin, req))(t)
		want := map[string]bool{apps[0].eps[0].Uid: true, apps[0].eps[2].Uid: true, apps[1].eps[0].Uid: true}
		for _, a := range apps {
			for _, ep := range a.eps {
				if got := h.task(t, ids.Delivery(ev.Uid, ep.Uid)) != nil; got != want[ep.Uid] {
					t.Errorf("endpoint %s queued = %v, want %v", ep.Uid, got, want[ep.Uid])
				}
			}
		}
		if n := precheck(&ingestv1.FanoutEventRequest{OwnerId: "nobody", EventType: "invoice.paid", Data: []byte(`{}`)}); n != 0 {
			t.Errorf("precheck for an owner without applications = %d", n)
		}
		_, err := h.api.FanoutEvent(h.admin, &ingestv1.FanoutEventRequest{GroupId: g, EventType: "invoice.paid", Data: []byte(`{}`)})
		if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "owner_id is required") {
			t.Errorf("fanout without owner: %v", err)
		}
	})

	t.Run("precheck creates nothing", func(t *testing.T) {
		before := h.queued(t)
		list := must(h.api.ListEvents(h.admin, &ingestv1.ListEventsRequest{GroupId: g}))(t)
		precheck(&ingestv1.BroadcastEventRequest{EventType: "user.created", Data: []byte(`{}`), IdempotencyKey: "p-1"})
		after := must(h.api.ListEvents(h.admin, &ingestv1.ListEventsRequest{GroupId: g}))(t)
		if h.queued(t) != before || len(after.Events) != len(list.Events) {
			t.Errorf("precheck queued or stored something")
		}
		// The key was not claimed: a real broadcast with it creates an event.
		ev := must(h.api.BroadcastEvent(h.admin, &ingestv1.BroadcastEventRequest{GroupId: g, EventType: "user.created", Data: []byte(`{}`), IdempotencyKey: "p-1"}))(t)
		if h.queued(t)-before != 4 || ev.Uid == "" {
			t.Errorf("broadcast after precheck queued %d, want 4", h.queued(t)-before)
		}
		_, err := h.api.PrecheckEvent(h.admin, &ingestv1.PrecheckEventRequest{GroupId: g})
		if status.Code(err) != codes.InvalidArgument {
			t.Errorf("empty precheck: %v", err)
		}
	})
}

// A broadcast sees endpoint changes at once: those made through this
// replica, and those another replica made (which move the group's routing
// version in the store).
func TestBroadcastSeesEndpointChanges(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "routes").Uid
	app := h.app(t, g, "shop").Uid
	first := h.endpoint(t, g, app)
	broadcast := func() *ingestv1.Event {
		return must(h.api.BroadcastEvent(h.admin, &ingestv1.BroadcastEventRequest{GroupId: g, EventType: "x", Data: []byte(`{}`)}))(t)
	}
	ev := broadcast()
	if h.task(t, ids.Delivery(ev.Uid, first.Uid)) == nil {
		t.Fatal("first broadcast missed the endpoint")
	}

	second := h.endpoint(t, g, app)
	must(h.api.DeleteEndpoint(h.admin, &ingestv1.DeleteEndpointRequest{GroupId: g, AppId: app, EndpointId: first.Uid}))(t)
	ev = broadcast()
	if h.task(t, ids.Delivery(ev.Uid, second.Uid)) == nil || h.task(t, ids.Delivery(ev.Uid, first.Uid)) != nil {
		t.Error("a broadcast after a create and a delete through this replica does not follow them")
	}

	// Another replica's change: written to the store, then the version moved.
	at := time.Now().UTC()
	other := &model.Endpoint{UID: ids.New(), GroupID: g, AppID: app, URL: "https://example.com/other", Events: []string{"*"},
		Status: model.EndpointActive, HTTPTimeout: 30 * time.Second, RateLimit: 10, RateLimitDuration: time.Minute,
		Secrets: []model.Secret{{Value: "other-secret", CreatedAt: at}}, CreatedAt: at, UpdatedAt: at}
	if err := h.store.CreateEndpoint(t.Context(), other); err != nil {
		t.Fatal(err)
	}
	if err := h.store.BumpRoutingVersion(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	ev = broadcast()
	if h.task(t, ids.Delivery(ev.Uid, other.UID)) == nil {
		t.Error("a broadcast after another replica's change does not see it")
	}
}

// A broadcast's deliveries to a disabled application are stored Discarded,
// as a single event's are, and the event counts every endpoint it matched.
func TestBroadcastToDisabledApplication(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "disabled").Uid
	on := h.app(t, g, "on").Uid
	off := must(h.api.CreateApplication(h.admin, &ingestv1.CreateApplicationRequest{GroupId: g, Name: "off", IsDisabled: true}))(t).Uid
	live, held := h.endpoint(t, g, on), h.endpoint(t, g, off)
	ev := must(h.api.BroadcastEvent(h.admin, &ingestv1.BroadcastEventRequest{GroupId: g, EventType: "x", Data: []byte(`{}`)}))(t)
	if ev.MatchedEndpoints != 2 {
		t.Errorf("matched_endpoints = %d, want 2", ev.MatchedEndpoints)
	}
	if h.task(t, ids.Delivery(ev.Uid, live.Uid)) == nil {
		t.Error("the enabled application's endpoint got no task")
	}
	if h.task(t, ids.Delivery(ev.Uid, held.Uid)) != nil {
		t.Error("the disabled application's endpoint got a task")
	}
	ds := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: ev.Uid})
	if len(ds) != 1 || ds[0].EndpointId != held.Uid || ds[0].Status != model.StatusDiscarded || ds[0].AppId != off {
		t.Errorf("stored deliveries %v, want the disabled application's, Discarded", ds)
	}
}
