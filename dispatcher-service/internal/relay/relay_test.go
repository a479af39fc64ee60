package relay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/listener"
	"convoy/dispatcher-service/internal/deliver"
	"convoy/dispatcher-service/internal/outbound"
	"convoy/dispatcher-service/internal/relay"
	ingestv1 "convoy/proto/convoy/ingest/v1"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"
)

type attached map[string]bool

func (a attached) Attached(id string) bool { return a[id] }

// A listener's report becomes what the HTTP client would have returned; a
// report for another delivery, no listener, or a silent one is a failed
// attempt.
func TestRelay(t *testing.T) {
	nc := embeddedtest.JetStream(t).Conn()
	r := relay.New(nc, attached{"ep": true, "gone": true, "mute": true, "liar": true}, 8)
	if _, ok := r.Route("elsewhere", deliver.Delivery{}); ok {
		t.Fatal("an endpoint with no listener was routed to one")
	}

	var seen *ingestv1.ListenDelivery
	answer := func(subject string, reply func(*ingestv1.ListenDelivery) *ingestv1.ListenOutcome) {
		sub, err := nc.Subscribe(subject, func(m *nats.Msg) {
			var d ingestv1.ListenDelivery
			if err := proto.Unmarshal(m.Data, &d); err != nil {
				t.Errorf("decode: %v", err)
				return
			}
			seen = &d
			if out := reply(&d); out != nil {
				data, _ := proto.Marshal(out)
				_ = m.Respond(data)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = sub.Unsubscribe() })
	}
	answer(listener.Subject("ep"), func(d *ingestv1.ListenDelivery) *ingestv1.ListenOutcome {
		return &ingestv1.ListenOutcome{DeliveryId: d.DeliveryId, StatusCode: 503, DurationMs: 42, Body: []byte("0123456789"),
			Headers: []*ingestv1.ListenHeader{{Name: "Retry-After", Value: "7"}}}
	})
	answer(listener.Subject("liar"), func(*ingestv1.ListenDelivery) *ingestv1.ListenOutcome {
		return &ingestv1.ListenOutcome{DeliveryId: "someone-else", StatusCode: 200}
	})
	answer(listener.Subject("mute"), func(*ingestv1.ListenDelivery) *ingestv1.ListenOutcome { return nil })

	post := func(endpoint string, timeout time.Duration) outbound.Result {
		p, ok := r.Route(endpoint, deliver.Delivery{DeliveryID: "del-1", EventID: "ev-1", EventType: "invoice.paid", Attempt: 3})
		if !ok {
			t.Fatalf("%s not routed", endpoint)
		}
		h := http.Header{"X-Convoy-Signature": {"t=1,v1=abc"}, "Content-Type": {"application/json"}}
		return p.Post(context.Background(), "https://example.com/hook", h, []byte(`{"x":1}`), timeout)
	}

	res := post("ep", time.Second)
	if res.Err != nil || res.StatusCode != 503 || res.Duration != 42*time.Millisecond || res.Header.Get("Retry-After") != "7" ||
		string(res.Body) != "01234567" || !res.Truncated || res.IP != relay.ListenerIP {
		t.Fatalf("result %+v, want the reported 503 with its body capped", res)
	}
	if seen == nil || seen.DeliveryId != "del-1" || seen.Attempt != 3 || seen.EndpointId != "ep" || seen.Url != "https://example.com/hook" ||
		string(seen.Body) != `{"x":1}` || len(seen.Headers) != 2 || seen.TimeoutMs != 1000 {
		t.Fatalf("listener got %v, want the signed request as it would be posted", seen)
	}

	cases := []struct {
		endpoint string
		timeout  time.Duration
		want     string
		timedOut bool
	}{
		{"liar", time.Second, "answered for delivery", false},
		{"gone", time.Second, "no listener connected", false},
		// The wait is the endpoint's timeout plus a margin, then a timeout.
		{"mute", 10 * time.Millisecond, "timeout", true},
	}
	for _, c := range cases {
		t.Run(c.endpoint, func(t *testing.T) {
			res := post(c.endpoint, c.timeout)
			if res.Err == nil || !strings.Contains(res.Err.Error(), c.want) || errors.Is(res.Err, outbound.ErrTimeout) != c.timedOut {
				t.Fatalf("error %v, want one saying %q", res.Err, c.want)
			}
		})
	}
}
