package httpapi

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ptr[T any](v T) *T { return &v }

func defaultPage() *ingestv1.PageRequest { return &ingestv1.PageRequest{PerPage: 20} }

// TestRoutesCallIngest checks that every API route calls the right RPC
// with the right fields and forwards the caller's credentials.
func TestRoutesCallIngest(t *testing.T) {
	const (
		g   = "/api/v1/groups/grp-1"
		app = g + "/applications/app-1"
		ep  = app + "/endpoints/ep-1"
		dl  = g + "/eventdeliveries"
	)
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		header     map[string]string
		wantStatus int
		wantRPC    string
		wantReq    proto.Message
	}{
		{
			name: "create group with partial config", method: "POST", path: "/api/v1/groups",
			body:       `{"name":"prod","config":{"strategy":{"type":"default","retry_count":3},"signature":{"hash":"SHA512"},"replay_attacks":false}}`,
			wantStatus: 201, wantRPC: "CreateGroup",
			wantReq: &ingestv1.CreateGroupRequest{Name: "prod", Config: &ingestv1.GroupConfigInput{
				StrategyType: ptr("default"), RetryCount: ptr(int32(3)), SignatureHash: ptr("SHA512"), ReplayAttacks: ptr(false),
			}},
		},
		{
			name: "create group without config", method: "POST", path: "/api/v1/groups", body: `{"name":"prod"}`,
			wantStatus: 201, wantRPC: "CreateGroup", wantReq: &ingestv1.CreateGroupRequest{Name: "prod"},
		},
		{
			name: "list groups with paging", method: "GET", path: "/api/v1/groups?per_page=5&next_page_cursor=abc",
			wantStatus: 200, wantRPC: "ListGroups",
			wantReq: &ingestv1.ListGroupsRequest{Page: &ingestv1.PageRequest{PerPage: 5, Cursor: "abc"}},
		},
		{
			name: "get group", method: "GET", path: g,
			wantStatus: 200, wantRPC: "GetGroup", wantReq: &ingestv1.GetGroupRequest{GroupId: "grp-1"},
		},
		{
			name: "update group name only", method: "PUT", path: g, body: `{"name":"staging"}`,
			wantStatus: 200, wantRPC: "UpdateGroup", wantReq: &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Name: ptr("staging")},
		},
		{
			name: "update group config fields", method: "PUT", path: g,
			body:       `{"config":{"strategy":{"duration":60},"signature":{"header":"X-Sig","format":"advanced"},"disable_endpoint":true,"retention_policy":"24h"}}`,
			wantStatus: 200, wantRPC: "UpdateGroup",
			wantReq: &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Config: &ingestv1.GroupConfigInput{
				StrategyDuration: ptr(int64(60)), SignatureHeader: ptr("X-Sig"), SignatureFormat: ptr("advanced"),
				DisableEndpoint: ptr(true), RetentionPolicy: ptr("24h"),
			}},
		},
		{
			name: "delete group", method: "DELETE", path: g,
			wantStatus: 200, wantRPC: "DeleteGroup", wantReq: &ingestv1.DeleteGroupRequest{GroupId: "grp-1"},
		},
		{
			name: "create api key", method: "POST", path: g + "/keys", body: `{"name":"ci"}`,
			wantStatus: 201, wantRPC: "CreateAPIKey", wantReq: &ingestv1.CreateAPIKeyRequest{GroupId: "grp-1", Name: "ci"},
		},
		{
			name: "list api keys", method: "GET", path: g + "/keys",
			wantStatus: 200, wantRPC: "ListAPIKeys", wantReq: &ingestv1.ListAPIKeysRequest{GroupId: "grp-1", Page: defaultPage()},
		},
		{
			name: "revoke api key", method: "DELETE", path: g + "/keys/key-1",
			wantStatus: 200, wantRPC: "RevokeAPIKey", wantReq: &ingestv1.RevokeAPIKeyRequest{GroupId: "grp-1", KeyId: "key-1"},
		},
		{
			name: "create application", method: "POST", path: g + "/applications",
			body:       `{"name":"billing","secret":"s3cret","support_email":"ops@example.com"}`,
			wantStatus: 201, wantRPC: "CreateApplication",
			wantReq: &ingestv1.CreateApplicationRequest{GroupId: "grp-1", Name: "billing", Secret: "s3cret", SupportEmail: "ops@example.com"},
		},
		{
			name: "list applications", method: "GET", path: g + "/applications?per_page=100",
			wantStatus: 200, wantRPC: "ListApplications",
			wantReq: &ingestv1.ListApplicationsRequest{GroupId: "grp-1", Page: &ingestv1.PageRequest{PerPage: 100}},
		},
		{
			name: "search applications by name", method: "GET", path: g + "/applications?q=bill&next_page_cursor=c",
			wantStatus: 200, wantRPC: "ListApplications",
			wantReq: &ingestv1.ListApplicationsRequest{GroupId: "grp-1", NameContains: "bill", Page: &ingestv1.PageRequest{PerPage: 20, Cursor: "c"}},
		},
		{
			name: "get application", method: "GET", path: app,
			wantStatus: 200, wantRPC: "GetApplication", wantReq: &ingestv1.GetApplicationRequest{GroupId: "grp-1", AppId: "app-1"},
		},
		{
			name: "update application", method: "PUT", path: app, body: `{"support_email":"new@example.com"}`,
			wantStatus: 200, wantRPC: "UpdateApplication",
			wantReq: &ingestv1.UpdateApplicationRequest{GroupId: "grp-1", AppId: "app-1", SupportEmail: ptr("new@example.com")},
		},
		{
			name: "delete application", method: "DELETE", path: app,
			wantStatus: 200, wantRPC: "DeleteApplication", wantReq: &ingestv1.DeleteApplicationRequest{GroupId: "grp-1", AppId: "app-1"},
		},
		{
			name: "create endpoint", method: "POST", path: app + "/endpoints",
			body:       `{"url":"https://example.com/hook","description":"main","secret":"s","events":["a","b"],"http_timeout":"30s","rate_limit":5000,"rate_limit_duration":"1m","custom_headers":{"X-Api-Key":"k"}}`,
			wantStatus: 201, wantRPC: "CreateEndpoint",
			wantReq: &ingestv1.CreateEndpointRequest{GroupId: "grp-1", AppId: "app-1", Url: "https://example.com/hook", Description: "main",
				Secret: "s", Events: []string{"a", "b"}, HttpTimeout: "30s", RateLimit: 5000, RateLimitDuration: "1m", CustomHeaders: map[string]string{"X-Api-Key": "k"}},
		},
		{
			name: "list endpoints", method: "GET", path: app + "/endpoints",
			wantStatus: 200, wantRPC: "ListEndpoints",
			wantReq: &ingestv1.ListEndpointsRequest{GroupId: "grp-1", AppId: "app-1", Page: defaultPage()},
		},
		{
			name: "get endpoint", method: "GET", path: ep,
			wantStatus: 200, wantRPC: "GetEndpoint",
			wantReq: &ingestv1.GetEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"},
		},
		{
			name: "update endpoint with events", method: "PUT", path: ep,
			body:       `{"url":"https://example.com/v2","events":["x"],"rate_limit":10,"status":"active"}`,
			wantStatus: 200, wantRPC: "UpdateEndpoint",
			wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1",
				Url: ptr("https://example.com/v2"), SetEvents: true, Events: []string{"x"}, RateLimit: ptr(int32(10)), Status: ptr("active")},
		},
		{
			name: "update endpoint custom headers", method: "PUT", path: ep, body: `{"custom_headers":{"X-Region":"eu"}}`,
			wantStatus: 200, wantRPC: "UpdateEndpoint",
			wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", SetCustomHeaders: true, CustomHeaders: map[string]string{"X-Region": "eu"}},
		},
		{
			name: "update endpoint removing custom headers", method: "PUT", path: ep, body: `{"custom_headers":{}}`,
			wantStatus: 200, wantRPC: "UpdateEndpoint",
			wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", SetCustomHeaders: true},
		},
		{
			name: "update endpoint clearing events", method: "PUT", path: ep, body: `{"events":[]}`,
			wantStatus: 200, wantRPC: "UpdateEndpoint",
			wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", SetEvents: true},
		},
		{
			name: "update endpoint without events", method: "PUT", path: ep,
			body:       `{"description":"","http_timeout":"10s","rate_limit_duration":"1h"}`,
			wantStatus: 200, wantRPC: "UpdateEndpoint",
			wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1",
				Description: ptr(""), HttpTimeout: ptr("10s"), RateLimitDuration: ptr("1h")},
		},
		{
			name: "delete endpoint", method: "DELETE", path: ep,
			wantStatus: 200, wantRPC: "DeleteEndpoint",
			wantReq: &ingestv1.DeleteEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"},
		},
		{
			name: "expire secret", method: "POST", path: ep + "/expire_secret", body: `{"secret":"next","expiration":3600}`,
			wantStatus: 200, wantRPC: "ExpireSecret",
			wantReq: &ingestv1.ExpireSecretRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", Secret: "next", Expiration: 3600},
		},
		{
			name: "send test event with defaults", method: "POST", path: ep + "/test",
			wantStatus: 201, wantRPC: "SendTestEvent",
			wantReq: &ingestv1.SendTestEventRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"},
		},
		{
			name: "send test event", method: "POST", path: ep + "/test", body: `{"event_type":"ping","data":{"a":1}}`,
			wantStatus: 201, wantRPC: "SendTestEvent",
			wantReq: &ingestv1.SendTestEventRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", EventType: "ping", Data: []byte(`{"a":1}`)},
		},
		{
			name: "endpoint public key", method: "GET", path: ep + "/public_key",
			wantStatus: 200, wantRPC: "GetEndpointPublicKey",
			wantReq: &ingestv1.GetEndpointPublicKeyRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"},
		},
		{
			name: "endpoint signature override and removal", method: "PUT", path: ep, body: `{"signature": null}`,
			wantStatus: 200, wantRPC: "UpdateEndpoint",
			wantReq: &ingestv1.UpdateEndpointRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", RemoveSignature: true},
		},
		{
			name: "endpoint stats", method: "GET", path: ep + "/stats?window=1h",
			wantStatus: 200, wantRPC: "GetEndpointStats",
			wantReq: &ingestv1.GetEndpointStatsRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1", Window: "1h"},
		},
		{
			name: "endpoint stats with the default window", method: "GET", path: ep + "/stats",
			wantStatus: 200, wantRPC: "GetEndpointStats",
			wantReq: &ingestv1.GetEndpointStatsRequest{GroupId: "grp-1", AppId: "app-1", EndpointId: "ep-1"},
		},
		{
			name: "create event", method: "POST", path: g + "/events",
			body:       `{"app_id":"app-1","event_type":"invoice.paid","data":{"amount":10},"idempotency_key":"k1","custom_headers":{"X-Tenant":"t1"}}`,
			wantStatus: 201, wantRPC: "CreateEvent",
			wantReq: &ingestv1.CreateEventRequest{GroupId: "grp-1", AppId: "app-1", EventType: "invoice.paid", Data: []byte(`{"amount":10}`),
				IdempotencyKey: "k1", CustomHeaders: map[string]string{"X-Tenant": "t1"}},
		},
		{
			name: "create event idempotency key from header", method: "POST", path: g + "/events",
			body: `{"app_id":"app-1","event_type":"t","data":1}`, header: map[string]string{"Idempotency-Key": "hdr-key"},
			wantStatus: 201, wantRPC: "CreateEvent",
			wantReq: &ingestv1.CreateEventRequest{GroupId: "grp-1", AppId: "app-1", EventType: "t", Data: []byte(`1`), IdempotencyKey: "hdr-key"},
		},
		{
			name: "create event body key wins over header", method: "POST", path: g + "/events",
			body: `{"app_id":"app-1","event_type":"t","data":1,"idempotency_key":"body-key"}`, header: map[string]string{"Idempotency-Key": "hdr-key"},
			wantStatus: 201, wantRPC: "CreateEvent",
			wantReq: &ingestv1.CreateEventRequest{GroupId: "grp-1", AppId: "app-1", EventType: "t", Data: []byte(`1`), IdempotencyKey: "body-key"},
		},
		{
			name: "create event without data sends empty bytes", method: "POST", path: g + "/events",
			body:       `{"app_id":"app-1","event_type":"t"}`,
			wantStatus: 201, wantRPC: "CreateEvent",
			wantReq: &ingestv1.CreateEventRequest{GroupId: "grp-1", AppId: "app-1", EventType: "t"},
		},
		{
			name: "list events with filters", method: "GET",
			path:       g + "/events?app_id=app-1&event_type=invoice.paid&start_date=2024-01-01T00:00:00Z&end_date=2024-01-31T23:59:59.5%2B02:00&per_page=50",
			wantStatus: 200, wantRPC: "ListEvents",
			wantReq: &ingestv1.ListEventsRequest{GroupId: "grp-1", AppId: "app-1", EventType: "invoice.paid",
				StartDate: timestamppb.New(mustTime(t, "2024-01-01T00:00:00Z")), EndDate: timestamppb.New(mustTime(t, "2024-01-31T21:59:59.5Z")),
				Page: &ingestv1.PageRequest{PerPage: 50}},
		},
		{
			name: "get event", method: "GET", path: g + "/events/evt-1",
			wantStatus: 200, wantRPC: "GetEvent", wantReq: &ingestv1.GetEventRequest{GroupId: "grp-1", EventId: "evt-1"},
		},
		{
			name: "list deliveries with repeated and comma-separated status", method: "GET",
			path:       dl + "?event_id=evt-1&app_id=app-1&endpoint_id=ep-1&status=Failure&status=Retry,%20Discarded,&next_page_cursor=c2",
			wantStatus: 200, wantRPC: "ListDeliveries",
			wantReq: &ingestv1.ListDeliveriesRequest{GroupId: "grp-1",
				Filter: &ingestv1.DeliveryFilter{EventId: "evt-1", AppId: "app-1", EndpointId: "ep-1", Status: []string{"Failure", "Retry", "Discarded"}},
				Page:   &ingestv1.PageRequest{PerPage: 20, Cursor: "c2"}},
		},
		{
			name: "list deliveries by event type and time", method: "GET",
			path:       dl + "?event_type=invoice.paid&start_date=2024-01-01T00:00:00Z&end_date=2024-01-31T23:59:59.5%2B02:00",
			wantStatus: 200, wantRPC: "ListDeliveries",
			wantReq: &ingestv1.ListDeliveriesRequest{GroupId: "grp-1",
				Filter: &ingestv1.DeliveryFilter{EventType: "invoice.paid",
					StartDate: timestamppb.New(mustTime(t, "2024-01-01T00:00:00Z")), EndDate: timestamppb.New(mustTime(t, "2024-01-31T21:59:59.5Z"))},
				Page: &ingestv1.PageRequest{PerPage: 20}},
		},
		{
			name: "get delivery", method: "GET", path: dl + "/dlv-1",
			wantStatus: 200, wantRPC: "GetDelivery", wantReq: &ingestv1.GetDeliveryRequest{GroupId: "grp-1", DeliveryId: "dlv-1"},
		},
		{
			name: "list attempts", method: "GET", path: dl + "/dlv-1/deliveryattempts",
			wantStatus: 200, wantRPC: "ListAttempts", wantReq: &ingestv1.ListAttemptsRequest{GroupId: "grp-1", DeliveryId: "dlv-1"},
		},
		{
			name: "resend delivery", method: "PUT", path: dl + "/dlv-1/resend",
			wantStatus: 200, wantRPC: "ResendDelivery", wantReq: &ingestv1.ResendDeliveryRequest{GroupId: "grp-1", DeliveryId: "dlv-1"},
		},
		{
			name: "batch retry by ids", method: "POST", path: dl + "/batchretry",
			body:       `{"ids":["dlv-1","dlv-2"]}`,
			wantStatus: 200, wantRPC: "BatchRetryDeliveries",
			wantReq: &ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Ids: []string{"dlv-1", "dlv-2"}},
		},
		{
			name: "count for batch retry", method: "GET", path: dl + "/countbatchretryevents?app_id=app-1&start_date=2024-01-02T03:04:05Z",
			wantStatus: 200, wantRPC: "CountBatchRetryDeliveries",
			wantReq: &ingestv1.CountBatchRetryDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "app-1", StartDate: timestamppb.New(fixedCreated)}},
		},
		{
			name: "count by status", method: "GET", path: dl + "/counts?app_id=app-1&event_type=invoice.paid&end_date=2024-01-02T03:04:05Z",
			wantStatus: 200, wantRPC: "CountDeliveries",
			wantReq: &ingestv1.CountDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "app-1", EventType: "invoice.paid", EndDate: timestamppb.New(fixedCreated)}},
		},
		{
			name: "get attempt", method: "GET", path: dl + "/dlv-1/deliveryattempts/att-1",
			wantStatus: 200, wantRPC: "GetAttempt", wantReq: &ingestv1.GetAttemptRequest{GroupId: "grp-1", DeliveryId: "dlv-1", AttemptId: "att-1"},
		},
		{
			name: "list groups by name", method: "GET", path: "/api/v1/groups?name=prod",
			wantStatus: 200, wantRPC: "ListGroups", wantReq: &ingestv1.ListGroupsRequest{Name: "prod", Page: defaultPage()},
		},
		{
			name: "batch retry without body uses query filters", method: "POST", path: dl + "/batchretry?endpoint_id=ep-1&status=Failure,Discarded",
			wantStatus: 200, wantRPC: "BatchRetryDeliveries",
			wantReq: &ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1",
				Filter: &ingestv1.DeliveryFilter{EndpointId: "ep-1", Status: []string{"Failure", "Discarded"}}},
		},
		{
			name: "batch retry with empty ids uses query filters", method: "POST", path: dl + "/batchretry?app_id=app-1",
			body:       `{"ids":[]}`,
			wantStatus: 200, wantRPC: "BatchRetryDeliveries",
			wantReq: &ingestv1.BatchRetryDeliveriesRequest{GroupId: "grp-1", Filter: &ingestv1.DeliveryFilter{AppId: "app-1"}},
		},
		{
			name: "force resend", method: "POST", path: dl + "/forceresend", body: `{"ids":["dlv-3"]}`,
			wantStatus: 200, wantRPC: "ForceResendDeliveries",
			wantReq: &ingestv1.ForceResendDeliveriesRequest{GroupId: "grp-1", Ids: []string{"dlv-3"}},
		},
		{
			name: "update group meta event config", method: "PUT", path: g,
			body:       `{"config":{"meta_event":{"is_enabled":true,"url":"https://ops.example.com/meta","event_types":["endpoint.disabled"]}}}`,
			wantStatus: 200, wantRPC: "UpdateGroup",
			wantReq: &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Config: &ingestv1.GroupConfigInput{
				MetaEventIsEnabled: ptr(true), MetaEventUrl: ptr("https://ops.example.com/meta"),
				SetMetaEventTypes: true, MetaEventTypes: []string{"endpoint.disabled"},
			}},
		},
		{
			name: "create group with a circuit breaker", method: "POST", path: "/api/v1/groups",
			body:       `{"name":"p","config":{"circuit_breaker":{"failure_threshold":50,"min_requests":4,"window":"30s","cooldown":"3s"}}}`,
			wantStatus: 201, wantRPC: "CreateGroup",
			wantReq: &ingestv1.CreateGroupRequest{Name: "p", Config: &ingestv1.GroupConfigInput{
				CircuitBreakerFailureThreshold: ptr[int32](50), CircuitBreakerMinRequests: ptr[int32](4),
				CircuitBreakerWindow: ptr("30s"), CircuitBreakerCooldown: ptr("3s"),
			}},
		},
		{
			name: "update group circuit breaker cooldown only", method: "PUT", path: g,
			body:       `{"config":{"circuit_breaker":{"cooldown":"1m"}}}`,
			wantStatus: 200, wantRPC: "UpdateGroup",
			wantReq: &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Config: &ingestv1.GroupConfigInput{CircuitBreakerCooldown: ptr("1m")}},
		},
		{
			name: "update group meta event secret only", method: "PUT", path: g,
			body:       `{"config":{"meta_event":{"secret":"my-meta-secret"}}}`,
			wantStatus: 200, wantRPC: "UpdateGroup",
			wantReq: &ingestv1.UpdateGroupRequest{GroupId: "grp-1", Config: &ingestv1.GroupConfigInput{MetaEventSecret: ptr("my-meta-secret")}},
		},
		{
			name: "list meta events", method: "GET", path: g + "/meta-events?per_page=3&next_page_cursor=c",
			wantStatus: 200, wantRPC: "ListMetaEvents",
			wantReq: &ingestv1.ListMetaEventsRequest{GroupId: "grp-1", Page: &ingestv1.PageRequest{PerPage: 3, Cursor: "c"}},
		},
		{
			name: "get meta event", method: "GET", path: g + "/meta-events/meta-1",
			wantStatus: 200, wantRPC: "GetMetaEvent", wantReq: &ingestv1.GetMetaEventRequest{GroupId: "grp-1", MetaEventId: "meta-1"},
		},
		{
			name: "resend meta event", method: "PUT", path: g + "/meta-events/meta-1/resend",
			wantStatus: 200, wantRPC: "ResendMetaEvent", wantReq: &ingestv1.ResendMetaEventRequest{GroupId: "grp-1", MetaEventId: "meta-1"},
		},
		{
			name: "broadcast event", method: "POST", path: g + "/events/broadcast", body: `{"event_type":"invoice.paid","data":{"a":1}}`,
			header: map[string]string{"Idempotency-Key": "k-1"}, wantStatus: 201, wantRPC: "BroadcastEvent",
			wantReq: &ingestv1.BroadcastEventRequest{GroupId: "grp-1", EventType: "invoice.paid", Data: []byte(`{"a":1}`), IdempotencyKey: "k-1"},
		},
		{
			name: "fanout event", method: "POST", path: g + "/events/fanout", body: `{"owner_id":"o-1","event_type":"invoice.paid","data":[1],"idempotency_key":"k-2"}`,
			wantStatus: 201, wantRPC: "FanoutEvent",
			wantReq: &ingestv1.FanoutEventRequest{GroupId: "grp-1", OwnerId: "o-1", EventType: "invoice.paid", Data: []byte(`[1]`), IdempotencyKey: "k-2"},
		},
		{
			name: "precheck a fanout", method: "POST", path: g + "/events/precheck", body: `{"owner_id":"o-1","event_type":"t","data":{}}`,
			wantStatus: 200, wantRPC: "PrecheckEvent",
			wantReq: &ingestv1.PrecheckEventRequest{GroupId: "grp-1", Kind: &ingestv1.PrecheckEventRequest_Fanout{Fanout: &ingestv1.FanoutEventRequest{OwnerId: "o-1", EventType: "t", Data: []byte(`{}`)}}},
		},
		{
			name: "test filter", method: "POST", path: g + "/filters/test", body: `{"filter":{"body":{"a":1}},"payload":{"a":1},"headers":{"X-A":"b"}}`,
			wantStatus: 200, wantRPC: "TestFilter",
			wantReq: &ingestv1.TestFilterRequest{GroupId: "grp-1", Filter: []byte(`{"body":{"a":1}}`), Payload: []byte(`{"a":1}`), Headers: map[string]string{"X-A": "b"}},
		},
		{
			name: "create event type", method: "POST", path: g + "/event-types", body: `{"name":"invoice.paid","schema":{"type":"object"},"deprecated":true}`,
			wantStatus: 201, wantRPC: "CreateEventType",
			wantReq: &ingestv1.CreateEventTypeRequest{GroupId: "grp-1", Name: "invoice.paid", Schema: []byte(`{"type":"object"}`), Deprecated: true},
		},
		{
			name: "list event types", method: "GET", path: g + "/event-types?per_page=5",
			wantStatus: 200, wantRPC: "ListEventTypes", wantReq: &ingestv1.ListEventTypesRequest{GroupId: "grp-1", Page: &ingestv1.PageRequest{PerPage: 5}},
		},
		{
			name: "get event type", method: "GET", path: g + "/event-types/et-1",
			wantStatus: 200, wantRPC: "GetEventType", wantReq: &ingestv1.GetEventTypeRequest{GroupId: "grp-1", EventTypeId: "et-1"},
		},
		{
			name: "update event type removes the schema", method: "PUT", path: g + "/event-types/et-1", body: `{"description":"d","schema":null}`,
			wantStatus: 200, wantRPC: "UpdateEventType",
			wantReq: &ingestv1.UpdateEventTypeRequest{GroupId: "grp-1", EventTypeId: "et-1", Description: ptr("d"), Schema: []byte(`null`)},
		},
		{
			name: "delete event type", method: "DELETE", path: g + "/event-types/et-1",
			wantStatus: 200, wantRPC: "DeleteEventType", wantReq: &ingestv1.DeleteEventTypeRequest{GroupId: "grp-1", EventTypeId: "et-1"},
		},
		{
			name: "list dead letters", method: "GET", path: "/api/v1/admin/deadletters?per_page=50&next_page_cursor=8",
			wantStatus: 200, wantRPC: "ListDeadLetters",
			wantReq: &ingestv1.ListDeadLettersRequest{Page: &ingestv1.PageRequest{PerPage: 50, Cursor: "8"}},
		},
		{
			name: "redrive dead letters by id", method: "POST", path: "/api/v1/admin/deadletters/redrive", body: `{"ids":[3,9]}`,
			wantStatus: 200, wantRPC: "RedriveDeadLetters", wantReq: &ingestv1.RedriveDeadLettersRequest{Ids: []uint64{3, 9}},
		},
		{
			name: "redrive every dead letter", method: "POST", path: "/api/v1/admin/deadletters/redrive", body: `{}`,
			wantStatus: 200, wantRPC: "RedriveDeadLetters", wantReq: &ingestv1.RedriveDeadLettersRequest{},
		},
		{
			name: "encryption status", method: "GET", path: "/api/v1/admin/encryption",
			wantStatus: 200, wantRPC: "GetEncryptionStatus", wantReq: &ingestv1.GetEncryptionStatusRequest{},
		},
		{
			name: "rotate encryption key", method: "POST", path: "/api/v1/admin/encryption/rotate",
			wantStatus: 202, wantRPC: "RotateEncryptionKey", wantReq: &ingestv1.RotateEncryptionKeyRequest{},
		},
		{
			name: "create portal link", method: "POST", path: app + "/portal_links",
			body:       `{"expires_in":"7d","can_manage_endpoints":true,"frame_ancestors":["'self'","https://app.example.com"]}`,
			wantStatus: 201, wantRPC: "CreatePortalLink",
			wantReq: &ingestv1.CreatePortalLinkRequest{GroupId: "grp-1", AppId: "app-1", ExpiresIn: "7d", CanManageEndpoints: true, FrameAncestors: []string{"'self'", "https://app.example.com"}},
		},
		{
			name: "create portal link with the defaults", method: "POST", path: app + "/portal_links",
			wantStatus: 201, wantRPC: "CreatePortalLink", wantReq: &ingestv1.CreatePortalLinkRequest{GroupId: "grp-1", AppId: "app-1"},
		},
		{
			name: "list portal links", method: "GET", path: app + "/portal_links?per_page=5",
			wantStatus: 200, wantRPC: "ListPortalLinks",
			wantReq: &ingestv1.ListPortalLinksRequest{GroupId: "grp-1", AppId: "app-1", Page: &ingestv1.PageRequest{PerPage: 5}},
		},
		{
			name: "revoke portal link", method: "DELETE", path: app + "/portal_links/pl-1",
			wantStatus: 200, wantRPC: "RevokePortalLink", wantReq: &ingestv1.RevokePortalLinkRequest{GroupId: "grp-1", AppId: "app-1", PortalLinkId: "pl-1"},
		},
		{
			name: "portal session", method: "GET", path: "/api/v1/portal/session",
			wantStatus: 200, wantRPC: "GetPortalSession", wantReq: &ingestv1.GetPortalSessionRequest{},
		},
		{
			name: "group audit log", method: "GET", path: g + "/audit_log?per_page=10&next_page_cursor=c",
			wantStatus: 200, wantRPC: "ListAuditLog",
			wantReq: &ingestv1.ListAuditLogRequest{GroupId: "grp-1", Page: &ingestv1.PageRequest{PerPage: 10, Cursor: "c"}},
		},
		{
			name: "every group's audit log", method: "GET", path: "/api/v1/admin/audit_log",
			wantStatus: 200, wantRPC: "ListAuditLog", wantReq: &ingestv1.ListAuditLogRequest{Page: defaultPage()},
		},
		{
			name: "create read-only key that expires", method: "POST", path: g + "/keys",
			body:       `{"name":"ro","role":"read_only","expires_at":"2030-01-02T03:04:05Z"}`,
			wantStatus: 201, wantRPC: "CreateAPIKey",
			wantReq: &ingestv1.CreateAPIKeyRequest{GroupId: "grp-1", Name: "ro", Role: "read_only", ExpiresAt: timestamppb.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))},
		},
		{
			name: "convoy: create read-only key", method: "POST", path: "/api/v1/security/keys",
			body:       `{"name":"ro","role":{"type":"read_only","groups":["grp-1"]},"expires_at":"2030-01-02T03:04:05Z"}`,
			wantStatus: 200, wantRPC: "CreateAPIKey",
			wantReq: &ingestv1.CreateAPIKeyRequest{GroupId: "grp-1", Name: "ro", Role: "read_only", ExpiresAt: timestamppb.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))},
		},
	}

	h := newHarness(t, Options{})
	covered := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.fake.recorded())
			header := map[string]string{"Authorization": "Bearer group-key", "X-Request-ID": "req-" + tt.wantRPC}
			for k, v := range tt.header {
				header[k] = v
			}
			res := h.do(t, tt.method, tt.path, tt.body, header)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			env := res.envelope(t)
			if !*env.Status || *env.Message == "" {
				t.Errorf("envelope status=%v message=%q, want true and a message", *env.Status, *env.Message)
			}
			calls := h.fake.recorded()[before:]
			if len(calls) != 1 {
				t.Fatalf("ingest got %d calls, want 1", len(calls))
			}
			c := calls[0]
			if c.method != tt.wantRPC {
				t.Errorf("RPC = %s, want %s", c.method, tt.wantRPC)
			}
			if !proto.Equal(c.req, tt.wantReq) {
				t.Errorf("request mismatch\n got: %s\nwant: %s", prototext.Format(c.req), prototext.Format(tt.wantReq))
			}
			if got := c.md.Get("authorization"); !slices.Equal(got, []string{"Bearer group-key"}) {
				t.Errorf("authorization metadata = %q, want the header value", got)
			}
			if got := c.md.Get("x-request-id"); !slices.Equal(got, []string{header["X-Request-ID"]}) {
				t.Errorf("x-request-id metadata = %q, want %q", got, header["X-Request-ID"])
			}

			req, _ := http.NewRequest(tt.method, "http://gw"+tt.path, nil)
			if _, pattern := h.api.mux.Handler(req); pattern != "" {
				covered[pattern] = true
			}
		})
	}

	for _, rt := range routes() {
		if rt.public() || strings.HasPrefix(rt.operationID, "convoy") {
			continue // Convoy's routes: TestConvoyRoutesCallIngest
		}
		if p := rt.method + " " + rt.path; !covered[p] {
			t.Errorf("route %s has no case in TestRoutesCallIngest", p)
		}
	}
}

// Only the health checks and the API document are open without
// credentials; everything under /api/v1/groups and /api/v1/admin forwards
// the caller's, and a prefix match needs a whole path segment.
func TestRoutePublic(t *testing.T) {
	for path, want := range map[string]bool{
		"/health": true, "/api/v1/openapi.json": true,
		"/api/v1/groups": false, "/api/v1/groups/{group_id}/keys": false,
		"/api/v1/admin": false, "/api/v1/admin/deadletters": false, "/api/v1/admin/deadletters/redrive": false,
		"/api/v1/administrator": true, "/api/v1/groupsx": true,
	} {
		if got := (route{path: path}).public(); got != want {
			t.Errorf("public(%s) = %v, want %v", path, got, want)
		}
	}
	for _, rt := range routes() {
		if rt.public() && rt.path != "/health" && rt.path != "/api/v1/openapi.json" {
			t.Errorf("route %s %s is open without credentials", rt.method, rt.path)
		}
	}
}

// The admin routes fail closed: without a key, ingest sees none and answers
// Unauthenticated, which the gateway maps to 401.
func TestAdminRoutesForwardNoCredentialsWhenAbsent(t *testing.T) {
	h := newHarness(t, Options{})
	h.fake.setErr(status.Error(codes.Unauthenticated, "missing API key"))
	for _, r := range []struct{ method, path string }{{"GET", "/api/v1/admin/deadletters"}, {"POST", "/api/v1/admin/deadletters/redrive"}, {"GET", "/api/v1/admin/encryption"}, {"POST", "/api/v1/admin/encryption/rotate"}} {
		before := len(h.fake.recorded())
		res := h.do(t, r.method, r.path, "", nil)
		if res.status != http.StatusUnauthorized {
			t.Errorf("%s %s without a key = %d, want 401", r.method, r.path, res.status)
		}
		calls := h.fake.recorded()[before:]
		if len(calls) != 1 || len(calls[0].md.Get("authorization")) != 0 {
			t.Errorf("%s %s: calls %v, want one without authorization", r.method, r.path, calls)
		}
	}
}

func TestAuthorizationOmittedWhenAbsent(t *testing.T) {
	h := newHarness(t, Options{})
	h.do(t, "GET", "/api/v1/groups/grp-1", "", nil)
	calls := h.fake.recorded()
	if len(calls) != 1 {
		t.Fatalf("ingest got %d calls, want 1", len(calls))
	}
	if got := calls[0].md.Get("authorization"); len(got) != 0 {
		t.Errorf("authorization metadata = %q, want none", got)
	}
}
