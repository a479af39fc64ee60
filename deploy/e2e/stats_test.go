package e2e

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"convoy/core/deadletter"
	"convoy/core/embedded/embeddedtest"
	"convoy/core/ids"
	"convoy/core/queue"
	queuev1 "convoy/proto/convoy/queue/v1"

	"go.uber.org/zap"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// dispatcherCountsStats says whether the dispatcher tells the stats of
// every attempt (consume calling stats.Observe); until it does, the stats
// stay empty and the end-to-end count is skipped.
const dispatcherCountsStats = true

type statsFigures struct {
	Success int64    `json:"success"`
	Failure int64    `json:"failure"`
	Timeout int64    `json:"timeout"`
	P50     *float64 `json:"p50"`
	P99     *float64 `json:"p99"`
}

type endpointStats struct {
	Window  string       `json:"window"`
	Totals  statsFigures `json:"totals"`
	Buckets []struct {
		Start string `json:"start"`
		statsFigures
	} `json:"buckets"`
	LastSuccessAt       *string `json:"last_success_at"`
	LastFailureAt       *string `json:"last_failure_at"`
	ConsecutiveFailures int64   `json:"consecutive_failures"`
	Circuit             struct {
		State string `json:"state"`
	} `json:"circuit"`
	DeliveriesPending int64 `json:"deliveries_pending"`
}

type deadLetterItem struct {
	ID         uint64 `json:"id"`
	Reason     string `json:"reason"`
	DeliveryID string `json:"delivery_id"`
	EndpointID string `json:"endpoint_id"`
	HasOutcome bool   `json:"has_outcome"`
}

// Endpoint stats and dead letters through the real binaries, on one stack.
func TestEndpointStatsAndDeadLetters(t *testing.T) {
	mongoURI, natsURL := embeddedtest.ForTest(t)
	s := startStackOn(t, mongoURI, natsURL)

	t.Run("stats after successes and failures", func(t *testing.T) {
		t.Parallel()
		recv := newReceiver(t, 500, 500)
		group, app, ep := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 3}}, recv.URL)
		path := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints/" + ep.UID + "/stats"

		var st endpointStats
		s.must(200, "GET", path, nil, &st)
		if st.Window != "24h0m0s" || len(st.Buckets) != 288 || st.Totals.Success+st.Totals.Failure+st.Totals.Timeout != 0 ||
			st.Circuit.State != "closed" || st.LastSuccessAt != nil || st.Totals.P50 != nil {
			t.Fatalf("stats of a new endpoint = %+v", st)
		}
		code, env := s.call("GET", path+"?window="+url.QueryEscape("8d"), adminKey, nil, nil)
		if code != 400 || !strings.Contains(env.Message, "window") {
			t.Fatalf("window=8d: %d %q, want 400 naming window", code, env.Message)
		}

		if !dispatcherCountsStats {
			t.Skip("the dispatcher does not call stats.Observe yet")
		}
		// 4 events; the first two attempts fail and are retried: 6 attempts.
		for range 4 {
			s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": 1}}, nil)
		}
		eventually(t, 30*time.Second, "6 requests at the receiver", func() bool { return len(recv.requests()) == 6 })
		eventually(t, 30*time.Second, "the stats to count them", func() bool {
			s.must(200, "GET", path+"?window=1h", nil, &st)
			return st.Totals.Success == 4 && st.Totals.Failure == 2
		})
		if st.Totals.Timeout != 0 || st.Totals.P50 == nil || st.Totals.P99 == nil || *st.Totals.P99 < *st.Totals.P50 ||
			st.LastSuccessAt == nil || st.LastFailureAt == nil || len(st.Buckets) != 12 || st.Circuit.State != "closed" {
			t.Errorf("stats = %+v", st)
		}
		var inBuckets int64
		for _, b := range st.Buckets {
			inBuckets += b.Success + b.Failure + b.Timeout
		}
		if inBuckets != 6 {
			t.Errorf("buckets hold %d attempts, want 6", inBuckets)
		}
		eventually(t, 20*time.Second, "no delivery pending", func() bool {
			s.must(200, "GET", path, nil, &st)
			return st.DeliveriesPending == 0 && st.ConsecutiveFailures == 0
		})
	})

	t.Run("dead letters listed and redriven", func(t *testing.T) {
		t.Parallel()
		recv := newReceiver(t)
		group, app, ep := setup(s, nil, recv.URL)
		// A task a dispatcher dead-lettered because the store kept failing.
		task := &queuev1.DeliveryTask{
			DeliveryId: ids.Delivery(ids.New(), ep.UID), EventId: ids.New(), GroupId: group.UID, AppId: app.UID, EndpointId: ep.UID,
			EventType: "invoice.paid", Data: []byte(`{"dead":"letter"}`), Attempt: 1, RetryLimit: 3, AcceptedAt: timestamppb.Now(),
		}
		raw, err := proto.Marshal(task)
		if err != nil {
			t.Fatal(err)
		}
		nc, js, err := queue.Connect(natsURL, "e2e-deadletters", zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if err := deadletter.New(js).Put(t.Context(), deadletter.Entry{Reason: deadletter.ReasonStoreFailing, Error: "mongodb: timeout",
			Subject: queue.DispatchSubject(task.DeliveryId), Task: raw}); err != nil {
			t.Fatal(err)
		}

		var found *deadLetterItem
		eventually(t, 10*time.Second, "the entry in the admin list", func() bool {
			var p page[deadLetterItem]
			s.must(200, "GET", "/api/v1/admin/deadletters?per_page=100", nil, &p)
			for i := range p.Content {
				if p.Content[i].DeliveryID == task.DeliveryId {
					found = &p.Content[i]
				}
			}
			return found != nil
		})
		if found.Reason != "store_failing" || found.EndpointID != ep.UID || found.HasOutcome || found.ID == 0 {
			t.Errorf("entry = %+v", found)
		}
		eventually(t, 20*time.Second, "the dispatcher's gauge to count it", func() bool {
			return scrape(t, s.opsURL("dispatcher-service"))["convoy_dispatch_dead_letters"] >= 1
		})

		var res struct {
			Redriven int `json:"redriven"`
			Failed   int `json:"failed"`
		}
		s.must(200, "POST", "/api/v1/admin/deadletters/redrive", map[string]any{"ids": []uint64{found.ID}}, &res)
		if res.Redriven != 1 || res.Failed != 0 {
			t.Fatalf("redrive = %+v", res)
		}
		eventually(t, 20*time.Second, "the redriven task delivered", func() bool {
			for _, r := range recv.requests() {
				if r.header.Get("X-Convoy-Delivery-ID") == task.DeliveryId && string(r.body) == `{"dead":"letter"}` {
					return true
				}
			}
			return false
		})
		waitDelivery(t, s, group.UID, task.DeliveryId, "Success")
		var p page[deadLetterItem]
		s.must(200, "GET", "/api/v1/admin/deadletters?per_page=100", nil, &p)
		for _, d := range p.Content {
			if d.ID == found.ID {
				t.Errorf("redriven entry still listed: %+v", d)
			}
		}
	})
}
