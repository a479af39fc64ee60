package httpapi

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestConvoyRoutesCallIngest checks that every Convoy v0.5 route calls the
// RPC our route for the same operation calls, with Convoy's names mapped to
// ours, and then only the reads its shape needs.
func TestConvoyRoutesCallIngest(t *testing.T) {
	const g = "groupId=grp-1"
	page := func(n int32) *ingestv1.PageRequest { return &ingestv1.PageRequest{PerPage: 20, Page: n} }
	tests := []struct {
		name, method, path, body string
		wantRPC                  string
		wantReq                  proto.Message
		// related are the reads made after it, for the shape.
		related []string
	}{
		{name: "list applications", method: "GET", path: "/api/v1/applications?" + g + "&perPage=5&page=2&sort=AESC&q=bill",
			wantRPC: "ListApplications", wantReq: &ingestv1.ListApplicationsRequest{GroupId: "grp-1", NameContains: "bill", Page: &ingestv1.PageRequest{PerPage: 5, Page: 2, Ascending: true}},
			related: []string{"ListEndpoints", "ListEndpoints"}},
		{name: "list applications of the key's group, page 1 by default", method: "GET", path: "/api/v1/applications",
			wantRPC: "ListApplications", wantReq: &ingestv1.ListApplicationsRequest{Page: page(1)}, related: []string{"ListEndpoints", "ListEndpoints"}},
		{name: "create application", method: "POST", path: "/api/v1/applications?" + g, body: `{"name":"shop","support_email":"a@b.co","is_disabled":true,"slack_webhook_url":"https://hooks.slack.com/x"}`,
			wantRPC: "CreateApplication", wantReq: &ingestv1.CreateApplicationRequest{GroupId: "grp-1", Name: "shop", SupportEmail: "a@b.co", IsDisabled: true},
			related: []string{"ListEndpoints", "ListEndpoints"}},
		{name: "get application", method: "GET", path: "/api/v1/applications/app-1?" + g,
			wantRPC: "GetApplication", wantReq: &ingestv1.GetApplicationRequest{GroupId: "grp-1", AppId: "app-1"}, related: []string{"ListEndpoints", "ListEndpoints"}},
		{name: "update application", method: "PUT", path: "/api/v1/applications/app-1?" + g, body: `{"name":"shop2","is_disabled":false}`,
			wantRPC: "UpdateApplication", wantReq: &ingestv1.UpdateApplicationRequest{GroupId: "grp-1", AppId: "app-1", Name: ptr("shop2"), IsDisabled: ptr(false)},
			related: []string{"ListEndpoints", "ListEndpoints"}},
		{name: "delete application", method: "DELETE", path: "/api/v1/applications/app-1?" + g,
			wantRPC: "DeleteApplication", wantReq: &ingestv1.DeleteApplicationRequest{GroupId: "grp-1", AppId: "app-1"}},
		{name: "list endpoints, whole", method: "GET", path: "/api/v1/applications/app-1/endpoints?" + g,
			wantRPC: "ListEndpoints", wantReq: &ingestv1.ListEndpointsRequest{GroupId: "grp-1", AppId: "app-1", Page: page(1)},
			related: []string{"ListEndpoints", "ListEndpoints"}},
		{name: "create endpoint", method: "POST", path: "/api/v1/applications/app-1/endpoints?" + g, body: `{"url":"https://x/h","events":["a"]}`,
			wantRPC: "CreateEndpoint", wantReq: &ingestv1.CreateEndpointRequest{GroupId: "grp-1", AppId: "app-1", Url: "https://x/h", Events: []string{"a"}}},
		{name: "get endpoint", method: "GET", path: "/api/v1/applications/app-1/endpoints/ep-1?" + g,
			wantRPC: "GetEndpoint", wantReq: &ingestv1.GetEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"}},
		{name: "update endpoint", method: "PUT", path: "/api/v1/applications/app-1/endpoints/ep-1?" + g, body: `{"target_url":"https://x/2"}`,
			wantRPC: "UpdateEndpoint", wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", Url: ptr("https://x/2")}},
		{name: "delete endpoint", method: "DELETE", path: "/api/v1/applications/app-1/endpoints/ep-1?" + g,
			wantRPC: "DeleteEndpoint", wantReq: &ingestv1.DeleteEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"}},
		{name: "list events", method: "GET", path: "/api/v1/events?" + g + "&appId=app-1&startDate=2024-01-02T03:04:05",
			wantRPC: "ListEvents", wantReq: &ingestv1.ListEventsRequest{GroupId: "grp-1", AppId: "app-1", StartDate: ts(fixedCreated), Page: page(1)},
			related: []string{"GetApplication"}},
		{name: "create event", method: "POST", path: "/api/v1/events?" + g, body: `{"app_id":"app-1","event_type":"x","data":{"a":1}}`,
			wantRPC: "CreateEvent", wantReq: &ingestv1.CreateEventRequest{GroupId: "grp-1", AppId: "app-1", EventType: "x", Data: []byte(`{"a":1}`)},
			related: []string{"GetApplication"}},
		{name: "get event", method: "GET", path: "/api/v1/events/evt-1?" + g,
			wantRPC: "GetEvent", wantReq: &ingestv1.GetEventRequest{GroupId: "grp-1", EventId: "evt-1"}, related: []string{"GetApplication"}},
		{name: "list deliveries", method: "GET", path: "/api/v1/eventdeliveries?" + g + "&appId=app-1&eventId=evt-1&endpointId=ep-1&status=Failure&status=Retry&endDate=2024-01-02T03:04:05Z&perPage=7&page=3",
			wantRPC: "ListDeliveries", wantReq: &ingestv1.ListDeliveriesRequest{GroupId: "grp-1",
				Filter: &ingestv1.DeliveryFilter{AppId: "app-1", EventId: "evt-1", EndpointId: "ep-1", Status: []string{"Failure", "Retry"}, EndDate: ts(fixedCreated)},
				Page:   &ingestv1.PageRequest{PerPage: 7, Page: 3}},
			related: []string{"GetApplication", "GetEndpoint"}},
		{name: "batch retry by appId", method: "POST", path: "/api/v1/eventdeliveries/batchretry?" + g + "&appId=app-A",
			wantRPC: "BatchRetryDeliveries", wantReq: &ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "app-A"}}},
		{name: "batch retry by ids", method: "POST", path: "/api/v1/eventdeliveries/batchretry?" + g, body: `{"ids":["d1"]}`,
			wantRPC: "BatchRetryDeliveries", wantReq: &ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Ids: []string{"d1"}}},
		{name: "batch retry as Convoy's SDK sends it", method: "PUT", path: "/api/v1/eventdeliveries/batchretry?" + g, body: `{"ids":["d1"]}`,
			wantRPC: "BatchRetryDeliveries", wantReq: &ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Ids: []string{"d1"}}},
		{name: "count for batch retry", method: "GET", path: "/api/v1/eventdeliveries/countbatchretryevents?" + g + "&appId=app-1&perPage=10&page=1",
			wantRPC: "CountBatchRetryDeliveries", wantReq: &ingestv1.CountBatchRetryDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "app-1"}}},
		{name: "force resend", method: "POST", path: "/api/v1/eventdeliveries/forceresend?" + g, body: `{"ids":["d1"]}`,
			wantRPC: "ForceResendDeliveries", wantReq: &ingestv1.ForceResendDeliveriesRequest{GroupId: "grp-1", Ids: []string{"d1"}}},
		{name: "get delivery", method: "GET", path: "/api/v1/eventdeliveries/dlv-1?" + g,
			wantRPC: "GetDelivery", wantReq: &ingestv1.GetDeliveryRequest{GroupId: "grp-1", DeliveryId: "dlv-1"}, related: []string{"GetApplication", "GetEndpoint"}},
		{name: "resend re-activates the endpoint", method: "PUT", path: "/api/v1/eventdeliveries/dlv-1/resend?" + g,
			wantRPC: "ResendDelivery", wantReq: &ingestv1.ResendDeliveryRequest{GroupId: "grp-1", DeliveryId: "dlv-1", ReactivateEndpoint: true},
			related: []string{"GetApplication", "GetEndpoint"}},
		{name: "list attempts", method: "GET", path: "/api/v1/eventdeliveries/dlv-1/deliveryattempts?" + g,
			wantRPC: "ListAttempts", wantReq: &ingestv1.ListAttemptsRequest{GroupId: "grp-1", DeliveryId: "dlv-1"}},
		{name: "get attempt", method: "GET", path: "/api/v1/eventdeliveries/dlv-1/deliveryattempts/att-1?" + g,
			wantRPC: "GetAttempt", wantReq: &ingestv1.GetAttemptRequest{GroupId: "grp-1", DeliveryId: "dlv-1", AttemptId: "att-1"}},
		{name: "create key", method: "POST", path: "/api/v1/security/keys", body: `{"name":"ci","role":{"type":"admin","groups":["grp-1"]},"key_type":"api"}`,
			wantRPC: "CreateAPIKey", wantReq: &ingestv1.CreateAPIKeyRequest{GroupId: "grp-1", Name: "ci", Role: "admin"}},
		{name: "list keys of every group", method: "GET", path: "/api/v1/security/keys?perPage=3",
			wantRPC: "ListAPIKeys", wantReq: &ingestv1.ListAPIKeysRequest{Page: &ingestv1.PageRequest{PerPage: 3, Page: 1}}},
		{name: "get key", method: "GET", path: "/api/v1/security/keys/key-1",
			wantRPC: "GetAPIKey", wantReq: &ingestv1.GetAPIKeyRequest{KeyId: "key-1"}},
		{name: "update key with its own role", method: "PUT", path: "/api/v1/security/keys/key-1", body: `{"role":{"type":"admin","groups":["grp-1"]}}`,
			wantRPC: "GetAPIKey", wantReq: &ingestv1.GetAPIKeyRequest{KeyId: "key-1"}},
		{name: "revoke key", method: "PUT", path: "/api/v1/security/keys/key-1/revoke",
			wantRPC: "RevokeAPIKey", wantReq: &ingestv1.RevokeAPIKeyRequest{KeyId: "key-1"}},
	}
	h := newHarness(t, Options{})
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.fake.recorded())
			res := h.do(t, tt.method, tt.path, tt.body, map[string]string{"Authorization": "Bearer group-key"})
			if res.status != 200 {
				t.Fatalf("status %d, want 200 (Convoy answered 200 on every success); body %s", res.status, res.body)
			}
			calls := h.fake.recorded()[before:]
			if len(calls) == 0 || calls[0].method != tt.wantRPC {
				t.Fatalf("calls %v, want %s first", calls, tt.wantRPC)
			}
			if !proto.Equal(calls[0].req, tt.wantReq) {
				t.Errorf("request mismatch\n got: %s\nwant: %s", prototext.Format(calls[0].req), prototext.Format(tt.wantReq))
			}
			var rest []string
			for _, c := range calls[1:] {
				rest = append(rest, c.method)
				if got := c.md.Get("authorization"); !slices.Equal(got, []string{"Bearer group-key"}) {
					t.Errorf("%s made without the caller's key: %q", c.method, got)
				}
			}
			if !slices.Equal(rest, tt.related) {
				t.Errorf("reads after %s: %v, want %v", tt.wantRPC, rest, tt.related)
			}
			req, _ := http.NewRequest(tt.method, "http://gw"+tt.path, nil)
			if _, pattern := h.api.mux.Handler(req); pattern != "" {
				covered[pattern] = true
			}
		})
	}
	for _, rt := range routes() {
		if rt.public() || !strings.HasPrefix(rt.operationID, "convoy") {
			continue
		}
		if p := rt.method + " " + rt.path; !covered[p] {
			t.Errorf("route %s has no case in TestConvoyRoutesCallIngest", p)
		}
	}
}

// TestConvoyShapes checks the answers of Convoy's routes field by field
// where Convoy's shape differs from ours.
func TestConvoyShapes(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.attempts = []*ingestv1.Attempt{{Uid: "att-1", DeliveryId: "dlv-1", HttpStatus: 200, Status: true, CreatedAt: ts(fixedCreated)}}
	get := func(t *testing.T, method, path, body string) json.RawMessage {
		t.Helper()
		res := h.do(t, method, path, body, nil)
		if res.status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, res.status, res.body)
		}
		return res.envelope(t).Data
	}
	tests := []struct {
		name, method, path, body string
		want                     string
	}{
		{"application embeds its endpoints", "GET", "/api/v1/applications/app-1?groupId=grp-1", "",
			`{"uid":"app-1","group_id":"grp-1","name":"billing","support_email":"ops@example.com","is_disabled":false,` +
				`"endpoints":[{"uid":"ep-1","target_url":"https://example.com/hook?a=1&b=2","description":"main","secret":"new-secret","events":["*"],` +
				`"http_timeout":"30s","rate_limit":5000,"rate_limit_duration":"1m","status":"active","ordered":false,"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"},` +
				`{"uid":"ep-1","target_url":"https://example.com/hook?a=1&b=2","description":"main","secret":"new-secret","events":["*"],` +
				`"http_timeout":"30s","rate_limit":5000,"rate_limit_duration":"1m","status":"active","ordered":false,"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}],` +
				`"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}`},
		{"a page counts and numbers", "GET", "/api/v1/events?groupId=grp-1&page=2&perPage=20", "",
			`{"content":[{"uid":"evt-1","event_type":"invoice.paid","matched_endpoints":0,"app_metadata":{"uid":"app-1","title":"billing","group_id":"grp-1","support_email":"ops@example.com"},` +
				`"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05Z","data":{"n":1}}],` +
				`"pagination":{"total":45,"page":2,"perPage":20,"prev":1,"next":3,"totalPage":3}}`},
		{"delivery with its event, application and endpoint", "GET", "/api/v1/eventdeliveries/dlv-1?groupId=grp-1", "",
			`{"uid":"dlv-1","status":"Retry","description":"endpoint answered 500","metadata":{"num_trials":2,"retry_limit":5,"strategy":"default","interval_seconds":100,"next_send_time":"2024-01-02T04:06:46.5Z"},` +
				`"event_metadata":{"uid":"evt-1","name":"invoice.paid"},"app_metadata":{"uid":"app-1","title":"billing","group_id":"grp-1","support_email":"ops@example.com"},` +
				`"endpoint":{"uid":"ep-1","target_url":"https://example.com/hook?a=1&b=2","status":"active","secret":"new-secret","http_timeout":"30s","rate_limit":5000,"rate_limit_duration":"1m"},` +
				`"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}`},
		{"attempts with the status line", "GET", "/api/v1/eventdeliveries/dlv-1/deliveryattempts?groupId=grp-1", "",
			`[{"uid":"att-1","msg_id":"dlv-1","url":"","method":"","ip_address":"","request_http_header":{},"response_http_header":{},"http_status":"200 OK",` +
				`"response_data":"","error":"","status":true,"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05Z"}]`},
		{"one attempt", "GET", "/api/v1/eventdeliveries/dlv-1/deliveryattempts/att-9?groupId=grp-1", "",
			`{"uid":"att-9","msg_id":"dlv-1","url":"https://example.com/hook","method":"POST","ip_address":"","request_http_header":{},"response_http_header":{},"http_status":"502 Bad Gateway",` +
				`"response_data":"","error":"endpoint answered Bad Gateway","status":false,"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05Z"}`},
		{"count", "GET", "/api/v1/eventdeliveries/countbatchretryevents?groupId=grp-1", "", `{"num":3}`},
		{"delete answers an object", "DELETE", "/api/v1/applications/app-1?groupId=grp-1", "", `{}`},
		{"key with its role", "POST", "/api/v1/security/keys", `{"name":"ci","role":{"type":"admin","groups":["grp-9"],"apps":[]}}`,
			`{"uid":"key-1","name":"ci","role":{"type":"admin","groups":["grp-9"],"apps":[]},"key_type":"api","key":"CO.secret","expires_at":null,"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05Z"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(get(t, tt.method, tt.path, tt.body)); got != tt.want {
				t.Errorf("data =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

// TestConvoyFieldsWeCannotApply: Convoy's fields for features this service
// lacks are accepted where asking nothing of them, refused where they would
// ask for something.
func TestConvoyFieldsWeCannotApply(t *testing.T) {
	h := newHarness(t, Options{})
	for _, c := range []struct {
		name, method, path, body string
		want                     string
	}{
		{"a key of two groups", "POST", "/api/v1/security/keys", `{"name":"k","role":{"type":"admin","groups":["a","b"]}}`, "role.groups"},
		{"a key of no group", "POST", "/api/v1/security/keys", `{"name":"k"}`, "role.groups"},
		{"a key scoped to applications", "POST", "/api/v1/security/keys", `{"name":"k","role":{"groups":["a"],"apps":["x"]}}`, "role.apps"},
		{"a super user key", "POST", "/api/v1/security/keys", `{"name":"k","role":{"type":"super_user","groups":["a"]}}`, "role.type"},
		{"a key with a bad expiry", "POST", "/api/v1/security/keys", `{"name":"k","role":{"groups":["a"]},"expires_at":"tomorrow"}`, "expires_at"},
		{"moving a key", "PUT", "/api/v1/security/keys/key-1", `{"role":{"groups":["grp-2"]}}`, "role.groups"},
		{"a sort we do not know", "GET", "/api/v1/events?groupId=g&sort=up", "", "sort must be ASC or DESC"},
		{"page zero", "GET", "/api/v1/eventdeliveries?groupId=g&page=0", "", "page must be"},
		{"two groups", "GET", "/api/v1/applications?groupId=a&groupId=b", "", "groupId must be given at most once"},
		{"our cursor on Convoy's route", "GET", "/api/v1/events?groupId=g&next_page_cursor=x", "", `unknown query parameter "next_page_cursor"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			res := h.do(t, c.method, c.path, c.body, nil)
			if res.status != 400 || !strings.Contains(*res.envelope(t).Message, c.want) {
				t.Errorf("%d %s, want 400 naming %s", res.status, res.body, c.want)
			}
		})
	}
	// Accepted, not applied: a group's logo and rate limit, an application's
	// Slack hook.
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/api/v1/groups", `{"name":"g","logo_url":"https://x/l.png","rate_limit":100,"rate_limit_duration":"1m"}`},
		{"PUT", "/api/v1/applications/app-1?groupId=g", `{"slack_webhook_url":"https://hooks.slack.com/x","is_disabled":false}`},
	} {
		if res := h.do(t, c.method, c.path, c.body, nil); res.status >= 300 {
			t.Errorf("%s %s: %d %s", c.method, c.path, res.status, res.body)
		}
	}
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }
