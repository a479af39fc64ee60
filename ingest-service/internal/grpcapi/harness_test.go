package grpcapi_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/metaevent"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/secretbox"
	"convoy/core/store"
	"convoy/ingest-service/internal/auth"
	"convoy/ingest-service/internal/fanout"
	"convoy/ingest-service/internal/metrics"

	"convoy/ingest-service/internal/grpcapi"
	ingestv1 "convoy/proto/convoy/ingest/v1"
	queuev1 "convoy/proto/convoy/queue/v1"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const adminKey = "grpcapi-test-admin-key"

// harness is ingest's gRPC API wired as app.go wires it, over embedded NATS
// and FerretDB, served on a loopback port and called through a real client.
type harness struct {
	api    ingestv1.IngestServiceClient
	store  *store.Store
	js     jetstream.JetStream
	mu     sync.Mutex
	keys   map[string]string // group id -> a plain key of that group
	admin  context.Context
	nobody context.Context
}

func newHarness(t *testing.T, extra ...func(jetstream.JetStream) grpcapi.Option) *harness {
	t.Helper()
	mongoURI, natsURL := embeddedtest.ForTest(t)
	ctx := t.Context()

	// The API runs over a store that seals secrets, as a deployment's does.
	key, err := secretbox.NewKey("k1")
	if err != nil {
		t.Fatal(err)
	}
	kr, err := secretbox.Parse(key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(ctx, mongoURI, "convoy_grpcapi_test", store.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	// Twice, as every replica does at start: it must be idempotent.
	for range 2 {
		if err := st.EnsureSchema(ctx); err != nil {
			t.Fatal(err)
		}
	}
	nc, js, err := queue.Connect(natsURL, "grpcapi-test", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := queue.EnsureStreams(ctx, js, 1); err != nil {
		t.Fatal(err)
	}

	pub := queue.NewPublisher(js)
	m := metrics.New(prometheus.NewRegistry())
	fan := fanout.New(st, pub, m)
	fanCtx, stopFanout := context.WithCancel(context.Background())
	fanDone := make(chan error, 1)
	go func() { fanDone <- fan.Run(fanCtx) }()
	t.Cleanup(func() {
		stopFanout()
		if err := <-fanDone; err != nil {
			t.Errorf("fanout: %v", err)
		}
	})

	srv := grpc.NewServer(grpc.UnaryInterceptor(m.Interceptor()), grpc.MaxRecvMsgSize(16<<20))
	opts := []grpcapi.Option{grpcapi.WithJetStream(js)}
	for _, o := range extra {
		opts = append(opts, o(js))
	}
	ingestv1.RegisterIngestServiceServer(srv, grpcapi.New(st, auth.New(adminKey, st), fan, pub, metaevent.New(st, js), zap.NewNop(), opts...))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	conn, err := grpc.NewClient(ln.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	h := &harness{api: ingestv1.NewIngestServiceClient(conn), store: st, js: js, keys: map[string]string{}}
	h.admin = h.as(adminKey)
	h.nobody = context.Background()
	return h
}

// as is a call context carrying key as the bearer credential.
func (h *harness) as(key string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+key)
}

// keyOf returns a plain API key of the group, creating one the first time.
func (h *harness) keyOf(t testing.TB, groupID string) string {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if k, ok := h.keys[groupID]; ok {
		return k
	}
	k, err := h.api.CreateAPIKey(h.admin, &ingestv1.CreateAPIKeyRequest{GroupId: groupID, Name: "test"})
	if err != nil {
		t.Fatalf("create api key: %v", err)
	}
	h.keys[groupID] = k.Key
	return k.Key
}

// group creates a group with default settings.
func (h *harness) group(t testing.TB, name string) *ingestv1.Group {
	t.Helper()
	g, err := h.api.CreateGroup(h.admin, &ingestv1.CreateGroupRequest{Name: name})
	if err != nil {
		t.Fatalf("create group: %v", err)
	}
	return g
}

func (h *harness) app(t testing.TB, groupID, name string) *ingestv1.Application {
	t.Helper()
	a, err := h.api.CreateApplication(h.admin, &ingestv1.CreateApplicationRequest{GroupId: groupID, Name: name})
	if err != nil {
		t.Fatalf("create application: %v", err)
	}
	return a
}

func (h *harness) endpoint(t testing.TB, groupID, appID string, events ...string) *ingestv1.Endpoint {
	t.Helper()
	e, err := h.api.CreateEndpoint(h.admin, &ingestv1.CreateEndpointRequest{
		GroupId: groupID, AppId: appID, Url: "https://example.com/hook", Events: events,
	})
	if err != nil {
		t.Fatalf("create endpoint: %v", err)
	}
	return e
}

func (h *harness) event(t testing.TB, groupID, appID, eventType string) *ingestv1.Event {
	t.Helper()
	ev, err := h.api.CreateEvent(h.admin, &ingestv1.CreateEventRequest{
		GroupId: groupID, AppId: appID, EventType: eventType, Data: []byte(`{"n":1}`),
	})
	if err != nil {
		t.Fatalf("create event: %v", err)
	}
	h.storeQueued(t, ev)
	return ev
}

// storeQueued writes the queued deliveries of ev as Scheduled, standing in
// for the dispatcher, which stores a delivery when it first handles it:
// ingest only queues them.
func (h *harness) storeQueued(t testing.TB, ev *ingestv1.Event) {
	t.Helper()
	eps, err := h.store.EndpointsOfApp(context.Background(), ev.AppId)
	if err != nil {
		t.Fatal(err)
	}
	var ups []store.DeliveryUpdate
	for _, ep := range eps {
		task := h.task(t, ids.Delivery(ev.Uid, ep.UID))
		if task == nil {
			continue
		}
		at := task.AcceptedAt.AsTime().UTC()
		ups = append(ups, store.DeliveryUpdate{ID: task.DeliveryId, Status: model.StatusScheduled, At: at, New: &model.Delivery{
			UID: task.DeliveryId, GroupID: task.GroupId, EventID: task.EventId, AppID: task.AppId,
			EndpointID: task.EndpointId, EventType: task.EventType, Status: model.StatusScheduled,
			Metadata:  model.DeliveryMetadata{RetryLimit: task.RetryLimit, NextSendTime: &at},
			CreatedAt: at, UpdatedAt: at,
		}})
	}
	if err := h.store.UpdateDeliveries(context.Background(), ups); err != nil {
		t.Fatalf("store queued deliveries: %v", err)
	}
}

// deliveries lists every delivery of the group matching f.
func (h *harness) deliveries(t testing.TB, groupID string, f *ingestv1.DeliveryFilter) []*ingestv1.Delivery {
	t.Helper()
	var out []*ingestv1.Delivery
	p := &ingestv1.PageRequest{PerPage: 100}
	for {
		res, err := h.api.ListDeliveries(h.admin, &ingestv1.ListDeliveriesRequest{GroupId: groupID, Filter: f, Page: p})
		if err != nil {
			t.Fatalf("list deliveries: %v", err)
		}
		out = append(out, res.Deliveries...)
		if !res.Page.HasNextPage {
			return out
		}
		p = &ingestv1.PageRequest{PerPage: 100, Cursor: res.Page.NextPageCursor}
	}
}

// setStatus moves deliveries to st directly in the store, standing in for
// the dispatcher.
func (h *harness) setStatus(t testing.TB, st string, ids ...string) {
	t.Helper()
	var ups []store.DeliveryUpdate
	for _, id := range ids {
		ups = append(ups, store.DeliveryUpdate{ID: id, Status: st, At: time.Now().UTC()})
	}
	if err := h.store.UpdateDeliveries(context.Background(), ups); err != nil {
		t.Fatalf("update deliveries: %v", err)
	}
}

// queued returns how many dispatch tasks are queued.
func (h *harness) queued(t testing.TB) uint64 {
	t.Helper()
	s, err := h.js.Stream(context.Background(), queue.StreamDispatch)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// task returns the last dispatch task queued for a delivery, or nil.
func (h *harness) task(t testing.TB, deliveryID string) *queuev1.DeliveryTask {
	t.Helper()
	ctx := context.Background()
	s, err := h.js.Stream(ctx, queue.StreamDispatch)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(ctx, queue.DispatchSubject(deliveryID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return nil
	}
	if err != nil {
		t.Fatalf("look up dispatch task: %v", err)
	}
	task, err := queue.DecodeTask(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// wantCode fails unless err carries code and, when contains is not empty,
// a message containing it.
func wantCode(t *testing.T, err error, code codes.Code, contains string) {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v (%q), want %v", st.Code(), st.Message(), code)
	}
	if contains != "" && !strings.Contains(strings.ToLower(st.Message()), strings.ToLower(contains)) {
		t.Fatalf("message %q does not contain %q", st.Message(), contains)
	}
}

// must(call())(t) is call's value, failing t when call failed.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return v
	}
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func str(s string) *string { return &s }

func i32(v int32) *int32 { return &v }

func i64(v int64) *int64 { return &v }

func (h *harness) eventType(t testing.TB, groupID string) *ingestv1.EventType {
	t.Helper()
	et, err := h.api.CreateEventType(h.admin, &ingestv1.CreateEventTypeRequest{GroupId: groupID, Name: "type." + ids.New()})
	if err != nil {
		t.Fatalf("create event type: %v", err)
	}
	return et
}
