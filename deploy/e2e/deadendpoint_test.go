package e2e

import (
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// The dead-endpoint cycle: exhausted retries disable the endpoint, events
// meanwhile are held back as Discarded, and re-enabling it replays them.
func TestDeadEndpointCycle(t *testing.T) {
	s := startStack(t)
	var healthy atomic.Bool
	var hits atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		if healthy.Load() {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(503)
	}))
	t.Cleanup(recv.Close)
	group, app, endpoint := setup(s, map[string]any{
		"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 2}, "disable_endpoint": true,
	}, recv.URL)
	endpointPath := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints/" + endpoint.UID
	send := func() string {
		var ev resource
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
			"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]any{"at": time.Now().UnixNano()},
		}, &ev)
		return ev.UID
	}
	statusOf := func(eventID string) string {
		ds := deliveriesOf(s, group.UID, eventID)
		if len(ds) != 1 {
			return ""
		}
		return ds[0].Status
	}

	first := send()
	eventually(t, 20*time.Second, "the first delivery to fail all its attempts", func() bool { return statusOf(first) == "Failure" })
	if ds := deliveriesOf(s, group.UID, first); ds[0].Metadata.NumTrials != 2 {
		t.Fatalf("num_trials %d, want the retry limit 2", ds[0].Metadata.NumTrials)
	}
	var ep resource
	eventually(t, 10*time.Second, "the endpoint to become inactive", func() bool {
		s.must(200, "GET", endpointPath, nil, &ep)
		return ep.Status == "inactive"
	})

	hitsBefore := hits.Load()
	second := send()
	eventually(t, 10*time.Second, "the held-back delivery to be Discarded", func() bool { return statusOf(second) == "Discarded" })
	time.Sleep(500 * time.Millisecond)
	if hits.Load() != hitsBefore {
		t.Fatal("an inactive endpoint was sent a request")
	}

	healthy.Store(true)
	s.must(200, "PUT", endpointPath, map[string]any{"status": "active"}, &ep)
	if ep.Status != "pending" {
		t.Fatalf("re-enabled endpoint is %q, want pending until a replay succeeds", ep.Status)
	}
	eventually(t, 20*time.Second, "the discarded delivery to be replayed", func() bool { return statusOf(second) == "Success" })
	eventually(t, 10*time.Second, "the endpoint to become active", func() bool {
		s.must(200, "GET", endpointPath, nil, &ep)
		return ep.Status == "active"
	})
	if got := statusOf(first); got != "Failure" {
		t.Fatalf("the exhausted delivery is %q; only Discarded ones are replayed", got)
	}
}
