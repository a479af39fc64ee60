package httpapi

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/protobuf/types/known/timestamppb"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return ts
}

func keysOf(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, raw)
	}
	return slices.Sorted(maps.Keys(m))
}

func sorted(keys ...string) []string { return slices.Sorted(slices.Values(keys)) }

// TestResponseShapes checks the envelope, the list shape and every
// resource's JSON field names.
func TestResponseShapes(t *testing.T) {
	const g = "/api/v1/groups/grp-1"
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		wantStatus int
		// wantKeys are the data object's keys; for lists, an item's keys.
		wantKeys []string
		list     bool
		// wantJSON, when set, is the exact data value.
		wantJSON string
	}{
		{
			name: "group", method: "GET", path: g, wantStatus: 200,
			wantJSON: `{"uid":"grp-1","name":"prod","config":{"strategy":{"type":"exponential-backoff","duration":10,"retry_count":7,` +
				`"default":{"intervalSeconds":0,"retryLimit":0},"exponentialBackoff":{"retryLimit":7}},` +
				`"signature":{"header":"X-Convoy-Signature","hash":"SHA256","format":"simple"},"disable_endpoint":true,` +
				`"replay_attacks":false,"retention_policy":"720h","meta_event":{"is_enabled":true,"url":"https://ops.example.com/meta",` +
				`"secret":"meta-secret","event_types":["endpoint.disabled"]},` +
				`"circuit_breaker":{"failure_threshold":70,"min_requests":10,"window":"1m","cooldown":"30s"},"enforce_event_types":false,"verify_endpoints":false},"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}`,
		},
		{
			name: "created group", method: "POST", path: "/api/v1/groups", body: `{"name":"prod"}`, wantStatus: 201,
			wantKeys: sorted("uid", "name", "config", "created_at", "updated_at"),
		},
		{
			name: "groups list", method: "GET", path: "/api/v1/groups", wantStatus: 200, list: true,
			wantKeys: sorted("uid", "name", "config", "created_at", "updated_at"),
		},
		{
			name: "created api key", method: "POST", path: g + "/keys", body: `{"name":"ci"}`, wantStatus: 201,
			wantJSON: `{"uid":"key-1","name":"ci","role":"admin","key":"CO.secret","expires_at":null,"last_used_at":null,"created_at":"2024-01-02T03:04:05Z"}`,
		},
		{
			name: "api keys list hides the key", method: "GET", path: g + "/keys", wantStatus: 200, list: true,
			wantKeys: sorted("uid", "name", "role", "expires_at", "last_used_at", "created_at"),
		},
		{
			name: "application", method: "GET", path: g + "/applications/app-1", wantStatus: 200,
			wantJSON: `{"uid":"app-1","group_id":"grp-1","name":"billing","support_email":"ops@example.com","is_disabled":false,` +
				`"owner_id":"owner-1","created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}`,
		},
		{
			name: "endpoint", method: "GET", path: g + "/applications/app-1/endpoints/ep-1", wantStatus: 200,
			wantJSON: `{"uid":"ep-1","group_id":"grp-1","app_id":"app-1","url":"https://example.com/hook?a=1&b=2","description":"main",` +
				`"secret":"new-secret","secrets":[{"value":"new-secret","created_at":"2024-01-02T04:05:06.5Z"},` +
				`{"value":"old-secret","created_at":"2024-01-02T03:04:05Z","expires_at":"2024-01-02T05:05:06.5Z"}],` +
				`"events":["*"],"http_timeout":"30s","rate_limit":5000,"rate_limit_duration":"1m","status":"active",` +
				`"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z",` +
				`"circuit":{"state":"half_open","failure_rate":0.8,"opened_at":"2024-01-02T04:05:06.5Z"},` +
				`"filter":{"body":{"amount":{"$gte":100}}},"ordered":false,"forward_trace_context":false,"custom_headers":{},"authentication":null,"signature":null,"verification":null}`,
		},
		{
			name: "event type", method: "GET", path: g + "/event-types/et-1", wantStatus: 200,
			wantJSON: `{"uid":"et-1","group_id":"grp-1","name":"invoice.paid","description":"paid","schema":{"type":"object"},` +
				`"example":null,"deprecated":false,"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T03:04:05Z"}`,
		},
		{
			name: "precheck", method: "POST", path: g + "/events/precheck", body: `{"event_type":"t","data":{}}`, wantStatus: 200,
			wantJSON: `{"endpoints":3}`,
		},
		{
			name: "filter test", method: "POST", path: g + "/filters/test", body: `{"filter":{}}`, wantStatus: 200,
			wantJSON: `{"matches":true}`,
		},
		{
			name: "delivery", method: "GET", path: g + "/eventdeliveries/dlv-1", wantStatus: 200,
			wantJSON: `{"uid":"dlv-1","group_id":"grp-1","event_id":"evt-1","app_id":"app-1","endpoint_id":"ep-1",` +
				`"event_type":"invoice.paid","status":"Retry","description":"endpoint answered 500",` +
				`"metadata":{"num_trials":2,"retry_limit":5,"strategy":"default","interval_seconds":100,"next_send_time":"2024-01-02T04:06:46.5Z"},` +
				`"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}`,
		},
		{
			name: "event", method: "GET", path: g + "/events/evt-1", wantStatus: 200,
			wantJSON: `{"uid":"evt-1","group_id":"grp-1","app_id":"app-1","event_type":"invoice.paid","idempotency_key":"",` +
				`"custom_headers":{},"created_at":"2024-01-02T03:04:05Z","data":{"n":1}}`,
		},
		{
			name: "meta event", method: "GET", path: g + "/meta-events/meta-1", wantStatus: 200,
			wantJSON: `{"uid":"meta-1","group_id":"grp-1","event_type":"endpoint.disabled","status":"Retry",` +
				`"metadata":{"data":{"uid":"ep-1","status":"inactive"},` +
				`"raw":"{\"event_type\":\"endpoint.disabled\",\"data\":{\"uid\":\"ep-1\",\"status\":\"inactive\"},\"created_at\":\"2024-01-02T03:04:05Z\"}",` +
				`"num_trials":1,"retry_limit":5,"next_send_time":"2024-01-02T04:06:46.5Z"},` +
				`"attempts":[{"uid":"att-1","url":"https://ops.example.com/meta","method":"POST","ip_address":"","request_http_header":{},` +
				`"response_http_header":{},"http_status":503,"response_data":"","response_truncated":false,` +
				`"error":"endpoint answered Service Unavailable","status":false,"duration_ms":0,"created_at":"2024-01-02T04:05:06.5Z"}],` +
				`"created_at":"2024-01-02T03:04:05Z","updated_at":"2024-01-02T04:05:06.5Z"}`,
		},
		{
			name: "meta events list has no attempts", method: "GET", path: g + "/meta-events", wantStatus: 200, list: true,
			wantKeys: sorted("uid", "group_id", "event_type", "status", "metadata", "created_at", "updated_at"),
		},
		{
			name: "batch retry", method: "POST", path: g + "/eventdeliveries/batchretry", body: `{"ids":["dlv-1","dlv-2"]}`, wantStatus: 200,
			wantJSON: `{"retried":2,"ids":["dlv-1","dlv-2"]}`,
		},
		{
			name: "force resend", method: "POST", path: g + "/eventdeliveries/forceresend", body: `{"ids":["dlv-9"]}`, wantStatus: 200,
			wantJSON: `{"resent":1,"ids":["dlv-9"]}`,
		},
		{
			name: "force resend of nothing", method: "POST", path: g + "/eventdeliveries/forceresend", body: `{}`, wantStatus: 200,
			wantJSON: `{"resent":0,"ids":[]}`,
		},
		{
			name: "endpoint stats", method: "GET", path: g + "/applications/app-1/endpoints/ep-1/stats?window=10m", wantStatus: 200,
			wantJSON: `{"endpoint_id":"ep-1","window":"10m0s","start":"2024-01-02T03:04:05Z","end":"2024-01-02T03:14:05Z",` +
				`"totals":{"success":98,"failure":1,"timeout":1,"p50":11.89,"p99":101.6},` +
				`"buckets":[{"start":"2024-01-02T03:04:05Z","success":0,"failure":0,"timeout":0,"p50":null,"p99":null},` +
				`{"start":"2024-01-02T03:09:05Z","success":98,"failure":1,"timeout":1,"p50":11.89,"p99":101.6}],` +
				`"last_success_at":"2024-01-02T04:05:06.5Z","last_failure_at":null,"consecutive_failures":2,` +
				`"circuit":{"state":"open","failure_rate":0.75,"opened_at":"2024-01-02T04:05:06.5Z"},"deliveries_pending":3}`,
		},
		{
			name: "dead letters", method: "GET", path: "/api/v1/admin/deadletters", wantStatus: 200, list: true,
			wantKeys: sorted("id", "reason", "error", "subject", "delivery_id", "event_id", "endpoint_id", "group_id", "dead_at", "has_outcome"),
		},
		{
			name: "redrive", method: "POST", path: "/api/v1/admin/deadletters/redrive", body: `{"ids":[1,2]}`, wantStatus: 200,
			wantJSON: `{"redriven":2,"failed":1}`,
		},
		{
			name: "encryption status", method: "GET", path: "/api/v1/admin/encryption", wantStatus: 200,
			wantJSON: `{"active_key_id":"k2","keys":["k2","k1"],"status":"running","rotation_key_id":"k2","total":10,"done":4,` +
				`"started_at":"2024-01-02T03:04:05Z","finished_at":null}`,
		},
		{
			name: "rotate", method: "POST", path: "/api/v1/admin/encryption/rotate", wantStatus: 202,
			wantKeys: sorted("active_key_id", "keys", "status", "rotation_key_id", "total", "done", "started_at", "finished_at"),
		},
		{name: "delete answers null", method: "DELETE", path: g, wantStatus: 200, wantJSON: `null`},
	}
	h := newHarness(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(t, tt.method, tt.path, tt.body, nil)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			env := res.envelope(t)
			if !*env.Status {
				t.Errorf("status = false, want true")
			}
			if got := keysOf(t, res.body); !slices.Equal(got, []string{"data", "message", "status"}) {
				t.Errorf("envelope keys = %v", got)
			}
			data := env.Data
			if tt.list {
				var l struct {
					Content    []json.RawMessage `json:"content"`
					Pagination json.RawMessage   `json:"pagination"`
				}
				if got := keysOf(t, data); !slices.Equal(got, []string{"content", "pagination"}) {
					t.Fatalf("list keys = %v", got)
				}
				if err := json.Unmarshal(data, &l); err != nil || len(l.Content) == 0 {
					t.Fatalf("list content: %v, %d items", err, len(l.Content))
				}
				if got := keysOf(t, l.Pagination); !slices.Equal(got, sorted("per_page", "has_next_page", "next_page_cursor")) {
					t.Errorf("pagination keys = %v", got)
				}
				data = l.Content[0]
			}
			if tt.wantKeys != nil {
				if got := keysOf(t, data); !slices.Equal(got, tt.wantKeys) {
					t.Errorf("keys = %v, want %v", got, tt.wantKeys)
				}
			}
			if tt.wantJSON != "" && string(data) != tt.wantJSON {
				t.Errorf("data =\n%s\nwant\n%s", data, tt.wantJSON)
			}
		})
	}
}

func TestPagination(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name string
		path string
		want string
	}{
		{"ingest page info", "/api/v1/groups?per_page=7", `{"per_page":7,"has_next_page":true,"next_page_cursor":"cursor-2"}`},
		{"default page size", "/api/v1/groups", `{"per_page":20,"has_next_page":true,"next_page_cursor":"cursor-2"}`},
		{"last page", "/api/v1/groups/grp-1/keys?per_page=3", `{"per_page":3,"has_next_page":false,"next_page_cursor":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(t, "GET", tt.path, "", nil)
			var l struct {
				Pagination json.RawMessage `json:"pagination"`
			}
			if err := json.Unmarshal(res.envelope(t).Data, &l); err != nil {
				t.Fatal(err)
			}
			if string(l.Pagination) != tt.want {
				t.Errorf("pagination = %s, want %s", l.Pagination, tt.want)
			}
		})
	}
}

func TestDeliveryWithoutNextSendTime(t *testing.T) {
	d := deliveryOut(&ingestv1.Delivery{Uid: "d", Status: "Success", Metadata: &ingestv1.DeliveryMetadata{NumTrials: 1}})
	b, err := encodeEnvelope(true, "ok", d)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Data struct {
			Metadata map[string]json.RawMessage `json:"metadata"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	if got := string(e.Data.Metadata["next_send_time"]); got != "null" {
		t.Errorf("next_send_time = %s, want null", got)
	}
}

// TestAttemptsOldestFirst checks that attempts come back as a plain array
// sorted by creation time whatever order ingest used.
func TestAttemptsOldestFirst(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.attempts = []*ingestv1.Attempt{
		{Uid: "a3", CreatedAt: timestamppb.New(fixedCreated.Add(2 * time.Minute))},
		{Uid: "a1", CreatedAt: timestamppb.New(fixedCreated), RequestHttpHeader: map[string]string{"X-Convoy-Signature": "abc"},
			HttpStatus: 500, ResponseData: "oops", Error: "", Status: false, DurationMs: 12, Method: "POST", Url: "https://example.com", IpAddress: "93.184.216.34"},
		{Uid: "a2", CreatedAt: timestamppb.New(fixedCreated.Add(time.Minute)), Status: true},
	}
	res := h.do(t, "GET", "/api/v1/groups/grp-1/eventdeliveries/dlv-1/deliveryattempts", "", nil)
	var attempts []map[string]json.RawMessage
	if err := json.Unmarshal(res.envelope(t).Data, &attempts); err != nil {
		t.Fatalf("data is not an array: %v", err)
	}
	var uids []string
	for _, a := range attempts {
		var uid string
		_ = json.Unmarshal(a["uid"], &uid)
		uids = append(uids, uid)
	}
	if !slices.Equal(uids, []string{"a1", "a2", "a3"}) {
		t.Errorf("order = %v, want a1 a2 a3", uids)
	}
	want := sorted("uid", "delivery_id", "url", "method", "ip_address", "request_http_header", "response_http_header",
		"http_status", "response_data", "response_truncated", "error", "status", "duration_ms", "created_at")
	if got := slices.Sorted(maps.Keys(attempts[0])); !slices.Equal(got, want) {
		t.Errorf("attempt keys = %v, want %v", got, want)
	}
	if got := string(attempts[1]["response_http_header"]); got != "{}" {
		t.Errorf("absent headers = %s, want {}", got)
	}
}

func TestEmptyListIsArray(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.events = nil
	res := h.do(t, "GET", "/api/v1/groups/grp-1/events", "", nil)
	var l struct {
		Content json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(res.envelope(t).Data, &l); err != nil {
		t.Fatal(err)
	}
	if string(l.Content) != "[]" {
		t.Errorf("content = %s, want []", l.Content)
	}
}

// An endpoint whose health ingest could not read still answers, with a null
// circuit rather than a made-up closed one.
func TestEndpointWithoutCircuitShowsNull(t *testing.T) {
	e := sampleEndpoint()
	e.Circuit = nil
	b, err := json.Marshal(endpointOut(e))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"circuit":null`) {
		t.Fatalf("endpoint = %s, want \"circuit\":null", b)
	}
}
