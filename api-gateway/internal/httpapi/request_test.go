package httpapi

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestRequestIDs(t *testing.T) {
	generated := regexp.MustCompile(`^[0-9a-f]{32}$`)
	tests := []struct {
		name  string
		given string
		keep  bool
	}{
		{"kept", "abc-123_XYZ.9", true},
		{"missing", "", false},
		{"with space replaced", "abc 123", false},
		{"too long replaced", strings.Repeat("a", maxRequestIDLen+1), false},
	}
	h := newHarness(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := map[string]string{}
			if tt.given != "" {
				header["X-Request-ID"] = tt.given
			}
			before := len(h.fake.recorded())
			res := h.do(t, "GET", "/api/v1/groups/grp-1", "", header)
			got := res.header.Get("X-Request-ID")
			if tt.keep && got != tt.given {
				t.Errorf("X-Request-ID = %q, want %q", got, tt.given)
			}
			if !tt.keep && !generated.MatchString(got) {
				t.Errorf("X-Request-ID = %q, want a generated id", got)
			}
			if md := h.fake.recorded()[before].md.Get("x-request-id"); len(md) != 1 || md[0] != got {
				t.Errorf("forwarded x-request-id = %q, want %q", md, got)
			}
		})
	}
}

// TestAccessLog checks one info line per request with the route pattern,
// and that neither the Authorization header nor bodies are logged.
func TestAccessLog(t *testing.T) {
	h := newHarness(t, Options{})
	const secret = "Bearer super-secret-key"
	h.do(t, "POST", "/api/v1/groups/grp-1/events", `{"app_id":"a","data":{"card":"4111-1111"}}`,
		map[string]string{"Authorization": secret, "X-Request-ID": "rid-log"})
	h.do(t, "GET", "/nowhere", "", map[string]string{"X-Request-ID": "rid-404"})

	lines := h.logs.FilterMessage("request").All()
	if len(lines) != 2 {
		t.Fatalf("got %d access log lines, want 2", len(lines))
	}
	want := []map[string]any{
		{"method": "POST", "route": "POST /api/v1/groups/{group_id}/events", "status": int64(201), "request_id": "rid-log"},
		{"method": "GET", "route": "unmatched", "status": int64(404), "request_id": "rid-404"},
	}
	for i, line := range lines {
		fields := line.ContextMap()
		for k, v := range want[i] {
			if fields[k] != v {
				t.Errorf("line %d: %s = %v (%T), want %v", i, k, fields[k], fields[k], v)
			}
		}
		if _, ok := fields["duration"]; !ok {
			t.Errorf("line %d has no duration", i)
		}
	}
	for _, e := range h.logs.All() {
		dump := fmt.Sprint(e.Message, e.ContextMap())
		if strings.Contains(dump, "super-secret-key") || strings.Contains(dump, "4111") {
			t.Errorf("log line leaks a credential or body: %s", dump)
		}
	}
}

// TestPanicAnswers500 checks that a handler panic becomes a logged 500
// envelope rather than a dropped connection. A nil ingest client panics on
// first use.
func TestPanicAnswers500(t *testing.T) {
	h := newHarness(t, Options{})
	h.api.ingest = nil
	res := h.do(t, "GET", "/api/v1/groups/grp-1", "", map[string]string{"X-Request-ID": "rid-panic"})
	if res.status != 500 || *res.envelope(t).Message != msgInternal {
		t.Fatalf("got %d %s, want 500 %q", res.status, res.body, msgInternal)
	}
	if n := h.logs.FilterMessage("handler panicked").FilterField(zapcoreString("request_id", "rid-panic")).Len(); n != 1 {
		t.Errorf("got %d panic log lines, want 1", n)
	}
}
