package grpcapi_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"convoy/core/ids"
	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// What a broadcast to many endpoints costs, step by step; set
// CONVOY_BROADCAST_ENDPOINTS (10000, say) to run it.
func TestBroadcastCost(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("CONVOY_BROADCAST_ENDPOINTS"))
	if n == 0 {
		t.Skip("set CONVOY_BROADCAST_ENDPOINTS to measure")
	}
	h := newHarness(t)
	g := h.group(t, "bcast").Uid
	start := time.Now()
	const perApp = 10
	for i := 0; i < n/perApp; i++ {
		app := h.app(t, g, "a").Uid
		for range perApp {
			at := time.Now().UTC()
			if err := h.store.CreateEndpoint(t.Context(), &model.Endpoint{UID: ids.New(), GroupID: g, AppID: app, URL: "https://example.com/h",
				Events: []string{"*"}, Status: model.EndpointActive, HTTPTimeout: 30 * time.Second, RateLimit: 5000, RateLimitDuration: time.Minute,
				Secrets: []model.Secret{{Value: "secret-value", CreatedAt: at}}, CreatedAt: at, UpdatedAt: at}); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("created %d endpoints in %v", n, time.Since(start))
	t0 := time.Now()
	eps, err := h.store.EndpointsOfGroup(t.Context(), g)
	if err != nil || len(eps) != n {
		t.Fatalf("EndpointsOfGroup: %d, %v", len(eps), err)
	}
	t.Logf("EndpointsOfGroup: %v", time.Since(t0))
	for i := range 3 {
		t0 = time.Now()
		ev, err := h.api.BroadcastEvent(h.admin, &ingestv1.BroadcastEventRequest{GroupId: g, EventType: "x", Data: []byte(`{"kind":"bench"}`)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("broadcast %d (%s): %v", i, ev.Uid, time.Since(t0))
	}
}
