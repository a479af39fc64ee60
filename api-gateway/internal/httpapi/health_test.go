package httpapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestHealth(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(h *harness)
		// want maps path to status.
		want map[string]int
	}{
		{
			name:    "ingest serving",
			prepare: func(*harness) {},
			want:    map[string]int{"/health": 200, "/readyz": 404, "/healthz": 404, "/metrics": 404},
		},
		{
			name:    "ingest not serving",
			prepare: func(h *harness) { h.health.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING) },
			want:    map[string]int{"/health": 503, "/readyz": 404, "/healthz": 404},
		},
		{
			name:    "ingest down",
			prepare: func(h *harness) { h.grpc.Stop() },
			want:    map[string]int{"/health": 503, "/readyz": 404, "/healthz": 404},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, Options{})
			tt.prepare(h)
			for _, path := range slices.Sorted(maps.Keys(tt.want)) {
				res := h.do(t, "GET", path, "", nil)
				if res.status != tt.want[path] {
					t.Errorf("GET %s = %d, want %d; body %s", path, res.status, tt.want[path], res.body)
				}
				if env := res.envelope(t); *env.Status != (res.status == 200) {
					t.Errorf("GET %s envelope status = %v", path, *env.Status)
				}
			}
			if n := len(h.fake.recorded()); n != 0 {
				t.Errorf("health probes made %d ingest calls", n)
			}
		})
	}
}

// TestOpenAPIMatchesRoutes fails when a route is registered that the
// document lacks, or the document describes one that is not registered.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapiDocument, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	documented := map[string]json.RawMessage{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if method == "parameters" || method == "summary" || method == "description" {
				continue
			}
			documented[strings.ToUpper(method)+" "+path] = op
		}
	}
	registered := map[string]bool{}
	for _, rt := range routes() {
		key := rt.method + " " + rt.path
		registered[key] = true
		raw, ok := documented[key]
		if !ok {
			t.Errorf("route %s is not in openapi.json", key)
			continue
		}
		var op struct {
			OperationID string                     `json:"operationId"`
			Responses   map[string]json.RawMessage `json:"responses"`
			Security    *[]any                     `json:"security"`
		}
		if err := json.Unmarshal(raw, &op); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if op.OperationID != rt.operationID {
			t.Errorf("%s: operationId = %q, want %q", key, op.OperationID, rt.operationID)
		}
		if _, ok := op.Responses[strconv.Itoa(rt.status)]; !ok {
			t.Errorf("%s: success status %d not documented", key, rt.status)
		}
		if public := op.Security != nil && len(*op.Security) == 0; public != rt.public() {
			t.Errorf("%s: documented as public=%v, route public=%v", key, public, rt.public())
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("openapi.json describes %s, which is not registered", key)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t, Options{})
	res := h.do(t, "GET", "/api/v1/openapi.json", "", nil)
	if res.status != http.StatusOK || !bytes.Equal(res.body, openapiDocument) {
		t.Fatalf("GET /api/v1/openapi.json = %d, body differs from the embedded document", res.status)
	}
	if ct := res.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
}
