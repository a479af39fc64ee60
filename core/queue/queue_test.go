package queue_test

import (
	"fmt"
	"sync"
	"testing"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/queue"
	queuev1 "convoy/proto/convoy/queue/v1"
)

// Batches larger than the connection's bound on unacknowledged publishes
// (4,000), from several callers at once, as broadcasts to thousands of
// endpoints are, are all stored.
func TestPublishTasksLargerThanTheAsyncBound(t *testing.T) {
	js := embeddedtest.JetStream(t)
	if err := queue.EnsureStreams(t.Context(), js, 1); err != nil {
		t.Fatal(err)
	}
	p := queue.NewPublisher(js)
	const callers, perCaller = 3, 6000
	var wg sync.WaitGroup
	errs := make([]error, callers)
	for c := range callers {
		tasks := make([]*queuev1.DeliveryTask, perCaller)
		for i := range tasks {
			tasks[i] = &queuev1.DeliveryTask{DeliveryId: fmt.Sprintf("dlv-%d-%05d", c, i), EventId: "evt", Attempt: 1}
		}
		wg.Go(func() { errs[c] = p.PublishTasks(t.Context(), tasks) })
	}
	wg.Wait()
	for c, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", c, err)
		}
	}
	s, err := js.Stream(t.Context(), queue.StreamDispatch)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.State.Msgs; got != callers*perCaller {
		t.Fatalf("stream holds %d tasks, want %d", got, callers*perCaller)
	}
}
