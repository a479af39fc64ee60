package grpcapi_test

import (
	"context"
	"testing"
	"time"

	"convoy/core/listener"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

// A Listen stream takes the attempts sent to its endpoint's subject (as a
// dispatcher sends them), the report of any replica answers the attempt,
// the session is visible in the bucket while attached, and what is still
// awaited when the stream ends is answered "listener disconnected".
func TestListenRelay(t *testing.T) {
	h := newHarness(t)
	g := h.group(t, "g").Uid
	app := h.app(t, g, "a").Uid
	ep := h.endpoint(t, g, app).Uid
	// A Failure delivery of the endpoint, stored before the cursor below
	// and one after it: only the later one is sent again.
	old := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: h.event(t, g, app, "x").Uid})[0].Uid
	h.setStatus(t, model.StatusFailure, old)
	time.Sleep(5 * time.Millisecond) // the cursor must fall strictly between them (millisecond times)
	cursor := time.Now().UTC().Format(time.RFC3339Nano)
	time.Sleep(5 * time.Millisecond)
	missed := h.deliveries(t, g, &ingestv1.DeliveryFilter{EventId: h.event(t, g, app, "x").Uid})[0].Uid
	h.setStatus(t, model.StatusFailure, missed)

	kv, err := listener.EnsureBucket(t.Context(), h.js, 1)
	if err != nil {
		t.Fatal(err)
	}
	sessions := listener.NewSessions(kv)
	watchCtx, stopWatch := context.WithCancel(t.Context())
	defer stopWatch()
	go func() { _ = sessions.Run(watchCtx) }()

	ctx, cancel := context.WithCancel(h.admin)
	defer cancel()
	stream, err := h.api.Listen(ctx, &ingestv1.ListenRequest{GroupId: g, EndpointId: ep, Cursor: cursor})
	if err != nil {
		t.Fatal(err)
	}
	first, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	if r := first.GetReady(); r == nil || r.Cursor != cursor || r.Resent != 1 {
		t.Fatalf("first message %v, want ready with cursor %s and 1 sent again", first, cursor)
	}
	if d := must(h.api.GetDelivery(h.admin, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: missed}))(t); d.Status != model.StatusScheduled {
		t.Fatalf("missed delivery is %s, want Scheduled again", d.Status)
	}
	if d := must(h.api.GetDelivery(h.admin, &ingestv1.GetDeliveryRequest{GroupId: g, DeliveryId: old}))(t); d.Status != model.StatusFailure {
		t.Fatalf("delivery before the cursor is %s, want it left Failure", d.Status)
	}
	eventually(t, 5*time.Second, "the session to show in the bucket", func() bool { return sessions.Attached(ep) })

	// A dispatcher's request, answered through ReportListenOutcome.
	nc := h.js.Conn()
	ask := func(deliveryID string) <-chan *nats.Msg {
		data, _ := proto.Marshal(&ingestv1.ListenDelivery{DeliveryId: deliveryID, EndpointId: ep, Body: []byte(`{"a":1}`),
			Headers: []*ingestv1.ListenHeader{{Name: "X-Convoy-Signature", Value: "sig"}}, TimeoutMs: 5000})
		out := make(chan *nats.Msg, 1)
		go func() {
			m, err := nc.RequestMsg(&nats.Msg{Subject: listener.Subject(ep), Data: data}, 10*time.Second)
			if err != nil {
				t.Errorf("request: %v", err)
				close(out)
				return
			}
			out <- m
		}()
		return out
	}
	answer := ask("d1")
	m, err := stream.Recv()
	if err != nil {
		t.Fatal(err)
	}
	d := m.GetDelivery()
	if d == nil || d.DeliveryId != "d1" || string(d.Body) != `{"a":1}` || len(d.Headers) != 1 || d.Headers[0].Value != "sig" || d.ReplyToken == "" {
		t.Fatalf("stream message %v, want the request as sent with a reply token", m)
	}
	must(h.api.ReportListenOutcome(h.admin, &ingestv1.ReportListenOutcomeRequest{GroupId: g, EndpointId: ep, ReplyToken: d.ReplyToken,
		Outcome: &ingestv1.ListenOutcome{DeliveryId: "d1", StatusCode: 201, Body: []byte("made")}}))(t)
	var got ingestv1.ListenOutcome
	if r, ok := <-answer; !ok || proto.Unmarshal(r.Data, &got) != nil || got.StatusCode != 201 || string(got.Body) != "made" {
		t.Fatalf("dispatcher got %v, want the reported 201", &got)
	}

	// One handed down and never reported: the stream's end answers it.
	pending := ask("d2")
	if _, err := stream.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	got.Reset()
	if r, ok := <-pending; !ok || proto.Unmarshal(r.Data, &got) != nil || got.DeliveryId != "d2" || got.Error != "listener disconnected" {
		t.Fatalf("dispatcher got %v, want listener disconnected for d2", &got)
	}
	eventually(t, 5*time.Second, "the session to leave the bucket after the stream ended", func() bool { return !sessions.Attached(ep) })
}
