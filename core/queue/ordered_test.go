package queue_test

import (
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/queue"
	queuev1 "convoy/proto/convoy/queue/v1"

	"github.com/nats-io/nats.go/jetstream"
)

func orderedTask(endpoint, delivery string, ordered bool) *queuev1.DeliveryTask {
	return &queuev1.DeliveryTask{DeliveryId: delivery, EventId: "ev-" + delivery, GroupId: "g", EndpointId: endpoint, Attempt: 1, RetryLimit: 3, Ordered: ordered}
}

// TestOrderedQueue publishes ordered and unordered tasks and checks where
// each lands, what the heads are, and that an ordered endpoint's consumer
// lets one task out at a time, in publish order.
func TestOrderedQueue(t *testing.T) {
	ctx := t.Context()
	js := embeddedtest.JetStream(t)
	if err := queue.EnsureStreams(ctx, js, 1); err != nil {
		t.Fatal(err)
	}
	pub := queue.NewPublisher(js)
	tasks := []*queuev1.DeliveryTask{
		orderedTask("ep1", "d1", true), orderedTask("ep2", "d2", true), orderedTask("ep1", "d3", true),
		orderedTask("ep1", "d4", false), orderedTask("ep1", "d5", true),
	}
	if err := pub.PublishTasks(ctx, tasks); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ delivery, stream string }{
		{"d1", queue.StreamOrdered}, {"d2", queue.StreamOrdered}, {"d3", queue.StreamOrdered},
		{"d4", queue.StreamDispatch}, {"d5", queue.StreamOrdered}, {"d6", ""},
	} {
		got, err := pub.Where(ctx, tc.delivery)
		if err != nil || got != tc.stream {
			t.Errorf("Where(%s) = %q, %v; want %q", tc.delivery, got, err, tc.stream)
		}
		// Asked with its endpoint, the answer is the same.
		got, err = pub.WhereOrdered(ctx, "ep1", tc.delivery)
		if tc.delivery == "d2" {
			tc.stream = "" // not ep1's
		}
		if err != nil || got != tc.stream {
			t.Errorf("WhereOrdered(ep1, %s) = %q, %v; want %q", tc.delivery, got, err, tc.stream)
		}
	}
	for _, tc := range []struct{ endpoint, head string }{{"ep1", "d1"}, {"ep2", "d2"}, {"ep3", ""}} {
		got, err := pub.OrderedHead(ctx, tc.endpoint)
		if err != nil || got != tc.head {
			t.Errorf("OrderedHead(%s) = %q, %v; want %q", tc.endpoint, got, err, tc.head)
		}
	}

	cons, err := js.Consumer(ctx, queue.StreamOrdered, queue.OrderedConsumer("ep1"))
	if err != nil {
		t.Fatalf("the publish made no consumer for ep1: %v", err)
	}
	if got := queue.OrderedEndpoint(cons.CachedInfo().Name); got != "ep1" {
		t.Fatalf("OrderedEndpoint = %q", got)
	}
	next := func() jetstream.Msg {
		t.Helper()
		b, err := cons.Fetch(2, jetstream.FetchMaxWait(800*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		var got []jetstream.Msg
		for m := range b.Messages() {
			got = append(got, m)
		}
		if len(got) != 1 {
			t.Fatalf("fetch handed out %d tasks, want exactly 1", len(got))
		}
		return got[0]
	}
	m := next()
	if m.Subject() != queue.OrderedSubject("ep1", "d1") {
		t.Fatalf("first task %s, want d1's", m.Subject())
	}
	// Handed back with a delay, the head stays pending and holds the rest.
	if err := m.NakWithDelay(300 * time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if m = next(); m.Subject() != queue.OrderedSubject("ep1", "d1") {
		t.Fatalf("after a hand-back %s came out, want d1's again", m.Subject())
	}
	for _, want := range []string{"d3", "d5"} {
		if err := m.DoubleAck(ctx); err != nil {
			t.Fatal(err)
		}
		if m = next(); m.Subject() != queue.OrderedSubject("ep1", want) {
			t.Fatalf("next task %s, want %s's", m.Subject(), want)
		}
		if head, _ := pub.OrderedHead(ctx, "ep1"); head != want {
			t.Fatalf("head %q, want %q", head, want)
		}
	}

	// A lost ordered task is queued again on the ordered stream.
	if err := m.DoubleAck(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pub.Requeue(ctx, orderedTask("ep1", "d5", true)); err != nil {
		t.Fatal(err)
	}
	if got, _ := pub.Where(ctx, "d5"); got != queue.StreamOrdered {
		t.Fatalf("requeued d5 is on %q", got)
	}
}
