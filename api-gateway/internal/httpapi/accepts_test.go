package httpapi

import (
	"strings"
	"testing"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// samplePath fills a route's wildcards with placeholder ids.
func samplePath(rt route) string {
	return wildcard.ReplaceAllString(rt.path, "x-$1")
}

// TestEveryRouteRefusesUnknownInput: on every route, a query parameter or a
// body field the route does not declare is a 400 naming it, and nothing
// reaches ingest.
func TestEveryRouteRefusesUnknownInput(t *testing.T) {
	h := newHarness(t, Options{})
	for _, rt := range routes() {
		t.Run(rt.method+" "+rt.path, func(t *testing.T) {
			for _, c := range []struct {
				name, query, body, want string
			}{
				{"unknown parameter", "?bogus=1", "", `unknown query parameter "bogus"`},
				{"Convoy spelling we do not map", "?appID=a", "", `unknown query parameter "appID"`},
				{"two unknown parameters", "?zeta=1&alpha=2", "", `unknown query parameters "alpha", "zeta"`},
				{"unknown body field", "", `{"bogus":1}`, `unknown field "bogus"`},
			} {
				before := len(h.fake.recorded())
				res := h.do(t, rt.method, samplePath(rt)+c.query, c.body, map[string]string{"Authorization": "Bearer k"})
				if res.status != 400 {
					t.Fatalf("%s: status %d, want 400; body %s", c.name, res.status, res.body)
				}
				if msg := *res.envelope(t).Message; !strings.Contains(msg, c.want) {
					t.Errorf("%s: message %q lacks %q", c.name, msg, c.want)
				}
				if n := len(h.fake.recorded()) - before; n != 0 {
					t.Errorf("%s: ingest got %d calls, want none", c.name, n)
				}
			}
		})
	}
}

// TestUnknownInputIsNamed checks the messages for nested and repeated
// unknown input.
func TestUnknownInputIsNamed(t *testing.T) {
	const g = "/api/v1/groups/grp-1"
	tests := []struct {
		name, method, path, body string
		want                     []string
	}{
		{"nested in config.strategy", "POST", "/api/v1/groups", `{"name":"p","config":{"strategy":{"type":"default","foo":1}}}`,
			[]string{`unknown field "config.strategy.foo"`}},
		{"nested in Convoy's default block", "PUT", g, `{"config":{"strategy":{"default":{"intervalSeconds":5,"retrylimit2":3}}}}`,
			[]string{`unknown field "config.strategy.default.retrylimit2"`}},
		{"every unknown field at once", "POST", "/api/v1/groups", `{"name":"p","logo":"x","config":{"signature":{"algo":"x"},"rate":1}}`,
			[]string{`unknown fields "config.rate", "config.signature.algo", "logo"`}},
		{"status on create", "POST", g + "/applications/a/endpoints", `{"url":"https://x","status":"inactive"}`,
			[]string{`unknown field "status"`}},
		{"secret on update", "PUT", g + "/applications/a/endpoints/e", `{"secret":"s"}`,
			[]string{`unknown field "secret"`}},
		{"field of an event", "POST", g + "/events", `{"app_id":"a","event_type":"x","data":{"free":"form"},"provider_id":"p"}`,
			[]string{`unknown field "provider_id"`}},
		{"body on a route without one", "DELETE", g, `{"force":true}`, []string{`unknown field "force"`}},
		{"query names the accepted parameters", "GET", g + "/events?appid=a", "",
			[]string{`unknown query parameter "appid"`, "app_id (appId), event_type, start_date (startDate), end_date (endDate), idempotency_key, per_page (perPage), next_page_cursor"}},
		{"alias and our name both given", "GET", g + "/eventdeliveries?app_id=a&appId=b", "", []string{"appId/app_id must be given at most once"}},
		{"a bad value named as the caller wrote it", "GET", g + "/events?perPage=0&startDate=yesterday", "",
			[]string{"perPage must be an integer between 1 and 100", "startDate must be RFC 3339"}},
		{"page is not ours", "GET", g + "/events?page=2", "", []string{`unknown query parameter "page"`}},
		{"counts answer every status", "GET", g + "/eventdeliveries/counts?status=Failure", "", []string{`unknown query parameter "status"`}},
		{"batch retry by ids and filters", "POST", g + "/eventdeliveries/batchretry?appId=a", `{"ids":["d"]}`, []string{"give ids or query filters, not both"}},
		{"conflicting intervals", "POST", "/api/v1/groups", `{"name":"p","config":{"strategy":{"duration":10,"default":{"intervalSeconds":20}}}}`,
			[]string{"config.strategy.duration and config.strategy.default.intervalSeconds differ"}},
		{"conflicting retry limits", "PUT", g, `{"config":{"strategy":{"retry_count":3,"default":{"retryLimit":4}}}}`,
			[]string{"config.strategy.default.retryLimit differs"}},
		{"exponential limit on a default strategy", "PUT", g, `{"config":{"strategy":{"type":"default","exponentialBackoff":{"retryLimit":4}}}}`,
			[]string{"config.strategy.exponentialBackoff applies only when config.strategy.type is exponential-backoff"}},
		{"default block on an exponential strategy", "PUT", g, `{"config":{"strategy":{"type":"exponential-backoff","default":{"intervalSeconds":4}}}}`,
			[]string{"config.strategy.default applies only when config.strategy.type is default"}},
		{"url and target_url differ", "POST", g + "/applications/a/endpoints", `{"url":"https://a","target_url":"https://b"}`,
			[]string{"url and target_url differ"}},
		{"type error inside an embedded struct names the JSON path", "POST", g + "/applications/a/endpoints", `{"events":"a"}`,
			[]string{"events must be an array"}},
	}
	h := newHarness(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.fake.recorded())
			res := h.do(t, tt.method, tt.path, tt.body, nil)
			if res.status != 400 {
				t.Fatalf("status %d, want 400; body %s", res.status, res.body)
			}
			msg := *res.envelope(t).Message
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("message %q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "endpointFields") {
				t.Errorf("message %q names a Go type", msg)
			}
			if n := len(h.fake.recorded()) - before; n != 0 {
				t.Errorf("ingest got %d calls, want none", n)
			}
		})
	}
}

// TestConvoyNamesWork: Convoy v0.5's names for what we support reach
// ingest as ours.
func TestConvoyNamesWork(t *testing.T) {
	const (
		g  = "/api/v1/groups/grp-1"
		dl = g + "/eventdeliveries"
	)
	start := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name, method, path, body string
		wantRPC                  string
		wantReq                  proto.Message
	}{
		{"batch retry by appId", "POST", dl + "/batchretry?appId=app-A", "", "BatchRetryDeliveries",
			&ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "app-A"}}},
		{"batch retry by eventId, endpointId and status", "POST", dl + "/batchretry?eventId=e&endpointId=ep&status=Failure", "", "BatchRetryDeliveries",
			&ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{EventId: "e", EndpointId: "ep", Status: []string{"Failure"}}}},
		{"deliveries by Convoy's filters, status repeated", "GET", dl + "?appId=a&eventId=e&endpointId=ep&status=Failure&status=Retry&perPage=7", "", "ListDeliveries",
			&ingestv1.ListDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "a", EventId: "e", EndpointId: "ep", Status: []string{"Failure", "Retry"}},
				Page: &ingestv1.PageRequest{PerPage: 7}}},
		{"events by appId and Convoy's zoneless dates", "GET", g + "/events?appId=a&startDate=2024-01-02T03:04:05&endDate=2024-01-03T00:00:00Z", "", "ListEvents",
			&ingestv1.ListEventsRequest{GroupId: "grp-1", AppId: "a", StartDate: timestamppb.New(start), EndDate: timestamppb.New(time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC)),
				Page: defaultPage()}},
		{"perPage on a paged list", "GET", g + "/applications?perPage=3", "", "ListApplications",
			&ingestv1.ListApplicationsRequest{GroupId: "grp-1", Page: &ingestv1.PageRequest{PerPage: 3}}},
		{"group with Convoy's default strategy (the SDK's zero exponential block)", "POST", "/api/v1/groups",
			`{"name":"p","config":{"strategy":{"type":"default","default":{"intervalSeconds":30,"retryLimit":3},"exponentialBackoff":{"retryLimit":0}}}}`,
			"CreateGroup", &ingestv1.CreateGroupRequest{Name: "p", Config: &ingestv1.GroupConfigInput{
				StrategyType: ptr("default"), StrategyDuration: ptr(int64(30)), RetryCount: ptr(int32(3))}}},
		{"group with Convoy's exponential strategy (the SDK's zero default block)", "POST", "/api/v1/groups",
			`{"name":"p","config":{"strategy":{"type":"exponential-backoff","default":{"intervalSeconds":0,"retryLimit":0},"exponentialBackoff":{"retryLimit":4}}}}`,
			"CreateGroup", &ingestv1.CreateGroupRequest{Name: "p", Config: &ingestv1.GroupConfigInput{
				StrategyType: ptr("exponential-backoff"), RetryCount: ptr(int32(4))}}},
		{"group update with Convoy's retry limit and no type", "PUT", g, `{"config":{"strategy":{"default":{"retryLimit":2}}}}`,
			"UpdateGroup", &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Config: &ingestv1.GroupConfigInput{RetryCount: ptr(int32(2))}}},
		{"the same value under both names", "PUT", g, `{"config":{"strategy":{"duration":9,"retry_count":2,"default":{"intervalSeconds":9,"retryLimit":2}}}}`,
			"UpdateGroup", &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Config: &ingestv1.GroupConfigInput{StrategyDuration: ptr(int64(9)), RetryCount: ptr(int32(2))}}},
		{"endpoint by target_url", "POST", g + "/applications/a/endpoints", `{"target_url":"https://x/h"}`,
			"CreateEndpoint", &ingestv1.CreateEndpointRequest{GroupId: "grp-1", AppId: "a", Url: "https://x/h"}},
		{"endpoint update by target_url", "PUT", g + "/applications/a/endpoints/e", `{"target_url":"https://x/h"}`,
			"UpdateEndpoint", &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "a", EndpointId: "e", Url: ptr("https://x/h")}},
	}
	h := newHarness(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.fake.recorded())
			res := h.do(t, tt.method, tt.path, tt.body, nil)
			if res.status >= 300 {
				t.Fatalf("status %d; body %s", res.status, res.body)
			}
			calls := h.fake.recorded()[before:]
			if len(calls) != 1 || calls[0].method != tt.wantRPC {
				t.Fatalf("calls %v, want one %s", calls, tt.wantRPC)
			}
			if !proto.Equal(calls[0].req, tt.wantReq) {
				t.Errorf("request mismatch\n got: %s\nwant: %s", prototext.Format(calls[0].req), prototext.Format(tt.wantReq))
			}
		})
	}
}
