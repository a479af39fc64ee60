package e2e

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// opsURL is where a service serves /healthz, /readyz and /metrics: its
// CONVOY_OPS_ADDR, the gateway's included.
func (s *stack) opsURL(name string) string {
	for _, kv := range s.env[name] {
		if addr, ok := strings.CutPrefix(kv, "CONVOY_OPS_ADDR="); ok {
			return "http://" + addr
		}
	}
	s.t.Fatalf("no ops address for %s", name)
	return ""
}

// scrape sums every sample of each metric family a service exports.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		// Label values may hold spaces; the value is the last field.
		sp := strings.LastIndexByte(line, ' ')
		if sp < 0 {
			continue
		}
		full, name := line[:sp], line[:sp]
		if i := strings.IndexByte(name, '{'); i >= 0 {
			name = name[:i]
		}
		v, err := strconv.ParseFloat(line[sp+1:], 64)
		if err != nil {
			continue
		}
		out[name] += v
		out[full] = v
	}
	return out
}

// Health endpoints answer on every service's ops address, never on the
// gateway's public port, and the metrics move while events flow.
func TestMetricsAndHealthOnEveryService(t *testing.T) {
	s := startStack(t)
	for _, name := range services {
		for _, path := range []string{"/healthz", "/readyz"} {
			resp, err := http.Get(s.opsURL(name) + path)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%s %s: %v %v", name, path, err, resp)
			}
			resp.Body.Close()
		}
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		resp, err := http.Get(s.Gateway + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("the public API port answers %s with %d, want 404: ops endpoints belong on the ops address", path, resp.StatusCode)
		}
	}
	recv := newReceiver(t, 500) // one failure, so a retry and a sweep happen too
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 3}}, recv.URL)
	for range 3 {
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events", map[string]any{
			"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]int{"n": 1},
		}, nil)
	}
	eventually(t, 20*time.Second, "4 requests at the receiver", func() bool { return len(recv.requests()) == 4 })

	want := map[string][]string{
		"api-gateway": {"convoy_gateway_events_accepted_total", "convoy_gateway_requests_total", "convoy_gateway_request_duration_seconds_count"},
		"ingest-service": {"convoy_events_accepted_total", "convoy_deliveries_created_total", "convoy_ingest_calls_total",
			"convoy_ingest_commit_batch_events_count"},
		"dispatcher-service": {`convoy_attempts_total{outcome="success"}`, `convoy_attempts_total{outcome="http_error"}`,
			`convoy_deliveries_total{status="Success"}`, `convoy_deliveries_total{status="Retry"}`,
			`convoy_delivery_latency_seconds_count{stage="first_attempt"}`, `convoy_delivery_latency_seconds_count{stage="success"}`},
		"scheduler-service": {"convoy_scheduler_retries_enqueued_total", `convoy_scheduler_sweeps_total{result="ok"}`},
	}
	var missing []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		missing = missing[:0]
		for name, series := range want {
			got := scrape(t, s.opsURL(name))
			for _, m := range series {
				if got[m] <= 0 {
					missing = append(missing, name+" "+m)
				}
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("metrics that did not move: %v", missing)
	}
	for _, name := range []string{"dispatcher-service", "scheduler-service"} {
		if _, ok := scrape(t, s.opsURL(name))["convoy_queue_pending_messages"]; !ok {
			t.Errorf("%s exports no queue lag", name)
		}
	}
}
