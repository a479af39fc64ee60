package httpapi

import (
	"bytes"
	"net/http"
	"testing"
)

// fuzzPost checks that no request body, however malformed, makes the gateway
// answer 5xx or panic.
func fuzzPost(f *testing.F, path string, seeds ...string) {
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	h := newHarness(f, Options{MaxBodyBytes: 64 << 10})
	client := &http.Client{}
	f.Fuzz(func(t *testing.T, body []byte) {
		resp, err := client.Post(h.url+path, "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatalf("request failed: %v", err)
		}
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("body %q answered %d", body, resp.StatusCode)
		}
	})
}

func FuzzCreateEventBody(f *testing.F) {
	fuzzPost(f, "/api/v1/groups/grp-1/events",
		`{"app_id": "app-1", "event_type": "invoice.paid", "data": {"a": [1, 2.5, "x", null, true]}}`,
		`{"app_id": "app-1", "event_type": "x", "data": "just a string", "idempotency_key": "k", "custom_headers": {"X-A": "b"}}`,
		`{"app_id": 1, "event_type": ["x"], "data": }`,
		`{"custom_headers": {"X-A": 5}}`,
		`[]`, `null`, `{"data": 1e999}`, "\xff\xfe", ``,
	)
}

func FuzzCreateEndpointBody(f *testing.F) {
	fuzzPost(f, "/api/v1/groups/grp-1/applications/app-1/endpoints",
		`{"url": "https://example.com/hook", "events": ["invoice.*"], "http_timeout": "10s", "rate_limit": 100, "rate_limit_duration": "1m"}`,
		`{"url": "ftp://x", "rate_limit": -1}`,
		`{"url": 7, "events": "x", "rate_limit": "many"}`,
		`{"rate_limit": 99999999999999999999}`,
		`{`, `{"events": [null]}`,
	)
}
