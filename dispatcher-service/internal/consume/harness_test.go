package consume_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"convoy/core/deadletter"
	"convoy/core/embedded/embeddedtest"
	"convoy/core/endpointhealth"
	"convoy/core/ids"
	"convoy/core/model"
	"convoy/core/queue"
	"convoy/core/retryschedule"
	"convoy/core/store"
	"convoy/core/verify"
	"convoy/dispatcher-service/internal/app"
	"convoy/dispatcher-service/internal/circuit"
	"convoy/dispatcher-service/internal/consume"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/metrics"
	"convoy/dispatcher-service/internal/outbound"
	"convoy/dispatcher-service/internal/ratelimit"
	"convoy/dispatcher-service/internal/record"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest"
)

const secret = "test-secret-0123456789abcdef"

// harness is a dispatcher wired as internal/app wires it, over embedded NATS
// and FerretDB, with the tasks' store records and a publisher at hand.
type harness struct {
	st  *store.Store
	js  jetstream.JetStream
	pub *queue.Publisher
}

type harnessOptions struct {
	concurrency, perEndpoint int
	ackWait                  time.Duration
	// noDispatcher leaves starting dispatchers to the test.
	noDispatcher bool
	// wrapRecorder and wrapRetrier let a test fail a dependency on purpose.
	wrapRecorder func(consume.Recorder) consume.Recorder
	wrapRetrier  func(consume.Retrier) consume.Retrier
	// listeners says which endpoints have a listener attached.
	listeners consume.Listeners
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	mongoURI, natsURL := embeddedtest.ForTest(t)
	ctx := t.Context()
	log := zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel))

	st, err := store.Open(ctx, mongoURI, "convoy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close(context.Background()) })
	if err := st.EnsureSchema(ctx); err != nil {
		t.Fatal(err)
	}
	nc, js, err := queue.Connect(natsURL, "dispatcher-test", log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := queue.EnsureStreams(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	h := &harness{st: st, js: js, pub: queue.NewPublisher(js)}
	if !o.noDispatcher {
		h.startDispatcher(t, o)
	}
	return h
}

// startDispatcher runs one more dispatcher on the harness's servers, as
// another replica would.
func (h *harness) startDispatcher(t *testing.T, o harnessOptions) {
	t.Helper()
	if o.concurrency == 0 {
		o.concurrency = 32
	}
	if o.perEndpoint == 0 {
		o.perEndpoint = 8
	}
	if o.ackWait == 0 {
		o.ackWait = 30 * time.Second
	}
	ctx, st, js := t.Context(), h.st, h.js
	log := zaptest.NewLogger(t, zaptest.Level(zapcore.InfoLevel))
	kv, err := ratelimit.EnsureBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	healthKV, err := endpointhealth.EnsureBucket(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	breaker := circuit.New(healthKV)
	breakerCtx, stopBreaker := context.WithCancel(context.Background())
	breakerDone := make(chan struct{})
	go func() { _ = breaker.Run(breakerCtx); close(breakerDone) }()
	t.Cleanup(func() { stopBreaker(); <-breakerDone })
	cons, err := consume.EnsureConsumer(ctx, js, o.ackWait)
	if err != nil {
		t.Fatal(err)
	}
	rec := record.New(st)
	allow, err := outbound.ParseCIDRs("127.0.0.0/8,::1/128")
	if err != nil {
		t.Fatal(err)
	}
	client := outbound.New(outbound.Config{Allow: allow, UserAgent: "Convoy/" + app.Version})
	t.Cleanup(client.Close)
	var recorder consume.Recorder = rec
	if o.wrapRecorder != nil {
		recorder = o.wrapRecorder(rec)
	}
	var retrier consume.Retrier = queue.NewPublisher(js)
	if o.wrapRetrier != nil {
		retrier = o.wrapRetrier(retrier)
	}
	d := consume.New(st, recorder, ratelimit.New(kv), deliver.New(client, app.Version), retrier, metrics.New(prometheus.NewRegistry()), consume.Options{
		Concurrency: o.concurrency,
		PerEndpoint: o.perEndpoint,
		AckWait:     o.ackWait,
		Drain:       2 * time.Second,
		Policy:      retryschedule.Policy{MaxRetryAfter: time.Hour},
	}, consume.Hooks{Breaker: breaker, DeadLetters: deadletter.New(js), Listeners: o.listeners}, log.Named("consume"))

	runCtx, stop := context.WithCancel(context.Background())
	recCtx, stopRec := context.WithCancel(context.Background())
	recDone, runDone, orderedDone := make(chan error, 1), make(chan error, 1), make(chan error, 1)
	go func() { recDone <- rec.Run(recCtx) }()
	go func() { runDone <- d.Run(runCtx, cons) }()
	go func() { orderedDone <- d.RunOrdered(runCtx, js) }()
	t.Cleanup(func() {
		stop()
		if err := <-runDone; err != nil {
			t.Errorf("dispatcher: %v", err)
		}
		if err := <-orderedDone; err != nil {
			t.Errorf("ordered dispatcher: %v", err)
		}
		stopRec()
		if err := <-recDone; err != nil {
			t.Errorf("recorder: %v", err)
		}
	})
}

// group creates a group with the default config, changed by edit.
func (h *harness) group(t *testing.T, edit func(*model.GroupConfig)) *model.Group {
	t.Helper()
	cfg := model.DefaultGroupConfig()
	cfg.Strategy = model.Strategy{Type: model.StrategyLinear, Duration: 10, RetryCount: 3}
	if edit != nil {
		edit(&cfg)
	}
	g := &model.Group{UID: ids.New(), Name: "g", Config: cfg, CreatedAt: time.Now().UTC()}
	if err := h.st.CreateGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	return g
}

// endpoint creates an application and an endpoint at url in g.
func (h *harness) endpoint(t *testing.T, g *model.Group, url string, edit func(*model.Endpoint)) *model.Endpoint {
	t.Helper()
	now := time.Now().UTC()
	a := &model.Application{UID: ids.New(), GroupID: g.UID, Name: "shop", CreatedAt: now}
	if err := h.st.CreateApplication(t.Context(), a); err != nil {
		t.Fatal(err)
	}
	ep := &model.Endpoint{
		UID: ids.New(), GroupID: g.UID, AppID: a.UID, URL: url,
		Secrets: []model.Secret{{Value: secret, CreatedAt: now}}, Events: []string{"*"},
		HTTPTimeout: 5 * time.Second, RateLimit: model.DefaultRateLimit, RateLimitDuration: model.DefaultRateLimitDuration,
		Status: model.EndpointActive, CreatedAt: now,
	}
	if edit != nil {
		edit(ep)
	}
	if err := h.st.CreateEndpoint(t.Context(), ep); err != nil {
		t.Fatal(err)
	}
	return ep
}

// send stores an event and publishes the task for the next attempt of its
// delivery to ep, as the ingest service does. A delivery with trials already
// made is stored as its earlier attempts left it; a fresh one is not stored
// (ingest leaves that to the dispatcher).
func (h *harness) send(t *testing.T, g *model.Group, ep *model.Endpoint, trials int32, edit func(*model.Event)) (*model.Delivery, *queuev1.DeliveryTask) {
	t.Helper()
	now := time.Now().UTC()
	ev := model.Event{
		UID: ids.New(), GroupID: g.UID, AppID: ep.AppID, EventType: "invoice.paid",
		Data: []byte(`{"invoice": "in_1", "note": "caf\u00e9 ☕"}`), CreatedAt: now,
	}
	if edit != nil {
		edit(&ev)
	}
	d := model.Delivery{
		UID: ids.Delivery(ev.UID, ep.UID), GroupID: g.UID, EventID: ev.UID, AppID: ep.AppID, EndpointID: ep.UID,
		EventType: ev.EventType, Status: model.StatusScheduled,
		Metadata: model.DeliveryMetadata{
			NumTrials: trials, RetryLimit: g.Config.Strategy.RetryCount,
			Strategy: g.Config.Strategy.Type, IntervalSeconds: g.Config.Strategy.Duration, NextSendTime: &now,
		},
		CreatedAt: now, UpdatedAt: now, Ordered: ep.Ordered,
	}
	if err := h.st.InsertEvents(t.Context(), []model.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if trials > 0 || d.Ordered { // ingest stores an ordered delivery when it accepts it
		if err := h.st.InsertDeliveries(t.Context(), []model.Delivery{d}); err != nil {
			t.Fatal(err)
		}
	}
	task := queue.NewTask(&ev, &d)
	if err := h.pub.PublishTasks(t.Context(), []*queuev1.DeliveryTask{task}); err != nil {
		t.Fatal(err)
	}
	return &d, task
}

// waitStatus polls the delivery until it is in one of statuses.
func (h *harness) waitStatus(t *testing.T, id string, timeout time.Duration, statuses ...string) *model.Delivery {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var d *model.Delivery
	for {
		var err error
		d, err = h.st.DeliveryByID(t.Context(), id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			t.Fatal(err)
		}
		for _, s := range statuses {
			if d != nil && d.Status == s {
				return d
			}
		}
		if time.Now().After(deadline) {
			if d == nil {
				t.Fatalf("delivery %s is not stored after %v, want one of %v", id, timeout, statuses)
			}
			t.Fatalf("delivery %s is %s after %v, want one of %v", id, d.Status, timeout, statuses)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) attempts(t *testing.T, d *model.Delivery) []model.Attempt {
	t.Helper()
	atts, err := h.st.DeliveryAttempts(t.Context(), d.GroupID, d.UID)
	if err != nil {
		t.Fatal(err)
	}
	return atts
}

// retryTask returns the delivery's pending retry on CONVOY_RETRY, or nil.
func (h *harness) retryTask(t *testing.T, deliveryID string) (*queuev1.RetryTask, string) {
	t.Helper()
	s, err := h.js.Stream(t.Context(), queue.StreamRetry)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := s.GetLastMsgForSubject(t.Context(), queue.RetrySubject(deliveryID))
	if err != nil {
		return nil, ""
	}
	rt, err := queue.DecodeRetry(msg.Data)
	if err != nil {
		t.Fatal(err)
	}
	return rt, msg.Header.Get(jetstream.MsgIDHeader)
}

// received is one request a receiver got.
type received struct {
	at       time.Time
	header   http.Header
	body     []byte
	verified error
}

// receiver is a webhook endpoint that checks every request's signature with
// the receivers' package (independently of the signer) and answers through
// respond.
type receiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []received
	// released is closed when the test ends, so handlers that hold a
	// request return and the server can close.
	released chan struct{}
}

func newReceiver(t *testing.T, opts verify.Options, respond func(w http.ResponseWriter, r *http.Request, n int, released <-chan struct{})) *receiver {
	t.Helper()
	rc := &receiver{released: make(chan struct{})}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{at: time.Now(), header: r.Header.Clone(), body: body,
			verified: verify.Verify(opts, []string{secret}, r.Header, body)})
		n := len(rc.got)
		rc.mu.Unlock()
		if respond == nil {
			w.Header().Set("X-Receiver", "yes")
			_, _ = io.WriteString(w, `{"ok":true}`)
			return
		}
		respond(w, r, n, rc.released)
	}))
	t.Cleanup(rc.Close)
	t.Cleanup(func() { close(rc.released) }) // runs before Close
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

// status answers every request with code.
func status(code int) func(http.ResponseWriter, *http.Request, int, <-chan struct{}) {
	return func(w http.ResponseWriter, _ *http.Request, _ int, _ <-chan struct{}) { w.WriteHeader(code) }
}

// hold waits for d, the end of the test or the client going away.
func hold(r *http.Request, released <-chan struct{}, d time.Duration) {
	select {
	case <-time.After(d):
	case <-released:
	case <-r.Context().Done():
	}
}

var simpleSHA256 = verify.Options{Format: verify.FormatSimple, Hash: "SHA256", ReplayAttacks: true}

// eventually polls cond until it holds, for at most 5 s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
