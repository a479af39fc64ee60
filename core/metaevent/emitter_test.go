package metaevent

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/store"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// fakeGroups serves groups from a map and counts reads.
type fakeGroups struct {
	mu     sync.Mutex
	groups map[string]*model.Group
	reads  int
}

func (f *fakeGroups) GetGroup(_ context.Context, id string) (*model.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	g, ok := f.groups[id]
	if !ok {
		return nil, store.ErrNotFound
	}
	return g, nil
}

// fakePublisher records what it is asked to publish.
type fakePublisher struct {
	mu   sync.Mutex
	msgs []*nats.Msg
	err  error
}

func (f *fakePublisher) PublishMsg(_ context.Context, msg *nats.Msg, _ ...jetstream.PublishOpt) (*jetstream.PubAck, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return nil, f.err
	}
	f.msgs = append(f.msgs, msg)
	return &jetstream.PubAck{Stream: queue.StreamMeta}, nil
}

func groupWith(id string, meta model.MetaEventConfig) *model.Group {
	cfg := model.DefaultGroupConfig()
	cfg.MetaEvent = meta
	return &model.Group{UID: id, Config: cfg}
}

// With meta events off, or the type not wanted, emitting publishes nothing
// and reads the group once per cache period however often it is called.
func TestEmitIsCheapWhenNotWanted(t *testing.T) {
	groups := &fakeGroups{groups: map[string]*model.Group{
		"off":      groupWith("off", model.MetaEventConfig{URL: "https://ops.example.com", Secret: "s3cr3t-value"}),
		"filtered": groupWith("filtered", model.MetaEventConfig{IsEnabled: true, URL: "https://ops.example.com", EventTypes: []string{EndpointDisabled}}),
	}}
	pub := &fakePublisher{}
	e := New(groups, pub)
	for _, tc := range []struct{ group, typ string }{{"off", EndpointDisabled}, {"filtered", DeliveryFailing}, {"gone", EndpointDisabled}} {
		groups.reads = 0
		for range 1000 {
			if err := e.Emit(t.Context(), tc.group, tc.typ, map[string]any{"n": 1}); err != nil {
				t.Fatalf("%s: %v", tc.group, err)
			}
		}
		if len(pub.msgs) != 0 {
			t.Fatalf("%s: published %d messages, want none", tc.group, len(pub.msgs))
		}
		// A missing group is not cached (errors are not), so it is read each time;
		// the others once.
		if tc.group != "gone" && groups.reads != 1 {
			t.Fatalf("%s: %d group reads for 1000 emits, want 1 (cached)", tc.group, groups.reads)
		}
	}
	var nilEmitter *Emitter
	if err := nilEmitter.Emit(t.Context(), "off", EndpointDisabled, nil); err != nil {
		t.Fatalf("nil emitter: %v", err)
	}
}

func TestEmitPublishesTheBody(t *testing.T) {
	groups := &fakeGroups{groups: map[string]*model.Group{
		"g": groupWith("g", model.MetaEventConfig{IsEnabled: true, URL: "https://ops.example.com", EventTypes: []string{EndpointDisabled}}),
	}}
	pub := &fakePublisher{}
	e := New(groups, pub)
	at := time.Date(2026, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	e.now = func() time.Time { return at }
	ep := &model.Endpoint{UID: "ep1", GroupID: "g", AppID: "a1", URL: "https://hooks.example.com",
		Secrets: []model.Secret{{Value: "endpoint-secret-never-sent"}}, Events: []string{"*"},
		HTTPTimeout: 30 * time.Second, RateLimit: 5000, RateLimitDuration: time.Minute, Status: model.EndpointInactive}
	if err := e.Emit(t.Context(), "g", EndpointDisabled, EndpointOf(ep)); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 1 {
		t.Fatalf("published %d messages, want 1", len(pub.msgs))
	}
	task, err := DecodeTask(pub.msgs[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	if pub.msgs[0].Subject != queue.MetaSubject(task.UID) || task.GroupID != "g" || task.EventType != EndpointDisabled ||
		task.RetryLimit != 10 || task.Generation != 0 || !task.CreatedAt.Equal(at.Truncate(time.Millisecond)) {
		t.Fatalf("task %+v on %s", task, pub.msgs[0].Subject)
	}
	want := `{"event_type":"endpoint.disabled","data":{"uid":"ep1","group_id":"g","app_id":"a1","url":"https://hooks.example.com",` +
		`"description":"","events":["*"],"http_timeout":"30s","rate_limit":5000,"rate_limit_duration":"1m","status":"inactive",` +
		`"created_at":"0001-01-01T00:00:00Z","updated_at":"0001-01-01T00:00:00Z"},"created_at":"2026-01-02T03:04:05.678Z"}`
	if string(task.Body) != want {
		t.Fatalf("body\n%s\nwant\n%s", task.Body, want)
	}

	if err := e.Emit(t.Context(), "g", "endpoint.exploded", nil); err == nil {
		t.Fatal("an unknown type was emitted")
	}
	if err := e.Emit(t.Context(), "g", EndpointDisabled, func() {}); err == nil {
		t.Fatal("unencodable data was emitted")
	}
	pub.err = errors.New("stream unavailable")
	if err := e.Emit(t.Context(), "g", EndpointDisabled, 1); err == nil {
		t.Fatal("a failed publish was not reported")
	}
}

// On a real stream, EmitOnce with the same key queues one message, and a
// resend of a later generation queues another.
func TestEmitOnceDeduplicates(t *testing.T) {
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	t.Cleanup(srv.Shutdown)
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	if err := queue.EnsureStreams(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	groups := &fakeGroups{groups: map[string]*model.Group{"g": groupWith("g", model.MetaEventConfig{IsEnabled: true, URL: "https://ops.example.com"})}}
	e := New(groups, js)
	for range 3 {
		if err := e.EmitOnce(t.Context(), "g", DeliveryFailing, "d1.0.3", map[string]int{"n": 3}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.EmitOnce(t.Context(), "g", DeliveryFailing, "d1.0.4", map[string]int{"n": 4}); err != nil {
		t.Fatal(err)
	}
	if got := streamMsgs(t, js); got != 2 {
		t.Fatalf("stream holds %d messages, want 2 (one per key)", got)
	}
	m := &model.MetaEvent{UID: "m1", GroupID: "g", EventType: DeliveryFailing, Generation: 1, Metadata: model.MetaEventMetadata{Raw: `{"x":1}`}}
	for range 2 {
		if err := e.Resend(t.Context(), m); err != nil {
			t.Fatal(err)
		}
	}
	if got := streamMsgs(t, js); got != 3 {
		t.Fatalf("stream holds %d messages, want 3 (one resend per generation)", got)
	}
}

func streamMsgs(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(t.Context(), queue.StreamMeta)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

func TestTaskRoundTrip(t *testing.T) {
	in := &Task{UID: "m1", GroupID: "g", EventType: EndpointEnabled, Body: []byte(`{"a": "caf\u00e9"}`), Generation: 2, RetryLimit: 4}
	b, err := in.Encode()
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeTask(b)
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Body) != string(in.Body) || out.Generation != 2 || out.RetryLimit != 4 {
		t.Fatalf("round trip %+v", out)
	}
	if _, err := DecodeTask([]byte(`{"uid":"m1"}`)); err == nil {
		t.Fatal("a task without body decoded")
	}
}
