package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// The producer's W3C trace context, as a producer's own tracing would send it.
const (
	producerTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	producerSpanID  = "00f067aa0ba902b7"
	producerParent  = "00-" + producerTraceID + "-" + producerSpanID + "-01"
	producerState   = "vendor=abc,other=x1"
)

// sendTraced creates an event through the gateway with the producer's
// traceparent and tracestate headers and returns its id.
func sendTraced(t *testing.T, s *stack, groupID, appID string) string {
	t.Helper()
	body := `{"app_id":"` + appID + `","event_type":"invoice.paid","data":{"n":1}}`
	req, err := http.NewRequest("POST", s.Gateway+"/api/v1/groups/"+groupID+"/events", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("traceparent", producerParent)
	req.Header.Set("tracestate", producerState)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Data struct {
			UID         string `json:"uid"`
			TraceParent string `json:"trace_parent"`
			TraceState  string `json:"trace_state"`
		} `json:"data"`
	}
	if resp.StatusCode != 201 || json.Unmarshal(raw, &env) != nil {
		t.Fatalf("create event: status %d: %s", resp.StatusCode, raw)
	}
	if env.Data.TraceParent != producerParent || env.Data.TraceState != producerState {
		t.Fatalf("event stored trace context %q %q, want the producer's %q %q", env.Data.TraceParent, env.Data.TraceState, producerParent, producerState)
	}
	return env.Data.UID
}

// With tracing off (no OTEL_* set), every attempt, retries included,
// carries the producer's traceparent and tracestate exactly as they came,
// and an endpoint with forward_trace_context false gets neither.
func TestTraceContextIsForwardedAsItCame(t *testing.T) {
	s := startStack(t)
	retry := map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 3}}
	for _, tc := range []struct {
		name    string
		forward any // nil: the default
		want    bool
	}{
		{"default forwards", nil, true},
		{"explicitly on", true, true},
		{"turned off", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recv := newReceiver(t, 500) // one failure: the retry must carry it too
			var group, app resource
			s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "trace", "config": retry}, &group)
			s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications", map[string]any{"name": "shop"}, &app)
			body := map[string]any{"url": recv.URL, "events": []string{"invoice.*"}}
			if tc.forward != nil {
				body["forward_trace_context"] = tc.forward
			}
			var view struct {
				Forward bool `json:"forward_trace_context"`
			}
			s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications/"+app.UID+"/endpoints", body, &view)
			if view.Forward != tc.want {
				t.Fatalf("endpoint forward_trace_context %v, want %v", view.Forward, tc.want)
			}
			sendTraced(t, s, group.UID, app.UID)
			eventually(t, 30*time.Second, "the attempt and its retry", func() bool { return len(recv.requests()) >= 2 })
			for i, r := range recv.requests() {
				gotParent, gotState := r.header.Get("traceparent"), r.header.Get("tracestate")
				if !tc.want {
					if gotParent != "" || gotState != "" {
						t.Fatalf("attempt %d carried %q %q though the endpoint turned forwarding off", i+1, gotParent, gotState)
					}
					continue
				}
				if gotParent != producerParent || gotState != producerState {
					t.Fatalf("attempt %d carried traceparent %q tracestate %q, want the producer's %q %q", i+1, gotParent, gotState, producerParent, producerState)
				}
			}
		})
	}
	// Turning it off on an existing endpoint is an update like any other.
	t.Run("update turns it off", func(t *testing.T) {
		recv := newReceiver(t)
		group, app, ep := setup(s, nil, recv.URL)
		var view struct {
			Forward bool `json:"forward_trace_context"`
		}
		s.must(200, "PUT", "/api/v1/groups/"+group.UID+"/applications/"+app.UID+"/endpoints/"+ep.UID,
			map[string]any{"forward_trace_context": false}, &view)
		if view.Forward {
			t.Fatal("update answered forward_trace_context true")
		}
		sendTraced(t, s, group.UID, app.UID)
		eventually(t, 20*time.Second, "the attempt", func() bool { return len(recv.requests()) == 1 })
		if h := recv.requests()[0].header.Get("traceparent"); h != "" {
			t.Fatalf("attempt carried traceparent %q after forwarding was turned off", h)
		}
	})
}

// collector is a minimal OTLP/HTTP trace receiver: it keeps every span it
// is sent, with the service that sent it.
type collector struct {
	*httptest.Server
	mu    sync.Mutex
	spans []collected
}

type collected struct {
	service string
	span    *tracepb.Span
}

func newCollector(t *testing.T) *collector {
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		var req coltracepb.ExportTraceServiceRequest
		if r.URL.Path != "/v1/traces" || proto.Unmarshal(raw, &req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		for _, rs := range req.ResourceSpans {
			service := ""
			for _, kv := range rs.GetResource().GetAttributes() {
				if kv.Key == "service.name" {
					service = kv.GetValue().GetStringValue()
				}
			}
			for _, ss := range rs.ScopeSpans {
				for _, sp := range ss.Spans {
					c.spans = append(c.spans, collected{service, sp})
				}
			}
		}
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		_, _ = io.Copy(w, bytes.NewReader(b))
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) byID() map[string]collected {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]collected{}
	for _, s := range c.spans {
		out[hex.EncodeToString(s.span.SpanId)] = s
	}
	return out
}

// With OTLP export on, the producer's request, the gateway, ingest, the
// queue hop and every attempt are one trace: the receiver's traceparent
// names the attempt's span, which chains back through the services'
// spans to the producer's span, retry included.
func TestTracesReachTheReceiver(t *testing.T) {
	col := newCollector(t)
	s := startStack(t, "OTEL_EXPORTER_OTLP_ENDPOINT="+col.URL, "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf",
		"OTEL_BSP_SCHEDULE_DELAY=100")
	recv := newReceiver(t, 503)
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 3}}, recv.URL)
	sendTraced(t, s, group.UID, app.UID)
	eventually(t, 30*time.Second, "the attempt and its retry", func() bool { return len(recv.requests()) >= 2 })

	for i, r := range recv.requests()[:2] {
		parts := strings.Split(r.header.Get("traceparent"), "-")
		if len(parts) != 4 || parts[1] != producerTraceID {
			t.Fatalf("attempt %d traceparent %q: want the producer's trace %s", i+1, r.header.Get("traceparent"), producerTraceID)
		}
		if parts[2] == producerSpanID {
			t.Fatalf("attempt %d traceparent names the producer's span, want the attempt's own", i+1)
		}
		if got := r.header.Get("tracestate"); got != producerState {
			t.Fatalf("attempt %d tracestate %q, want the producer's %q", i+1, got, producerState)
		}
		// Walk the attempt's span up to the producer's, through the
		// services that handled the event.
		var chain []string
		eventually(t, 20*time.Second, "the attempt's spans to be exported", func() bool {
			spans := col.byID()
			chain = chain[:0]
			for id := parts[2]; id != producerSpanID; {
				sp, ok := spans[id]
				if !ok || hex.EncodeToString(sp.span.TraceId) != producerTraceID {
					return false
				}
				chain = append(chain, sp.service+":"+sp.span.Name)
				id = hex.EncodeToString(sp.span.ParentSpanId)
			}
			return true
		})
		joined := strings.Join(chain, " < ")
		for _, want := range []string{"dispatcher-service:deliver", "dispatcher-service:process CONVOY_DISPATCH", "api-gateway:POST /api/v1/groups/{group_id}/events"} {
			if !strings.Contains(joined, want) {
				t.Fatalf("attempt %d span chain %s lacks %q", i+1, joined, want)
			}
		}
		if i == 0 && !strings.Contains(joined, "ingest-service:") {
			t.Fatalf("first attempt's chain %s lacks ingest's span", joined)
		}
		if i == 1 && !strings.Contains(joined, "scheduler-service:publish CONVOY_DISPATCH") {
			t.Fatalf("retry's chain %s lacks the scheduler's publish", joined)
		}
		attrs := map[string]string{}
		for _, kv := range col.byID()[parts[2]].span.Attributes {
			attrs[kv.Key] = strings.Trim(kv.Value.String(), " ")
		}
		for _, k := range []string{"convoy.group.id", "convoy.app.id", "convoy.endpoint.id", "convoy.event.id", "convoy.delivery.id", "convoy.event.type", "convoy.attempt", "http.response.status_code", "convoy.outcome"} {
			if attrs[k] == "" {
				t.Fatalf("attempt %d span lacks %s: %v", i+1, k, attrs)
			}
		}
		t.Logf("attempt %d: %s", i+1, joined)
	}
}
