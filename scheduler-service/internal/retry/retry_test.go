package retry

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/queue"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func setup(t *testing.T) (jetstream.JetStream, *queue.Publisher) {
	t.Helper()
	_, natsURL := embeddedtest.ForTest(t)
	nc, js, err := queue.Connect(natsURL, "test", zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	if err := queue.EnsureStreams(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	return js, queue.NewPublisher(js)
}

// arrivals records when each dispatch task reaches the dispatch stream.
func arrivals(t *testing.T, js jetstream.JetStream) (get func() map[string][]time.Time) {
	t.Helper()
	cons, err := js.CreateOrUpdateConsumer(t.Context(), queue.StreamDispatch, jetstream.ConsumerConfig{Durable: "probe", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string][]time.Time{}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		task, err := queue.DecodeTask(m.Data())
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		key := fmt.Sprintf("%s#%d", task.DeliveryId, task.Attempt)
		seen[key] = append(seen[key], time.Now())
		mu.Unlock()
		_ = m.Ack()
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cc.Stop)
	return func() map[string][]time.Time {
		mu.Lock()
		defer mu.Unlock()
		out := map[string][]time.Time{}
		for k, v := range seen {
			out[k] = append([]time.Time(nil), v...)
		}
		return out
	}
}

func runScheduler(t *testing.T, js jetstream.JetStream, pub *queue.Publisher) {
	t.Helper()
	cons, err := EnsureConsumer(t.Context(), js)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { _ = New(pub, prometheus.NewRegistry(), zap.NewNop()).Run(ctx, cons); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func retryTask(id string, attempt int32, due time.Time) *queuev1.RetryTask {
	return &queuev1.RetryTask{
		Task:  &queuev1.DeliveryTask{DeliveryId: id, EventId: "ev", Attempt: attempt, RetryLimit: 5, Data: []byte(`{}`)},
		DueAt: timestamppb.New(due),
	}
}

// A retry reaches the dispatch stream when it is due: not before, and soon after.
func TestRetryIsEnqueuedWhenDue(t *testing.T) {
	js, pub := setup(t)
	got := arrivals(t, js)
	runScheduler(t, js, pub)

	start := time.Now()
	retries := []struct {
		id      string
		attempt int32
		due     time.Time
	}{
		{"d-soon", 2, start.Add(500 * time.Millisecond)},
		{"d-later", 3, start.Add(2 * time.Second)},
		{"d-past", 2, start.Add(-time.Minute)},
	}
	dues := map[string]time.Time{}
	for _, r := range retries {
		dues[fmt.Sprintf("%s#%d", r.id, r.attempt)] = r.due
		if err := pub.PublishRetry(t.Context(), retryTask(r.id, r.attempt, r.due)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(got()) < len(dues) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	seen := got()
	for key, due := range dues {
		at, ok := seen[key]
		if !ok {
			t.Fatalf("%s never reached the dispatch stream", key)
		}
		if len(at) != 1 {
			t.Errorf("%s enqueued %d times, want once", key, len(at))
		}
		if early := due.Sub(at[0]); early > 0 {
			t.Errorf("%s enqueued %v before it was due", key, early)
		}
		if late := at[0].Sub(due); due.After(start) && late > 500*time.Millisecond {
			t.Errorf("%s enqueued %v after it was due", key, late)
		}
	}
}

// Two schedulers consuming together enqueue every due retry exactly once.
func TestTwoSchedulersEnqueueEachRetryOnce(t *testing.T) {
	js, pub := setup(t)
	got := arrivals(t, js)
	runScheduler(t, js, pub)
	runScheduler(t, js, pub)

	const n = 200
	due := time.Now().Add(300 * time.Millisecond)
	for i := range n {
		if err := pub.PublishRetry(t.Context(), retryTask(fmt.Sprintf("d%03d", i), 2, due)); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(15 * time.Second)
	for len(got()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // room for any duplicate to show up
	seen := got()
	if len(seen) != n {
		t.Fatalf("%d of %d retries enqueued", len(seen), n)
	}
	for key, at := range seen {
		if len(at) != 1 {
			t.Errorf("%s enqueued %d times", key, len(at))
		}
	}
}
