package httpapi

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestBadInputNeverReachesIngest covers what only the gateway can see:
// malformed JSON, wrong JSON types, oversized bodies and bad query
// parameters. Each must be a 4xx naming the problem, with no RPC made.
func TestBadInputNeverReachesIngest(t *testing.T) {
	const (
		g  = "/api/v1/groups/grp-1"
		ep = g + "/applications/app-1/endpoints"
	)
	tests := []struct {
		name        string
		method      string
		path        string
		body        string
		header      map[string]string
		wantStatus  int
		wantMessage []string
	}{
		{
			name: "truncated JSON", method: "POST", path: "/api/v1/groups", body: `{"name": "prod"`,
			wantStatus: 400, wantMessage: []string{"malformed JSON", "line 1, column 15", "unexpected end"},
		},
		{
			name: "syntax error on a later line", method: "POST", path: "/api/v1/groups", body: "{\n  \"name\": \"prod\",\n  \"config\": }",
			wantStatus: 400, wantMessage: []string{"malformed JSON", "line 3, column 13", "invalid character '}'"},
		},
		{
			name: "trailing garbage", method: "POST", path: "/api/v1/groups", body: `{"name":"prod"} x`,
			wantStatus: 400, wantMessage: []string{"malformed JSON", "column 17", "after top-level value"},
		},
		{
			name: "body is an array", method: "POST", path: "/api/v1/groups", body: `["prod"]`,
			wantStatus: 400, wantMessage: []string{"request body must be a JSON object"},
		},
		{
			name: "rate_limit as string", method: "POST", path: ep, body: `{"url":"https://x","rate_limit":"5000"}`,
			wantStatus: 400, wantMessage: []string{"rate_limit must be a number"},
		},
		{
			name: "ordered as string", method: "POST", path: ep, body: `{"url":"https://x","ordered":"yes"}`,
			wantStatus: 400, wantMessage: []string{"ordered must be a boolean"},
		},
		{
			name: "ordered a number on update", method: "PUT", path: ep + "/ep-1", body: `{"ordered":1}`,
			wantStatus: 400, wantMessage: []string{"ordered must be a boolean"},
		},
		{
			name: "rate_limit fractional", method: "PUT", path: ep + "/ep-1", body: `{"rate_limit":1.5}`,
			wantStatus: 400, wantMessage: []string{"rate_limit must be an integer between -2147483648 and 2147483647"},
		},
		{
			name: "rate_limit overflow", method: "POST", path: ep, body: `{"rate_limit":99999999999}`,
			wantStatus: 400, wantMessage: []string{"rate_limit must be an integer between"},
		},
		{
			name: "nested config field", method: "PUT", path: g, body: `{"config":{"strategy":{"retry_count":"3"}}}`,
			wantStatus: 400, wantMessage: []string{"config.strategy.retry_count must be a number"},
		},
		{
			name: "meta event types not an array", method: "PUT", path: g, body: `{"config":{"meta_event":{"event_types":"endpoint.disabled"}}}`,
			wantStatus: 400, wantMessage: []string{"config.meta_event.event_types must be"},
		},
		{
			name: "meta event is_enabled not a boolean", method: "POST", path: "/api/v1/groups", body: `{"name":"p","config":{"meta_event":{"is_enabled":"yes"}}}`,
			wantStatus: 400, wantMessage: []string{"config.meta_event.is_enabled must be"},
		},
		{
			name: "circuit breaker threshold as string", method: "PUT", path: g, body: `{"config":{"circuit_breaker":{"failure_threshold":"70"}}}`,
			wantStatus: 400, wantMessage: []string{"config.circuit_breaker.failure_threshold must be a number"},
		},
		{
			name: "circuit breaker window as number", method: "POST", path: "/api/v1/groups", body: `{"name":"p","config":{"circuit_breaker":{"window":60}}}`,
			wantStatus: 400, wantMessage: []string{"config.circuit_breaker.window must be a string"},
		},
		{
			name: "config not an object", method: "POST", path: "/api/v1/groups", body: `{"config":"fast"}`,
			wantStatus: 400, wantMessage: []string{"config must be an object"},
		},
		{
			name: "boolean as string", method: "PUT", path: g, body: `{"config":{"replay_attacks":"yes"}}`,
			wantStatus: 400, wantMessage: []string{"config.replay_attacks must be a boolean"},
		},
		{
			name: "events not an array", method: "POST", path: ep, body: `{"events":"a"}`,
			wantStatus: 400, wantMessage: []string{"events must be an array"},
		},
		{
			name: "events item not a string", method: "POST", path: ep, body: `{"events":["a",1]}`,
			wantStatus: 400, wantMessage: []string{"events must be an array of strings"},
		},
		{
			name: "custom header value not a string", method: "POST", path: g + "/events", body: `{"custom_headers":{"X-A":1}}`,
			wantStatus: 400, wantMessage: []string{"custom_headers must be an object whose values are strings"},
		},
		{
			name: "name as number", method: "POST", path: g + "/applications", body: `{"name":5}`,
			wantStatus: 400, wantMessage: []string{"name must be a string"},
		},
		{
			name: "expiration as string", method: "POST", path: ep + "/ep-1/expire_secret", body: `{"expiration":"1h"}`,
			wantStatus: 400, wantMessage: []string{"expiration must be a number"},
		},
		{
			name: "ids not strings", method: "POST", path: g + "/eventdeliveries/forceresend", body: `{"ids":[1,2]}`,
			wantStatus: 400, wantMessage: []string{"ids must be an array of strings"},
		},
		{
			name: "per_page zero", method: "GET", path: "/api/v1/groups?per_page=0",
			wantStatus: 400, wantMessage: []string{"per_page must be an integer between 1 and 100"},
		},
		{
			name: "per_page too big", method: "GET", path: g + "/applications?per_page=101",
			wantStatus: 400, wantMessage: []string{"per_page must be an integer between 1 and 100"},
		},
		{
			name: "per_page not a number", method: "GET", path: g + "/eventdeliveries?per_page=ten",
			wantStatus: 400, wantMessage: []string{"per_page must be an integer between 1 and 100"},
		},
		{
			name: "per_page twice", method: "GET", path: g + "/keys?per_page=1&per_page=2",
			wantStatus: 400, wantMessage: []string{"per_page must be given at most once"},
		},
		{
			name: "dates not RFC 3339, both reported", method: "GET", path: g + "/events?start_date=yesterday&end_date=2024-01-02",
			wantStatus: 400, wantMessage: []string{"start_date must be RFC 3339", "end_date must be RFC 3339"},
		},
		{
			name: "malformed query string", method: "GET", path: g + "/events?app_id=%zz",
			wantStatus: 400, wantMessage: []string{"malformed query string"},
		},
		{
			name: "query value not UTF-8", method: "GET", path: g + "/eventdeliveries?event_id=%FF",
			wantStatus: 400, wantMessage: []string{"event_id must be valid UTF-8"},
		},
		{
			name: "path value not UTF-8", method: "GET", path: "/api/v1/groups/%FF%FE",
			wantStatus: 400, wantMessage: []string{"group_id must be valid UTF-8"},
		},
		{
			name: "idempotency header not UTF-8", method: "POST", path: g + "/events", body: `{"app_id":"a"}`,
			header:     map[string]string{"Idempotency-Key": "k\xff"},
			wantStatus: 400, wantMessage: []string{"Idempotency-Key header must be valid UTF-8"},
		},
		{
			name: "authorization not ASCII", method: "GET", path: g, header: map[string]string{"Authorization": "Bearer ключ"},
			wantStatus: 401, wantMessage: []string{"Authorization header must be printable ASCII"},
		},
	}
	h := newHarness(t, Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(h.fake.recorded())
			res := h.do(t, tt.method, tt.path, tt.body, tt.header)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", res.status, tt.wantStatus, res.body)
			}
			env := res.envelope(t)
			if *env.Status {
				t.Errorf("status = true on an error")
			}
			for _, want := range tt.wantMessage {
				if !strings.Contains(*env.Message, want) {
					t.Errorf("message %q lacks %q", *env.Message, want)
				}
			}
			if n := len(h.fake.recorded()) - before; n != 0 {
				t.Errorf("ingest got %d calls, want none", n)
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 64
	h := newHarness(t, Options{MaxBodyBytes: limit})
	fits := `{"name":"` + strings.Repeat("a", limit-12) + `"}`
	tooBig := `{"name":"` + strings.Repeat("a", limit) + `"}`
	tests := []struct {
		name       string
		body       string
		chunked    bool
		wantStatus int
	}{
		{"at the limit", fits, false, 201},
		{"over the limit with Content-Length", tooBig, false, 413},
		{"over the limit chunked", tooBig, true, 413},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body = strings.NewReader(tt.body)
			req, err := http.NewRequestWithContext(t.Context(), "POST", h.url+"/api/v1/groups", body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.chunked {
				req.ContentLength = -1
				req.Body = io.NopCloser(struct{ io.Reader }{body}) // hide the length
				req.GetBody = nil
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = res.Body.Close() }()
			if res.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 413 {
				b, err := io.ReadAll(res.Body)
				if err != nil {
					t.Fatal(err)
				}
				r := response{status: res.StatusCode, body: b}
				if msg := *r.envelope(t).Message; !strings.Contains(msg, "64 bytes") {
					t.Errorf("message %q does not state the limit", msg)
				}
			}
		})
	}
}

func TestUnknownRoutesAnswerJSON(t *testing.T) {
	h := newHarness(t, Options{})
	tests := []struct {
		name       string
		method     string
		path       string
		wantStatus int
		wantAllow  string
	}{
		{"unknown path", "GET", "/api/v1/nope", 404, ""},
		{"trailing slash", "GET", "/api/v1/groups/", 404, ""},
		{"wrong method", "PATCH", "/api/v1/groups/grp-1", 405, "DELETE, GET, HEAD, PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := h.do(t, tt.method, tt.path, "", nil)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if *res.envelope(t).Status {
				t.Error("status = true")
			}
			if got := res.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
		})
	}
}
