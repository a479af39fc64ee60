package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	ingestv1 "convoy/proto/convoy/ingest/v1"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// fakeIngest is a hand-written IngestService that records every call and
// answers canned values, or err when set.
type fakeIngest struct {
	ingestv1.UnimplementedIngestServiceServer

	mu    sync.Mutex
	calls []recordedCall
	err   error
	// events is what ListEvents and GetEvent answer; CreateEvent echoes.
	events []*ingestv1.Event
	// attempts is what ListAttempts answers.
	attempts []*ingestv1.Attempt
}

type recordedCall struct {
	method string
	req    proto.Message
	md     metadata.MD
}

func record[Resp any](ctx context.Context, f *fakeIngest, method string, req proto.Message, resp Resp) (Resp, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, recordedCall{method: method, req: proto.Clone(req), md: md})
	if f.err != nil {
		var zero Resp
		return zero, f.err
	}
	return resp, nil
}

func (f *fakeIngest) recorded() []recordedCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recordedCall(nil), f.calls...)
}

func (f *fakeIngest) setErr(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.err = err
}

var (
	fixedCreated = time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	fixedUpdated = time.Date(2024, 1, 2, 4, 5, 6, 500_000_000, time.UTC)
)

func sampleGroup() *ingestv1.Group {
	return &ingestv1.Group{
		Uid:  "grp-1",
		Name: "prod",
		Config: &ingestv1.GroupConfig{
			Strategy:        &ingestv1.StrategyConfig{Type: "exponential-backoff", Duration: 10, RetryCount: 7},
			Signature:       &ingestv1.SignatureConfig{Header: "X-Convoy-Signature", Hash: "SHA256", Format: "simple"},
			DisableEndpoint: true,
			RetentionPolicy: "720h",
			MetaEvent: &ingestv1.MetaEventConfig{IsEnabled: true, Url: "https://ops.example.com/meta", Secret: "meta-secret",
				EventTypes: []string{"endpoint.disabled"}},
			CircuitBreaker: &ingestv1.CircuitBreakerConfig{FailureThreshold: 70, MinRequests: 10, Window: "1m", Cooldown: "30s"},
		},
		CreatedAt: timestamppb.New(fixedCreated),
		UpdatedAt: timestamppb.New(fixedUpdated),
	}
}

func sampleApp() *ingestv1.Application {
	return &ingestv1.Application{Uid: "app-1", GroupId: "grp-1", Name: "billing", SupportEmail: "ops@example.com", OwnerId: "owner-1",
		CreatedAt: timestamppb.New(fixedCreated), UpdatedAt: timestamppb.New(fixedUpdated)}
}

func sampleEndpoint() *ingestv1.Endpoint {
	return &ingestv1.Endpoint{
		Uid: "ep-1", GroupId: "grp-1", AppId: "app-1", Url: "https://example.com/hook?a=1&b=2", Description: "main",
		Secret: "new-secret",
		Secrets: []*ingestv1.EndpointSecret{
			{Value: "new-secret", CreatedAt: timestamppb.New(fixedUpdated)},
			{Value: "old-secret", CreatedAt: timestamppb.New(fixedCreated), ExpiresAt: timestamppb.New(fixedUpdated.Add(time.Hour))},
		},
		Events: []string{"*"}, HttpTimeout: "30s", RateLimit: 5000, RateLimitDuration: "1m", Status: "active",
		CreatedAt: timestamppb.New(fixedCreated), UpdatedAt: timestamppb.New(fixedUpdated),
		Circuit: &ingestv1.Circuit{State: "half_open", FailureRate: 0.8, OpenedAt: timestamppb.New(fixedUpdated)},
		Filter:  []byte(`{"body":{"amount":{"$gte":100}}}`),
	}
}

func sampleDelivery() *ingestv1.Delivery {
	return &ingestv1.Delivery{
		Uid: "dlv-1", GroupId: "grp-1", EventId: "evt-1", AppId: "app-1", EndpointId: "ep-1", EventType: "invoice.paid",
		Status: "Retry", Description: "endpoint answered 500",
		Metadata: &ingestv1.DeliveryMetadata{NumTrials: 2, RetryLimit: 5, Strategy: "default", IntervalSeconds: 100,
			NextSendTime: timestamppb.New(fixedUpdated.Add(100 * time.Second))},
		CreatedAt: timestamppb.New(fixedCreated), UpdatedAt: timestamppb.New(fixedUpdated),
	}
}

// nextPage says a first page (by cursor) has a next one, and answers an
// offset page as page 2 of 3 with 45 items.
func nextPage(p *ingestv1.PageRequest) *ingestv1.PageInfo {
	if p.GetPage() > 0 {
		return &ingestv1.PageInfo{PerPage: p.GetPerPage(), HasNextPage: true, Total: 45, Page: p.GetPage()}
	}
	if p.GetCursor() != "" {
		return &ingestv1.PageInfo{PerPage: p.GetPerPage()}
	}
	return &ingestv1.PageInfo{PerPage: p.GetPerPage(), HasNextPage: true, NextPageCursor: "cursor-2"}
}

func (f *fakeIngest) GetAPIKey(ctx context.Context, r *ingestv1.GetAPIKeyRequest) (*ingestv1.APIKey, error) {
	return record(ctx, f, "GetAPIKey", r, &ingestv1.APIKey{Uid: r.GetKeyId(), GroupId: "grp-1", Name: "ci", CreatedAt: timestamppb.New(fixedCreated)})
}

func (f *fakeIngest) GetAttempt(ctx context.Context, r *ingestv1.GetAttemptRequest) (*ingestv1.Attempt, error) {
	return record(ctx, f, "GetAttempt", r, &ingestv1.Attempt{Uid: r.GetAttemptId(), DeliveryId: r.GetDeliveryId(), Url: "https://example.com/hook",
		Method: "POST", HttpStatus: 502, Error: "endpoint answered Bad Gateway", CreatedAt: timestamppb.New(fixedCreated)})
}

func (f *fakeIngest) CountDeliveries(ctx context.Context, r *ingestv1.CountDeliveriesRequest) (*ingestv1.CountDeliveriesResponse, error) {
	return record(ctx, f, "CountDeliveries", r, &ingestv1.CountDeliveriesResponse{Counts: map[string]int64{"Success": 2, "Failure": 1}, Total: 3})
}

func (f *fakeIngest) CountBatchRetryDeliveries(ctx context.Context, r *ingestv1.CountBatchRetryDeliveriesRequest) (*ingestv1.CountBatchRetryDeliveriesResponse, error) {
	return record(ctx, f, "CountBatchRetryDeliveries", r, &ingestv1.CountBatchRetryDeliveriesResponse{Num: 3})
}

func (f *fakeIngest) CreateGroup(ctx context.Context, r *ingestv1.CreateGroupRequest) (*ingestv1.Group, error) {
	return record(ctx, f, "CreateGroup", r, sampleGroup())
}

func (f *fakeIngest) ListGroups(ctx context.Context, r *ingestv1.ListGroupsRequest) (*ingestv1.ListGroupsResponse, error) {
	return record(ctx, f, "ListGroups", r, &ingestv1.ListGroupsResponse{Groups: []*ingestv1.Group{sampleGroup(), sampleGroup()}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetGroup(ctx context.Context, r *ingestv1.GetGroupRequest) (*ingestv1.Group, error) {
	return record(ctx, f, "GetGroup", r, sampleGroup())
}

func (f *fakeIngest) UpdateGroup(ctx context.Context, r *ingestv1.UpdateGroupRequest) (*ingestv1.Group, error) {
	return record(ctx, f, "UpdateGroup", r, sampleGroup())
}

func (f *fakeIngest) DeleteGroup(ctx context.Context, r *ingestv1.DeleteGroupRequest) (*ingestv1.DeleteGroupResponse, error) {
	return record(ctx, f, "DeleteGroup", r, &ingestv1.DeleteGroupResponse{})
}

func (f *fakeIngest) CreateAPIKey(ctx context.Context, r *ingestv1.CreateAPIKeyRequest) (*ingestv1.APIKey, error) {
	return record(ctx, f, "CreateAPIKey", r, &ingestv1.APIKey{Uid: "key-1", GroupId: r.GetGroupId(), Name: r.GetName(), Key: "CO.secret", CreatedAt: timestamppb.New(fixedCreated), Role: "admin"})
}

func (f *fakeIngest) ListAPIKeys(ctx context.Context, r *ingestv1.ListAPIKeysRequest) (*ingestv1.ListAPIKeysResponse, error) {
	return record(ctx, f, "ListAPIKeys", r, &ingestv1.ListAPIKeysResponse{
		Keys: []*ingestv1.APIKey{{Uid: "key-1", GroupId: "grp-1", Name: "ci", CreatedAt: timestamppb.New(fixedCreated), Role: "read_only", LastUsedAt: timestamppb.New(fixedCreated)}},
		Page: &ingestv1.PageInfo{PerPage: r.GetPage().GetPerPage()},
	})
}

func (f *fakeIngest) RevokeAPIKey(ctx context.Context, r *ingestv1.RevokeAPIKeyRequest) (*ingestv1.RevokeAPIKeyResponse, error) {
	return record(ctx, f, "RevokeAPIKey", r, &ingestv1.RevokeAPIKeyResponse{})
}

func samplePortalLink(token string) *ingestv1.PortalLink {
	return &ingestv1.PortalLink{
		Uid: "pl-1", GroupId: "grp-1", AppId: "app-1", Token: token, ExpiresAt: timestamppb.New(fixedCreated.Add(24 * time.Hour)),
		CanManageEndpoints: true, FrameAncestors: []string{"'self'"}, CreatedAt: timestamppb.New(fixedCreated),
	}
}

func (f *fakeIngest) CreatePortalLink(ctx context.Context, r *ingestv1.CreatePortalLinkRequest) (*ingestv1.PortalLink, error) {
	return record(ctx, f, "CreatePortalLink", r, samplePortalLink("convoy_portal_tok/en+"))
}

func (f *fakeIngest) ListPortalLinks(ctx context.Context, r *ingestv1.ListPortalLinksRequest) (*ingestv1.ListPortalLinksResponse, error) {
	return record(ctx, f, "ListPortalLinks", r, &ingestv1.ListPortalLinksResponse{Links: []*ingestv1.PortalLink{samplePortalLink("")}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) RevokePortalLink(ctx context.Context, r *ingestv1.RevokePortalLinkRequest) (*ingestv1.RevokePortalLinkResponse, error) {
	return record(ctx, f, "RevokePortalLink", r, &ingestv1.RevokePortalLinkResponse{})
}

func (f *fakeIngest) GetPortalSession(ctx context.Context, r *ingestv1.GetPortalSessionRequest) (*ingestv1.PortalSession, error) {
	return record(ctx, f, "GetPortalSession", r, &ingestv1.PortalSession{
		Uid: "pl-1", GroupId: "grp-1", AppId: "app-1", AppName: "billing", CanManageEndpoints: true,
		ExpiresAt: timestamppb.New(fixedCreated.Add(24 * time.Hour)), FrameAncestors: []string{"'self'", "https://app.example.com"},
	})
}

func (f *fakeIngest) ListAuditLog(ctx context.Context, r *ingestv1.ListAuditLogRequest) (*ingestv1.ListAuditLogResponse, error) {
	return record(ctx, f, "ListAuditLog", r, &ingestv1.ListAuditLogResponse{Entries: []*ingestv1.AuditEntry{{
		Uid: "au-1", GroupId: "grp-1", Actor: "admin", Action: "update", ResourceType: "endpoint", ResourceId: "ep-1",
		Before: `{"url":"https://a"}`, After: `{"url":"https://b"}`, CreatedAt: timestamppb.New(fixedCreated),
	}}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) CreateApplication(ctx context.Context, r *ingestv1.CreateApplicationRequest) (*ingestv1.Application, error) {
	return record(ctx, f, "CreateApplication", r, sampleApp())
}

func (f *fakeIngest) ListApplications(ctx context.Context, r *ingestv1.ListApplicationsRequest) (*ingestv1.ListApplicationsResponse, error) {
	return record(ctx, f, "ListApplications", r, &ingestv1.ListApplicationsResponse{Applications: []*ingestv1.Application{sampleApp()}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetApplication(ctx context.Context, r *ingestv1.GetApplicationRequest) (*ingestv1.Application, error) {
	return record(ctx, f, "GetApplication", r, sampleApp())
}

func (f *fakeIngest) UpdateApplication(ctx context.Context, r *ingestv1.UpdateApplicationRequest) (*ingestv1.Application, error) {
	return record(ctx, f, "UpdateApplication", r, sampleApp())
}

func (f *fakeIngest) DeleteApplication(ctx context.Context, r *ingestv1.DeleteApplicationRequest) (*ingestv1.DeleteApplicationResponse, error) {
	return record(ctx, f, "DeleteApplication", r, &ingestv1.DeleteApplicationResponse{})
}

func (f *fakeIngest) CreateEndpoint(ctx context.Context, r *ingestv1.CreateEndpointRequest) (*ingestv1.Endpoint, error) {
	return record(ctx, f, "CreateEndpoint", r, sampleEndpoint())
}

func (f *fakeIngest) ListEndpoints(ctx context.Context, r *ingestv1.ListEndpointsRequest) (*ingestv1.ListEndpointsResponse, error) {
	return record(ctx, f, "ListEndpoints", r, &ingestv1.ListEndpointsResponse{Endpoints: []*ingestv1.Endpoint{sampleEndpoint()}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetEndpoint(ctx context.Context, r *ingestv1.GetEndpointRequest) (*ingestv1.Endpoint, error) {
	return record(ctx, f, "GetEndpoint", r, sampleEndpoint())
}

func (f *fakeIngest) UpdateEndpoint(ctx context.Context, r *ingestv1.UpdateEndpointRequest) (*ingestv1.Endpoint, error) {
	return record(ctx, f, "UpdateEndpoint", r, sampleEndpoint())
}

func (f *fakeIngest) DeleteEndpoint(ctx context.Context, r *ingestv1.DeleteEndpointRequest) (*ingestv1.DeleteEndpointResponse, error) {
	return record(ctx, f, "DeleteEndpoint", r, &ingestv1.DeleteEndpointResponse{})
}

func (f *fakeIngest) ExpireSecret(ctx context.Context, r *ingestv1.ExpireSecretRequest) (*ingestv1.Endpoint, error) {
	return record(ctx, f, "ExpireSecret", r, sampleEndpoint())
}

// CreateEvent echoes the request, so tests see what a stored event
// looks like when read back.
func (f *fakeIngest) CreateEvent(ctx context.Context, r *ingestv1.CreateEventRequest) (*ingestv1.Event, error) {
	return record(ctx, f, "CreateEvent", r, &ingestv1.Event{
		Uid: "evt-1", GroupId: r.GetGroupId(), AppId: r.GetAppId(), EventType: r.GetEventType(), Data: r.GetData(),
		IdempotencyKey: r.GetIdempotencyKey(), CustomHeaders: r.GetCustomHeaders(), CreatedAt: timestamppb.New(fixedCreated),
	})
}

func (f *fakeIngest) ListEvents(ctx context.Context, r *ingestv1.ListEventsRequest) (*ingestv1.ListEventsResponse, error) {
	f.mu.Lock()
	events := f.events
	f.mu.Unlock()
	return record(ctx, f, "ListEvents", r, &ingestv1.ListEventsResponse{Events: events, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetEvent(ctx context.Context, r *ingestv1.GetEventRequest) (*ingestv1.Event, error) {
	f.mu.Lock()
	var e *ingestv1.Event
	if len(f.events) > 0 {
		e = f.events[0]
	}
	f.mu.Unlock()
	return record(ctx, f, "GetEvent", r, e)
}

func (f *fakeIngest) ListDeliveries(ctx context.Context, r *ingestv1.ListDeliveriesRequest) (*ingestv1.ListDeliveriesResponse, error) {
	return record(ctx, f, "ListDeliveries", r, &ingestv1.ListDeliveriesResponse{Deliveries: []*ingestv1.Delivery{sampleDelivery()}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetDelivery(ctx context.Context, r *ingestv1.GetDeliveryRequest) (*ingestv1.Delivery, error) {
	return record(ctx, f, "GetDelivery", r, sampleDelivery())
}

func (f *fakeIngest) ListAttempts(ctx context.Context, r *ingestv1.ListAttemptsRequest) (*ingestv1.ListAttemptsResponse, error) {
	f.mu.Lock()
	attempts := f.attempts
	f.mu.Unlock()
	return record(ctx, f, "ListAttempts", r, &ingestv1.ListAttemptsResponse{Attempts: attempts})
}

func (f *fakeIngest) ResendDelivery(ctx context.Context, r *ingestv1.ResendDeliveryRequest) (*ingestv1.Delivery, error) {
	return record(ctx, f, "ResendDelivery", r, sampleDelivery())
}

func (f *fakeIngest) BatchRetryDeliveries(ctx context.Context, r *ingestv1.BatchRetryDeliveriesRequest) (*ingestv1.BatchRetryDeliveriesResponse, error) {
	return record(ctx, f, "BatchRetryDeliveries", r, &ingestv1.BatchRetryDeliveriesResponse{Retried: 2, Ids: []string{"dlv-1", "dlv-2"}})
}

func (f *fakeIngest) ForceResendDeliveries(ctx context.Context, r *ingestv1.ForceResendDeliveriesRequest) (*ingestv1.ForceResendDeliveriesResponse, error) {
	return record(ctx, f, "ForceResendDeliveries", r, &ingestv1.ForceResendDeliveriesResponse{Resent: int32(len(r.GetIds())), Ids: r.GetIds()})
}

func sampleMetaEvent() *ingestv1.MetaEvent {
	return &ingestv1.MetaEvent{
		Uid: "meta-1", GroupId: "grp-1", EventType: "endpoint.disabled", Status: "Retry",
		Metadata: &ingestv1.MetaEventMetadata{
			Raw:       `{"event_type":"endpoint.disabled","data":{"uid":"ep-1","status":"inactive"},"created_at":"2024-01-02T03:04:05Z"}`,
			NumTrials: 1, RetryLimit: 5, NextSendTime: timestamppb.New(fixedUpdated.Add(100 * time.Second)),
		},
		Attempts: []*ingestv1.Attempt{{Uid: "att-1", Url: "https://ops.example.com/meta", Method: "POST", HttpStatus: 503,
			Error: "endpoint answered Service Unavailable", CreatedAt: timestamppb.New(fixedUpdated)}},
		CreatedAt: timestamppb.New(fixedCreated), UpdatedAt: timestamppb.New(fixedUpdated),
	}
}

func (f *fakeIngest) ListMetaEvents(ctx context.Context, r *ingestv1.ListMetaEventsRequest) (*ingestv1.ListMetaEventsResponse, error) {
	m := sampleMetaEvent()
	m.Attempts = nil
	return record(ctx, f, "ListMetaEvents", r, &ingestv1.ListMetaEventsResponse{MetaEvents: []*ingestv1.MetaEvent{m}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetMetaEvent(ctx context.Context, r *ingestv1.GetMetaEventRequest) (*ingestv1.MetaEvent, error) {
	return record(ctx, f, "GetMetaEvent", r, sampleMetaEvent())
}

func (f *fakeIngest) ResendMetaEvent(ctx context.Context, r *ingestv1.ResendMetaEventRequest) (*ingestv1.MetaEvent, error) {
	return record(ctx, f, "ResendMetaEvent", r, sampleMetaEvent())
}

func (f *fakeIngest) GetEndpointPublicKey(ctx context.Context, r *ingestv1.GetEndpointPublicKeyRequest) (*ingestv1.EndpointPublicKey, error) {
	return record(ctx, f, "GetEndpointPublicKey", r, &ingestv1.EndpointPublicKey{EndpointId: r.GetEndpointId(), PublicKey: "whpk_AAAA"})
}

func (f *fakeIngest) GetEndpointStats(ctx context.Context, r *ingestv1.GetEndpointStatsRequest) (*ingestv1.EndpointStats, error) {
	return record(ctx, f, "GetEndpointStats", r, sampleStats())
}

func (f *fakeIngest) ListDeadLetters(ctx context.Context, r *ingestv1.ListDeadLettersRequest) (*ingestv1.ListDeadLettersResponse, error) {
	return record(ctx, f, "ListDeadLetters", r, &ingestv1.ListDeadLettersResponse{DeadLetters: []*ingestv1.DeadLetter{sampleDeadLetter()}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) RedriveDeadLetters(ctx context.Context, r *ingestv1.RedriveDeadLettersRequest) (*ingestv1.RedriveDeadLettersResponse, error) {
	return record(ctx, f, "RedriveDeadLetters", r, &ingestv1.RedriveDeadLettersResponse{Redriven: int32(len(r.GetIds())), Failed: 1})
}

func sampleStats() *ingestv1.EndpointStats {
	p50, p99 := 11.89, 101.6
	at := timestamppb.New(fixedCreated)
	return &ingestv1.EndpointStats{
		EndpointId: "ep-1", Window: "10m0s", Start: at, End: timestamppb.New(fixedCreated.Add(10 * time.Minute)),
		Totals: &ingestv1.StatsFigures{Success: 98, Failure: 1, Timeout: 1, P50: &p50, P99: &p99},
		Buckets: []*ingestv1.StatsBucket{
			{Start: at, Figures: &ingestv1.StatsFigures{}},
			{Start: timestamppb.New(fixedCreated.Add(5 * time.Minute)), Figures: &ingestv1.StatsFigures{Success: 98, Failure: 1, Timeout: 1, P50: &p50, P99: &p99}},
		},
		LastSuccessAt: timestamppb.New(fixedUpdated), ConsecutiveFailures: 2,
		Circuit:           &ingestv1.Circuit{State: "open", FailureRate: 0.75, OpenedAt: timestamppb.New(fixedUpdated)},
		DeliveriesPending: 3,
	}
}

func (f *fakeIngest) GetEncryptionStatus(ctx context.Context, r *ingestv1.GetEncryptionStatusRequest) (*ingestv1.EncryptionStatus, error) {
	return record(ctx, f, "GetEncryptionStatus", r, sampleEncryption("running"))
}

func (f *fakeIngest) RotateEncryptionKey(ctx context.Context, r *ingestv1.RotateEncryptionKeyRequest) (*ingestv1.EncryptionStatus, error) {
	return record(ctx, f, "RotateEncryptionKey", r, sampleEncryption("pending"))
}

func sampleEncryption(status string) *ingestv1.EncryptionStatus {
	return &ingestv1.EncryptionStatus{ActiveKeyId: "k2", Keys: []string{"k2", "k1"}, Status: status, RotationKeyId: "k2",
		Total: 10, Done: 4, StartedAt: timestamppb.New(fixedCreated)}
}

func sampleDeadLetter() *ingestv1.DeadLetter {
	return &ingestv1.DeadLetter{Id: 7, Reason: "attempt_unrecorded", Error: "update deliveries: timeout", Subject: "convoy.dispatch.dlv-1",
		DeliveryId: "dlv-1", EventId: "evt-1", EndpointId: "ep-1", GroupId: "grp-1", DeadAt: timestamppb.New(fixedUpdated), HasOutcome: true}
}

// harness is the gateway in front of a fake ingest-service on bufconn.
type harness struct {
	api    *API
	fake   *fakeIngest
	health *health.Server
	grpc   *grpc.Server
	url    string
	logs   *observer.ObservedLogs
}

func newHarness(t testing.TB, opts Options) *harness {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer()
	fake := &fakeIngest{events: []*ingestv1.Event{{
		Uid: "evt-1", GroupId: "grp-1", AppId: "app-1", EventType: "invoice.paid", Data: []byte(`{"n":1}`),
		CreatedAt: timestamppb.New(fixedCreated),
	}}}
	ingestv1.RegisterIngestServiceServer(srv, fake)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient("passthrough:///ingest",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
	)
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	core, logs := observer.New(zap.DebugLevel)
	api := New(opts, ingestv1.NewIngestServiceClient(conn), healthpb.NewHealthClient(conn), zap.New(core))
	ts := httptest.NewServer(api)
	t.Cleanup(ts.Close)
	return &harness{api: api, fake: fake, health: hs, grpc: srv, url: ts.URL, logs: logs}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// envelope is the decoded response body; data stays raw for each test to
// inspect.
type envelope struct {
	Status  *bool           `json:"status"`
	Message *string         `json:"message"`
	Data    json.RawMessage `json:"data"`
}

func (r response) envelope(t *testing.T) envelope {
	t.Helper()
	var e envelope
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("response is not JSON: %v\n%s", err, r.body)
	}
	if e.Status == nil || e.Message == nil || e.Data == nil {
		t.Fatalf("response lacks status, message or data: %s", r.body)
	}
	return e
}

func (h *harness) do(t *testing.T, method, path, body string, header map[string]string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, h.url+path, rd)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer func() { _ = res.Body.Close() }()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (f *fakeIngest) BroadcastEvent(ctx context.Context, r *ingestv1.BroadcastEventRequest) (*ingestv1.Event, error) {
	return record(ctx, f, "BroadcastEvent", r, &ingestv1.Event{Uid: "evt-b", GroupId: r.GetGroupId(), EventType: r.GetEventType(), Data: r.GetData(), CreatedAt: timestamppb.New(fixedCreated)})
}

func (f *fakeIngest) FanoutEvent(ctx context.Context, r *ingestv1.FanoutEventRequest) (*ingestv1.Event, error) {
	return record(ctx, f, "FanoutEvent", r, &ingestv1.Event{Uid: "evt-f", GroupId: r.GetGroupId(), EventType: r.GetEventType(), Data: r.GetData(), CreatedAt: timestamppb.New(fixedCreated)})
}

func (f *fakeIngest) PrecheckEvent(ctx context.Context, r *ingestv1.PrecheckEventRequest) (*ingestv1.PrecheckEventResponse, error) {
	return record(ctx, f, "PrecheckEvent", r, &ingestv1.PrecheckEventResponse{Endpoints: 3})
}

func (f *fakeIngest) SendTestEvent(ctx context.Context, r *ingestv1.SendTestEventRequest) (*ingestv1.SendTestEventResponse, error) {
	return record(ctx, f, "SendTestEvent", r, &ingestv1.SendTestEventResponse{
		Event:      &ingestv1.Event{Uid: "evt-t", GroupId: r.GetGroupId(), AppId: r.GetAppId(), Test: true, EndpointId: r.GetEndpointId(), CreatedAt: timestamppb.New(fixedCreated)},
		DeliveryId: "dlv-t",
	})
}

func (f *fakeIngest) TestFilter(ctx context.Context, r *ingestv1.TestFilterRequest) (*ingestv1.TestFilterResponse, error) {
	return record(ctx, f, "TestFilter", r, &ingestv1.TestFilterResponse{Matches: true})
}

func sampleEventType() *ingestv1.EventType {
	return &ingestv1.EventType{Uid: "et-1", GroupId: "grp-1", Name: "invoice.paid", Description: "paid",
		Schema: []byte(`{"type":"object"}`), CreatedAt: timestamppb.New(fixedCreated), UpdatedAt: timestamppb.New(fixedCreated)}
}

func (f *fakeIngest) CreateEventType(ctx context.Context, r *ingestv1.CreateEventTypeRequest) (*ingestv1.EventType, error) {
	return record(ctx, f, "CreateEventType", r, sampleEventType())
}

func (f *fakeIngest) ListEventTypes(ctx context.Context, r *ingestv1.ListEventTypesRequest) (*ingestv1.ListEventTypesResponse, error) {
	return record(ctx, f, "ListEventTypes", r, &ingestv1.ListEventTypesResponse{EventTypes: []*ingestv1.EventType{sampleEventType()}, Page: nextPage(r.GetPage())})
}

func (f *fakeIngest) GetEventType(ctx context.Context, r *ingestv1.GetEventTypeRequest) (*ingestv1.EventType, error) {
	return record(ctx, f, "GetEventType", r, sampleEventType())
}

func (f *fakeIngest) UpdateEventType(ctx context.Context, r *ingestv1.UpdateEventTypeRequest) (*ingestv1.EventType, error) {
	return record(ctx, f, "UpdateEventType", r, sampleEventType())
}

func (f *fakeIngest) DeleteEventType(ctx context.Context, r *ingestv1.DeleteEventTypeRequest) (*ingestv1.DeleteEventTypeResponse, error) {
	return record(ctx, f, "DeleteEventType", r, &ingestv1.DeleteEventTypeResponse{})
}
