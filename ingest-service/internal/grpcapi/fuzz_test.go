package grpcapi

import (
	"encoding/json"
	"net/url"
	"testing"

	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

// Event validation never panics, and what it accepts is an event the rest
// of the system can carry: a type and a JSON payload.
func FuzzValidateEvent(f *testing.F) {
	f.Add("app", "invoice.paid", []byte(`{"a":1}`), "key", "X-Custom", "v")
	f.Add("", "", []byte(``), "", "", "")
	f.Add("app", "  ", []byte(`{`), "k", "Content-Type", "text/plain")
	f.Add("app", "t", []byte("\"\xff\""), "k", "X-A", "line\nbreak")
	f.Fuzz(func(t *testing.T, app, typ string, data []byte, key, hk, hv string) {
		req := &ingestv1.CreateEventRequest{AppId: app, EventType: typ, Data: data, IdempotencyKey: key}
		if hk != "" {
			req.CustomHeaders = map[string]string{hk: hv}
		}
		if err := validateEvent(req); err != nil {
			if _, ok := err.(invalid); !ok {
				t.Fatalf("validation error of type %T, want a bad-input error", err)
			}
			return
		}
		if req.AppId == "" || !json.Valid(req.Data) {
			t.Fatalf("accepted an event without an app or with invalid JSON: %+v", req)
		}
	})
}

// Endpoint settings never panic, and what they accept is an http(s) URL with
// bounded timeouts and limits.
func FuzzEndpointSettings(f *testing.F) {
	f.Add("https://example.com/hook", "30s", "1m", int32(5000), "invoice.*")
	f.Add("ftp://x", "-1s", "0", int32(-1), "")
	f.Add("http://", "1e9h", "1ns", int32(0), " ")
	f.Add("https://user:pw@h/", "5m", "24h", int32(1000000), "*")
	f.Fuzz(func(t *testing.T, rawURL, timeout, window string, rate int32, event string) {
		e := &model.Endpoint{}
		req := &ingestv1.CreateEndpointRequest{Url: rawURL, HttpTimeout: timeout, RateLimitDuration: window, RateLimit: rate, Events: []string{event}}
		if err := setEndpoint(e, req); err != nil {
			if _, ok := err.(invalid); !ok {
				t.Fatalf("validation error of type %T, want a bad-input error", err)
			}
			return
		}
		u, err := url.Parse(e.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
			t.Fatalf("accepted url %q", e.URL)
		}
		if e.HTTPTimeout < minTimeout || e.HTTPTimeout > maxTimeout || e.RateLimitDuration < minWindow || e.RateLimitDuration > maxWindow {
			t.Fatalf("accepted out-of-range durations: %v, %v", e.HTTPTimeout, e.RateLimitDuration)
		}
		if e.RateLimit < 1 {
			t.Fatalf("accepted rate limit %d", e.RateLimit)
		}
	})
}
