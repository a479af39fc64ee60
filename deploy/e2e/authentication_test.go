package e2e

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

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
		t.Run("mtls end to end", func(t *testing.T) { t.Parallel(); mtlsEndToEnd(t, s) })
		t.Run("oauth2 tokens that expire", func(t *testing.T) { t.Parallel(); oauth2Expiry(t, s) })
		t.Run("oauth2 token revoked", func(t *testing.T) { t.Parallel(); oauth2Revoked(t, s) })
		t.Run("signatures verified independently", func(t *testing.T) { t.Parallel(); independentVerification(t, s) })
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

// trustApp returns the endpoints path of a new application in a new group
// whose only endpoint matching invoice.* will be the one the caller creates.
func trustApp(t *testing.T, s *stack) (groupUID, appUID, base string) {
	t.Helper()
	group, app, _ := setup(s, nil, "http://127.0.0.1:1/unused")
	base = "/api/v1/groups/" + group.UID + "/applications/" + app.UID + "/endpoints"
	s.must(200, "PUT", base+"/"+endpointOf(t, s, base, "http://127.0.0.1:1/unused"), map[string]any{"events": []string{"other.*"}}, nil)
	return group.UID, app.UID, base
}

// sendInvoice sends one invoice.paid event and returns its uid.
func sendInvoice(s *stack, groupUID, appUID string, n int) string {
	var ev resource
	s.must(201, "POST", "/api/v1/groups/"+groupUID+"/events",
		map[string]any{"app_id": appUID, "event_type": "invoice.paid", "data": map[string]any{"n": n}}, &ev)
	return ev.UID
}

// succeeded waits for the event's one delivery to succeed and returns its
// attempts.
func succeeded(t *testing.T, s *stack, groupUID, eventUID string) []attempt {
	t.Helper()
	var ds []delivery
	eventually(t, 20*time.Second, "the delivery to succeed", func() bool {
		ds = deliveriesOf(s, groupUID, eventUID)
		return len(ds) == 1 && ds[0].Status == "Success"
	})
	var as []attempt
	s.must(200, "GET", "/api/v1/groups/"+groupUID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &as)
	return as
}

// testCA is a certificate authority made for one test.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  string
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))}
}

// issue signs a leaf certificate for cn: a server certificate for
// 127.0.0.1, or a client certificate. It returns the certificate and key
// as PEM.
func (ca *testCA) issue(t *testing.T, cn string, server bool) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn, Organization: []string{"e2e"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// mtlsEndToEnd delivers to a server that requires a client certificate
// from its CA, and to the same server through an endpoint that trusts
// another CA, whose attempt fails on the server's certificate.
func mtlsEndToEnd(t *testing.T, s *stack) {
	ca, otherCA := newTestCA(t, "e2e root"), newTestCA(t, "another root")
	serverCert, serverKey := ca.issue(t, "receiver", true)
	clientCert, clientKey := ca.issue(t, "convoy-dispatcher", false)

	var (
		mu       sync.Mutex
		subjects = map[string][]string{} // path → client certificate subjects
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			subjects[r.URL.Path] = append(subjects[r.URL.Path], "")
			w.WriteHeader(http.StatusForbidden)
			return
		}
		subjects[r.URL.Path] = append(subjects[r.URL.Path], r.TLS.PeerCertificates[0].Subject.String())
		w.WriteHeader(http.StatusOK)
	}))
	pair, err := tls.X509KeyPair([]byte(serverCert), []byte(serverKey))
	if err != nil {
		t.Fatal(err)
	}
	clients := x509.NewCertPool()
	clients.AddCert(ca.cert)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{pair}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: clients}
	srv.StartTLS()
	t.Cleanup(srv.Close)

	mtls := func(caPEM string) map[string]any {
		return map[string]any{"type": "mtls", "mtls": map[string]any{"client_cert": clientCert, "client_key": clientKey, "ca_cert": caPEM}}
	}

	// The endpoint trusting the server's CA is delivered to, with the
	// client certificate.
	groupUID, appUID, base := trustApp(t, s)
	s.must(201, "POST", base, map[string]any{"url": srv.URL + "/good", "events": []string{"invoice.*"}, "authentication": mtls(ca.pem)}, nil)
	as := succeeded(t, s, groupUID, sendInvoice(s, groupUID, appUID, 1))
	if len(as) != 1 || !as[0].Status {
		t.Fatalf("attempts %+v, want one successful", as)
	}
	mu.Lock()
	got := subjects["/good"]
	mu.Unlock()
	if len(got) != 1 || got[0] != "CN=convoy-dispatcher,O=e2e" {
		t.Fatalf("the server saw client certificates %q, want one CN=convoy-dispatcher,O=e2e", got)
	}

	// The endpoint trusting another CA refuses the server's certificate:
	// its attempt fails, saying so, and the handler is never reached.
	groupUID, appUID, base = trustApp(t, s)
	s.must(201, "POST", base, map[string]any{"url": srv.URL + "/bad", "events": []string{"invoice.*"}, "authentication": mtls(otherCA.pem)}, nil)
	ev := sendInvoice(s, groupUID, appUID, 2)
	var failed []attempt
	eventually(t, 20*time.Second, "the attempt to the untrusted server to fail", func() bool {
		ds := deliveriesOf(s, groupUID, ev)
		if len(ds) != 1 {
			return false
		}
		s.must(200, "GET", "/api/v1/groups/"+groupUID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &failed)
		return len(failed) >= 1
	})
	t.Logf("attempt through the endpoint trusting another CA: %q", failed[0].Error)
	if failed[0].Status || failed[0].HTTPStatus != 0 || !strings.Contains(failed[0].Error, "certificate") {
		t.Fatalf("attempt %+v, want a failure naming the certificate", failed[0])
	}
	mu.Lock()
	defer mu.Unlock()
	if n := len(subjects["/bad"]); n != 0 {
		t.Fatalf("the handler was reached %d times through the endpoint trusting another CA", n)
	}
}

// tokenIssuer is an OAuth2 token endpoint (client-credentials grant) whose
// tokens expire, by its own clock, expires_in after they are issued.
type tokenIssuer struct {
	*httptest.Server
	lifetime time.Duration

	mu     sync.Mutex
	issued map[string]time.Time
}

func newTokenIssuer(t *testing.T, lifetime time.Duration) *tokenIssuer {
	ti := &tokenIssuer{lifetime: lifetime, issued: map[string]time.Time{}}
	ti.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, _ := r.BasicAuth(); id != "convoy" || secret != "client-secret" || r.ParseForm() != nil ||
			r.PostForm.Get("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		ti.mu.Lock()
		tok := fmt.Sprintf("tok-%d", len(ti.issued)+1)
		ti.issued[tok] = time.Now()
		ti.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": int(lifetime / time.Second)})
	}))
	t.Cleanup(ti.Close)
	return ti
}

func (ti *tokenIssuer) auth() map[string]any {
	return map[string]any{"type": "oauth2", "oauth2": map[string]any{"token_url": ti.URL + "/token", "client_id": "convoy", "client_secret": "client-secret"}}
}

// fetches is how many tokens were issued.
func (ti *tokenIssuer) fetches() int {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return len(ti.issued)
}

// check returns the bearer token of h and whether it is one this issuer
// issued that has not expired.
func (ti *tokenIssuer) check(h http.Header) (string, bool) {
	tok, ok := strings.CutPrefix(h.Get("Authorization"), "Bearer ")
	if !ok {
		return "", false
	}
	ti.mu.Lock()
	defer ti.mu.Unlock()
	at, ok := ti.issued[tok]
	return tok, ok && time.Since(at) < ti.lifetime
}

// issuedAt is when tok was issued.
func (ti *tokenIssuer) issuedAt(tok string) time.Time {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	return ti.issued[tok]
}

// oauth2Expiry delivers to a receiver that takes only unexpired tokens. A
// token living no longer than the dispatcher's 30 s refresh margin is used
// for one request only; a longer one is reused until 30 s before it expires.
func oauth2Expiry(t *testing.T, s *stack) {
	for _, tc := range []struct {
		name     string
		lifetime time.Duration
		// cached is how long the dispatcher reuses a token.
		cached time.Duration
	}{
		{"expires_in 2 s, one request each", 2 * time.Second, 0},
		{"expires_in 33 s, reused for 3 s", 33 * time.Second, 3 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ti := newTokenIssuer(t, tc.lifetime)
			var (
				mu       sync.Mutex
				accepted []string
				rejected int
			)
			recv := newScriptedReceiver(t, func(w http.ResponseWriter, r *http.Request) {
				tok, ok := ti.check(r.Header)
				mu.Lock()
				defer mu.Unlock()
				if !ok {
					rejected++
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				accepted = append(accepted, tok)
				w.WriteHeader(http.StatusOK)
			})
			groupUID, appUID, base := trustApp(t, s)
			s.must(201, "POST", base, map[string]any{"url": recv.URL, "events": []string{"invoice.*"}, "authentication": ti.auth()}, nil)

			// Two events back to back, then, once the first token has
			// expired (or is past the refresh margin), two more.
			for n := 1; n <= 4; n++ {
				if n == 3 {
					mu.Lock()
					first := ti.issuedAt(accepted[0])
					mu.Unlock()
					wait := tc.lifetime
					if tc.cached > 0 {
						wait = tc.cached
					}
					eventually(t, wait+5*time.Second, "the first token to be past its use", func() bool { return time.Since(first) > wait })
				}
				as := succeeded(t, s, groupUID, sendInvoice(s, groupUID, appUID, n))
				if len(as) != 1 || !as[0].Status {
					t.Fatalf("event %d: attempts %+v, want one successful", n, as)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			fetches := ti.fetches()
			if rejected != 0 || len(accepted) != 4 {
				t.Fatalf("receiver accepted %d requests and rejected %d, want 4 and 0", len(accepted), rejected)
			}
			if fetches < 2 || accepted[2] == accepted[0] {
				t.Fatalf("%d token fetches, tokens used %q: the first token was used after it was due for refresh", fetches, accepted)
			}
			if tc.cached == 0 && fetches != 4 {
				t.Fatalf("%d token fetches for 4 requests, tokens used %q: a token within the refresh margin was reused", fetches, accepted)
			}
			if tc.cached > 0 && accepted[1] != accepted[0] {
				t.Fatalf("tokens used %q: the first token was not reused within its cache time", accepted)
			}
		})
	}
}

// oauth2Revoked: the receiver revokes the current token once; the attempt
// gets a new token and succeeds, one attempt recorded.
func oauth2Revoked(t *testing.T, s *stack) {
	ti := newTokenIssuer(t, time.Hour)
	var (
		mu      sync.Mutex
		revoked = map[string]bool{}
		seen    []string
	)
	recv := newScriptedReceiver(t, func(w http.ResponseWriter, r *http.Request) {
		tok, ok := ti.check(r.Header)
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, tok)
		if !ok || revoked[tok] {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if len(revoked) == 0 {
			revoked[tok] = true
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	})
	groupUID, appUID, base := trustApp(t, s)
	s.must(201, "POST", base, map[string]any{"url": recv.URL, "events": []string{"invoice.*"}, "authentication": ti.auth()}, nil)
	as := succeeded(t, s, groupUID, sendInvoice(s, groupUID, appUID, 1))
	mu.Lock()
	defer mu.Unlock()
	if len(as) != 1 || !as[0].Status || as[0].HTTPStatus != 200 {
		t.Fatalf("attempts %+v, want one, successful", as)
	}
	if len(seen) != 2 || seen[0] == seen[1] || ti.fetches() != 2 {
		t.Fatalf("receiver saw tokens %q after %d fetches, want the revoked one then a new one", seen, ti.fetches())
	}
}

// independentVerification checks the signatures a receiver gets with code
// that is not Convoy's: v1 with the Standard Webhooks reference library,
// v1a with crypto/ed25519 and the public key the API answers.
func independentVerification(t *testing.T, s *stack) {
	for _, tc := range []struct {
		formats    []string
		asymmetric bool
	}{
		{formats: []string{"standard-webhooks", "standard-webhooks-asymmetric"}, asymmetric: true},
		{formats: []string{"advanced", "standard-webhooks"}},
	} {
		t.Run(strings.Join(tc.formats, "+"), func(t *testing.T) {
			t.Parallel()
			recv := newReceiver(t)
			groupUID, appUID, base := trustApp(t, s)
			var ep struct {
				UID    string `json:"uid"`
				Secret string `json:"secret"`
			}
			s.must(201, "POST", base, map[string]any{
				"url": recv.URL, "events": []string{"invoice.*"}, "signature": map[string]any{"formats": tc.formats},
			}, &ep)
			succeeded(t, s, groupUID, sendInvoice(s, groupUID, appUID, 1))
			got := recv.requests()
			if len(got) != 1 {
				t.Fatalf("receiver got %d requests", len(got))
			}
			h, body := got[0].header, got[0].body

			// Any Standard Webhooks format among the endpoint's makes its
			// generated secret a whsec_ one, which the reference library
			// loads as it is, whatever the first format.
			if !strings.HasPrefix(ep.Secret, "whsec_") {
				t.Fatalf("secret %q has no whsec_ prefix although the formats %v include Standard Webhooks", ep.Secret, tc.formats)
			}
			wh, err := standardwebhooks.NewWebhook(ep.Secret)
			if err != nil {
				t.Fatalf("the reference library does not take the secret %q: %v", ep.Secret, err)
			}
			if err := wh.Verify(body, h); err != nil {
				t.Fatalf("the reference library rejects webhook-signature %q: %v", h.Get("webhook-signature"), err)
			}

			var v1a []string
			for _, sig := range strings.Fields(h.Get("webhook-signature")) {
				if b64, ok := strings.CutPrefix(sig, "v1a,"); ok {
					v1a = append(v1a, b64)
				}
			}
			if !tc.asymmetric {
				if len(v1a) != 0 {
					t.Fatalf("webhook-signature %q carries v1a without the asymmetric format", h.Get("webhook-signature"))
				}
				return
			}
			var key struct {
				PublicKey string `json:"public_key"`
			}
			s.must(200, "GET", base+"/"+ep.UID+"/public_key", nil, &key)
			raw, ok := strings.CutPrefix(key.PublicKey, "whpk_")
			if !ok {
				t.Fatalf("public key %q has no whpk_ prefix", key.PublicKey)
			}
			pub, err := base64.StdEncoding.DecodeString(raw)
			if err != nil || len(pub) != ed25519.PublicKeySize {
				t.Fatalf("public key %q is not a base64 ed25519 key: %v", key.PublicKey, err)
			}
			if len(v1a) != 1 {
				t.Fatalf("webhook-signature %q, want one v1a", h.Get("webhook-signature"))
			}
			sig, err := base64.StdEncoding.DecodeString(v1a[0])
			if err != nil {
				t.Fatalf("v1a %q is not base64: %v", v1a[0], err)
			}
			msg := h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)
			if !ed25519.Verify(ed25519.PublicKey(pub), []byte(msg), sig) {
				t.Fatalf("v1a does not verify over id.timestamp.body with %s", key.PublicKey)
			}
			// The check can fail: a changed body does not verify.
			if ed25519.Verify(ed25519.PublicKey(pub), []byte(msg+" "), sig) {
				t.Fatal("v1a verifies over a changed body")
			}
		})
	}
}
