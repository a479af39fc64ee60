package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"convoy/core/verify"
)

// An endpoint with authentication gets its credentials on every delivery;
// the API never answers them. An endpoint's own signature settings sign its
// deliveries in several formats, the asymmetric one verifiable with the
// public key the API answers.
//
// An endpoint of a group that verifies endpoints stays pending, receiving
// nothing, until it passes the ownership handshake.
func TestReceiverTrust(t *testing.T) {
	s := startStack(t, "CONVOY_VERIFY_INTERVAL=200ms", "CONVOY_WEBHOOK_ORIGIN=hooks.e2e.test")

	var tokens atomic.Int32
	tokenSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, _ := r.BasicAuth()
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if r.ParseForm() != nil || id != "convoy" || secret != "client-secret" || r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		tokens.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "the-token", "token_type": "bearer", "expires_in": 3600})
	}))
	t.Cleanup(tokenSrv.Close)

	// The parallel cases run inside one group, so the check after it sees
	// them all done.
	t.Run("deliveries", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			auth     map[string]any
			ok       func(h http.Header) bool
			redacted string // the field of the answer that must read [redacted]
			hidden   string // the recorded request header that must read [redacted]
		}{
			{
				name:     "api_key",
				auth:     map[string]any{"type": "api_key", "api_key": map[string]any{"header_name": "X-Api-Key", "header_value": "key-123"}},
				ok:       func(h http.Header) bool { return h.Get("X-Api-Key") == "key-123" },
				redacted: "header_value", hidden: "X-Api-Key",
			},
			{
				name: "basic",
				auth: map[string]any{"type": "basic", "basic": map[string]any{"username": "alice", "password": "wonderland"}},
				ok: func(h http.Header) bool {
					r := &http.Request{Header: h}
					u, p, ok := r.BasicAuth()
					return ok && u == "alice" && p == "wonderland"
				},
				redacted: "password", hidden: "Authorization",
			},
			{
				name: "oauth2",
				auth: map[string]any{"type": "oauth2", "oauth2": map[string]any{
					"token_url": tokenSrv.URL + "/token", "client_id": "convoy", "client_secret": "client-secret", "scopes": []string{"webhooks"},
				}},
				ok:       func(h http.Header) bool { return h.Get("Authorization") == "Bearer the-token" },
				redacted: "client_secret", hidden: "Authorization",
			},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				recv := newScriptedReceiver(t, func(w http.ResponseWriter, r *http.Request) {
					if !tc.ok(r.Header) {
						w.WriteHeader(http.StatusUnauthorized)
						return
					}
					w.WriteHeader(http.StatusOK)
				})
				group, app, _ := setup(s, nil, "http://127.0.0.1:1/unused")
				base := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints"
				var ep struct {
					UID            string                    `json:"uid"`
					Authentication map[string]map[string]any `json:"-"`
				}
				var raw map[string]json.RawMessage
				s.must(201, "POST", base, map[string]any{"url": recv.URL, "events": []string{"invoice.*"}, "authentication": tc.auth}, &raw)
				_ = json.Unmarshal(raw["uid"], &ep.UID)
				if !strings.Contains(string(raw["authentication"]), `"`+tc.redacted+`":"[redacted]"`) {
					t.Fatalf("created endpoint answers authentication %s, want %s redacted", raw["authentication"], tc.redacted)
				}
				// Only the new endpoint matches the event type.
				s.must(200, "PUT", base+"/"+endpointOf(t, s, base, "http://127.0.0.1:1/unused"), map[string]any{"events": []string{"other.*"}}, nil)

				var ev resource
				s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
					map[string]any{"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]any{"n": 1}}, &ev)
				var ds []delivery
				eventually(t, 20*time.Second, "the authenticated delivery to succeed", func() bool {
					ds = deliveriesOf(s, group.UID, ev.UID)
					return len(ds) == 1 && ds[0].Status == "Success"
				})
				var attempts []struct {
					RequestHeader map[string]string `json:"request_http_header"`
				}
				s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &attempts)
				if len(attempts) != 1 || attempts[0].RequestHeader[tc.hidden] != "[redacted]" {
					t.Fatalf("attempts %+v, want one with %s redacted", attempts, tc.hidden)
				}

				// An update that sends the redacted answer back keeps the
				// credential; null removes the authentication.
				var back map[string]any
				_ = json.Unmarshal(raw["authentication"], &back)
				s.must(200, "PUT", base+"/"+ep.UID, map[string]any{"authentication": back}, nil)
				s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
					map[string]any{"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]any{"n": 2}}, &ev)
				eventually(t, 20*time.Second, "the delivery after the update to succeed", func() bool {
					ds = deliveriesOf(s, group.UID, ev.UID)
					return len(ds) == 1 && ds[0].Status == "Success"
				})
				var cleared map[string]json.RawMessage
				s.must(200, "PUT", base+"/"+ep.UID, rawBody(`{"authentication": null}`), &cleared)
				if string(cleared["authentication"]) != "null" {
					t.Fatalf("authentication after null = %s", cleared["authentication"])
				}
			})
		}
	})
	if tokens.Load() < 1 {
		t.Fatalf("the token endpoint issued %d tokens", tokens.Load())
	}

	t.Run("signature override in two formats", func(t *testing.T) {
		recv := newReceiver(t)
		group, app, _ := setup(s, nil, "http://127.0.0.1:1/unused")
		base := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints"
		s.must(200, "PUT", base+"/"+endpointOf(t, s, base, "http://127.0.0.1:1/unused"), map[string]any{"events": []string{"other.*"}}, nil)
		var ep struct {
			UID       string `json:"uid"`
			Secret    string `json:"secret"`
			Signature struct {
				Format  string   `json:"format"`
				Formats []string `json:"formats"`
			} `json:"signature"`
		}
		s.must(201, "POST", base, map[string]any{
			"url": recv.URL, "events": []string{"invoice.*"},
			"signature": map[string]any{"formats": []string{"standard-webhooks", "standard-webhooks-asymmetric"}},
		}, &ep)
		if ep.Signature.Format != "standard-webhooks" || len(ep.Signature.Formats) != 2 || !strings.HasPrefix(ep.Secret, "whsec_") {
			t.Fatalf("endpoint signature %+v, secret %q", ep.Signature, ep.Secret)
		}
		var key struct {
			PublicKey string `json:"public_key"`
		}
		s.must(200, "GET", base+"/"+ep.UID+"/public_key", nil, &key)

		var ev resource
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
			map[string]any{"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]any{"n": 1}}, &ev)
		eventually(t, 20*time.Second, "the signed delivery", func() bool { return len(recv.requests()) == 1 })
		got := recv.requests()[0]
		if err := verify.Verify(verify.Options{Format: verify.FormatStandardWebhooks}, []string{ep.Secret}, got.header, got.body); err != nil {
			t.Fatalf("v1 does not verify: %v (%q)", err, got.header.Get("webhook-signature"))
		}
		if err := verify.Verify(verify.Options{Format: verify.FormatStandardWebhooksAsymmetric}, []string{key.PublicKey}, got.header, got.body); err != nil {
			t.Fatalf("v1a does not verify with %s: %v (%q)", key.PublicKey, err, got.header.Get("webhook-signature"))
		}
		if got.header.Get("X-Convoy-Signature") != "" {
			t.Fatal("the group's simple signature was sent although the endpoint overrides it")
		}

		// Null goes back to the group's settings.
		var back map[string]json.RawMessage
		s.must(200, "PUT", base+"/"+ep.UID, rawBody(`{"signature": null}`), &back)
		if string(back["signature"]) != "null" {
			t.Fatalf("signature after null = %s", back["signature"])
		}
		code, env := s.call("PUT", base+"/"+ep.UID, adminKey, map[string]any{"signature": map[string]any{"formats": []string{"simple", "advanced"}}}, nil)
		if code != 400 || !strings.Contains(env.Message, "signature.formats") {
			t.Fatalf("simple and advanced together: %d %q", code, env.Message)
		}
	})

	t.Run("ownership handshake", func(t *testing.T) { ownershipHandshake(t, s) })

	t.Run("bad input names the field", func(t *testing.T) {
		group, app, _ := setup(s, nil, "http://127.0.0.1:1/unused")
		base := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints"
		for body, want := range map[string]string{
			`{"url": "https://example.com", "authentication": {"type": "oauth2", "oauth2": {"token_url": "ftp://x", "client_id": "a", "client_secret": "b"}}}`: "authentication.oauth2.token_url",
			`{"url": "https://example.com", "authentication": {"type": "mtls", "mtls": {"client_cert": "junk", "client_key": "junk"}}}`:                        "authentication.mtls.client_cert",
			`{"url": "https://example.com", "authentication": {"type": "basic", "basic": {"username": "u", "password": "p", "realm": "x"}}}`:                   "authentication.basic.realm",
		} {
			code, env := s.call("POST", base, adminKey, rawBody(body), nil)
			if code != 400 || !strings.Contains(env.Message, want) {
				t.Errorf("%s: %d %q, want 400 naming %s", body, code, env.Message, want)
			}
		}
	})
}

// endpointOf returns the uid of the application's endpoint at url.
func endpointOf(t *testing.T, s *stack, base, url string) string {
	t.Helper()
	var p page[struct {
		UID string `json:"uid"`
		URL string `json:"url"`
	}]
	s.must(200, "GET", base, nil, &p)
	for _, e := range p.Content {
		if e.URL == url {
			return e.UID
		}
	}
	t.Fatalf("no endpoint at %s", url)
	return ""
}

func ownershipHandshake(t *testing.T, s *stack) {
	var (
		allow    atomic.Bool
		options  atomic.Int32
		gets     atomic.Int32
		origin   atomic.Value
		askedFor atomic.Value
	)
	recv := newScriptedReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodOptions:
			options.Add(1)
			origin.Store(r.Header.Get("WebHook-Request-Origin"))
			askedFor.Store(r.Header.Get("WebHook-Request-Rate"))
			if !allow.Load() {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Header().Set("WebHook-Allowed-Origin", "hooks.e2e.test")
			w.Header().Set("WebHook-Allowed-Rate", "120")
			w.WriteHeader(http.StatusOK)
		case http.MethodGet:
			gets.Add(1)
			w.WriteHeader(http.StatusOK)
		default:
			w.WriteHeader(http.StatusOK)
		}
	})
	var group, app resource
	s.must(201, "POST", "/api/v1/groups", map[string]any{"name": "verified", "config": map[string]any{"verify_endpoints": true}}, &group)
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/applications", map[string]any{"name": "shop"}, &app)
	base := "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints"
	type verification struct {
		Verified  bool   `json:"verified"`
		LastError string `json:"last_error"`
		Attempts  int    `json:"attempts"`
	}
	var ep struct {
		UID               string        `json:"uid"`
		Status            string        `json:"status"`
		RateLimit         int           `json:"rate_limit"`
		RateLimitDuration string        `json:"rate_limit_duration"`
		Verification      *verification `json:"verification"`
	}
	s.must(201, "POST", base, map[string]any{"url": recv.URL, "events": []string{"invoice.*"}}, &ep)
	if ep.Status != "pending" || ep.Verification == nil || ep.Verification.Verified {
		t.Fatalf("new endpoint %+v, want pending and unverified", ep)
	}

	var ev resource
	s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
		map[string]any{"app_id": app.UID, "event_type": "invoice.paid", "data": map[string]any{"n": 1}}, &ev)
	// The delivery is held while the handshake fails, and the failure shows.
	eventually(t, 20*time.Second, "the delivery to be held and the handshake to fail", func() bool {
		s.must(200, "GET", base+"/"+ep.UID, nil, &ep)
		ds := deliveriesOf(s, group.UID, ev.UID)
		return len(ds) == 1 && ds[0].Status == "Discarded" && ep.Verification.Attempts >= 1 &&
			strings.Contains(ep.Verification.LastError, "403")
	})
	for _, r := range recv.requests() {
		if r.header.Get("WebHook-Request-Origin") == "" {
			t.Fatalf("the endpoint got a request other than the handshake before it was verified")
		}
	}
	if ep.Status != "pending" {
		t.Fatalf("status %q while unverified", ep.Status)
	}
	if code, _ := s.call("PUT", base+"/"+ep.UID, adminKey, map[string]any{"status": "active"}, nil); code < 400 {
		t.Fatalf("activating an unverified endpoint answered %d", code)
	}

	allow.Store(true)
	eventually(t, 20*time.Second, "the endpoint to be verified and active", func() bool {
		s.must(200, "GET", base+"/"+ep.UID, nil, &ep)
		return ep.Status == "active" && ep.Verification.Verified
	})
	if ep.RateLimit != 120 || ep.RateLimitDuration != "1m" || ep.Verification.LastError != "" {
		t.Fatalf("verified endpoint %+v, want WebHook-Allowed-Rate 120 applied as 120 per 1m", ep)
	}
	eventually(t, 20*time.Second, "the held delivery to be sent", func() bool {
		ds := deliveriesOf(s, group.UID, ev.UID)
		return len(ds) == 1 && ds[0].Status == "Success"
	})
	posts := 0
	for _, r := range recv.requests() {
		if r.header.Get("WebHook-Request-Origin") == "" {
			posts++
		}
	}
	if posts != 1 || gets.Load() != 0 || origin.Load() != "hooks.e2e.test" || askedFor.Load() != "5000" {
		t.Fatalf("posts %d, gets %d, origin %v, requested rate %v", posts, gets.Load(), origin.Load(), askedFor.Load())
	}
}
