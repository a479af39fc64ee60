package deliver

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/dispatcher-service/internal/authn"
	"convoy/dispatcher-service/internal/outbound"
)

// loopbackClient is the guarded client opened to loopback only, as the
// local stack runs it.
func loopbackClient(t *testing.T) *outbound.Client {
	t.Helper()
	c := outbound.New(outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	t.Cleanup(c.Close)
	return c
}

// tokenServer is a fake OAuth2 token endpoint: it checks the client's
// credentials and the grant, counts the tokens it issues, and numbers them.
type tokenServer struct {
	*httptest.Server
	fetches   atomic.Int32
	expiresIn int
	// fail makes it answer 400 invalid_client.
	fail bool
	// lastForm is the last request's form.
	lastScope, lastAudience atomic.Value
}

func newTokenServer(t *testing.T, expiresIn int) *tokenServer {
	ts := &tokenServer{expiresIn: expiresIn}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		// RFC 6749 2.3.1: both are form-encoded inside Basic.
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || ts.fail ||
			!ok || id != "client-1" || secret != "s3cr3t&=" || r.PostForm.Get("grant_type") != "client_credentials" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_client"}`))
			return
		}
		ts.lastScope.Store(r.PostForm.Get("scope"))
		ts.lastAudience.Store(r.PostForm.Get("audience"))
		n := ts.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-" + string(rune('0'+n)), "token_type": "Bearer", "expires_in": ts.expiresIn})
	}))
	t.Cleanup(ts.Close)
	return ts
}

// recorder is an endpoint that accepts a request only when check passes,
// and keeps the authentication headers it saw.
func recorder(t *testing.T, check func(r *http.Request) bool) (*httptest.Server, *atomic.Value) {
	var seen atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Store(r.Header.Clone())
		if !check(r) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

func TestHeaderAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name   string
		auth   *model.EndpointAuthentication
		check  func(r *http.Request) bool
		hidden string // the recorded header that must be redacted
	}{
		{
			name:   "api_key",
			auth:   &model.EndpointAuthentication{Type: model.AuthAPIKey, APIKey: &model.APIKeyAuth{HeaderName: "X-Api-Key", HeaderValue: "k-123"}},
			check:  func(r *http.Request) bool { return r.Header.Get("X-Api-Key") == "k-123" },
			hidden: "X-Api-Key",
		},
		{
			name: "basic",
			auth: &model.EndpointAuthentication{Type: model.AuthBasic, Basic: &model.BasicAuth{Username: "alice", Password: "pa:ss"}},
			check: func(r *http.Request) bool {
				u, p, ok := r.BasicAuth()
				return ok && u == "alice" && p == "pa:ss"
			},
			hidden: "Authorization",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := recorder(t, tc.check)
			c := loopbackClient(t)
			task, ep, g := fixture()
			ep.URL, ep.Authentication = srv.URL, tc.auth
			a := New(c, "1.0.0").WithAuthentication(authn.New(c)).Attempt(t.Context(), task, ep, g).Attempt
			if !a.Status || a.HTTPStatus != 200 {
				t.Fatalf("attempt %+v", a)
			}
			if got := a.RequestHeader[tc.hidden]; got != "[redacted]" {
				t.Fatalf("recorded %s = %q, want it redacted", tc.hidden, got)
			}
			// Without the credentials the same endpoint refuses: the test
			// server's check is real.
			ep.Authentication = nil
			if a := New(c, "1.0.0").Attempt(t.Context(), task, ep, g).Attempt; a.Status || a.HTTPStatus != 401 {
				t.Fatalf("unauthenticated attempt %+v", a)
			}
		})
	}
}

func oauthEndpoint(tokenURL string) *model.EndpointAuthentication {
	return &model.EndpointAuthentication{Type: model.AuthOAuth2, OAuth2: &model.OAuth2Auth{
		TokenURL: tokenURL, ClientID: "client-1", ClientSecret: "s3cr3t&=", Scopes: []string{"hooks:write", "hooks:read"}, Audience: "https://api.example",
	}}
}

func TestOAuth2(t *testing.T) {
	for _, tc := range []struct {
		name string
		// reject is how many first requests the endpoint answers 401.
		reject      int32
		expiresIn   int
		attempts    int
		wantFetches int32
		wantOK      bool
	}{
		{name: "token cached across attempts", expiresIn: 3600, attempts: 3, wantFetches: 1, wantOK: true},
		{name: "401 refreshes once and retries", reject: 1, expiresIn: 3600, attempts: 1, wantFetches: 2, wantOK: true},
		{name: "second 401 fails the attempt", reject: 2, expiresIn: 3600, attempts: 1, wantFetches: 2},
		{name: "token about to expire is replaced", expiresIn: 1, attempts: 2, wantFetches: 2, wantOK: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tokens := newTokenServer(t, tc.expiresIn)
			var answered atomic.Int32
			srv, seen := recorder(t, func(r *http.Request) bool {
				n := answered.Add(1)
				return n > tc.reject && strings.HasPrefix(r.Header.Get("Authorization"), "Bearer tok-")
			})
			c := loopbackClient(t)
			d := New(c, "1.0.0").WithAuthentication(authn.New(c))
			task, ep, g := fixture()
			ep.URL, ep.Authentication = srv.URL, oauthEndpoint(tokens.URL)
			var a model.Attempt
			for range tc.attempts {
				a = d.Attempt(t.Context(), task, ep, g).Attempt
			}
			if a.Status != tc.wantOK {
				t.Fatalf("attempt %+v", a)
			}
			if got := tokens.fetches.Load(); got != tc.wantFetches {
				t.Fatalf("token fetches = %d, want %d", got, tc.wantFetches)
			}
			if got := a.RequestHeader["Authorization"]; got != "[redacted]" {
				t.Fatalf("recorded Authorization = %q", got)
			}
			if h := seen.Load().(http.Header); h.Get("Authorization") != "Bearer tok-"+string(rune('0'+tc.wantFetches)) {
				t.Fatalf("endpoint saw Authorization %q", h.Get("Authorization"))
			}
			if tokens.lastScope.Load() != "hooks:write hooks:read" || tokens.lastAudience.Load() != "https://api.example" {
				t.Fatalf("token request scope %q audience %q", tokens.lastScope.Load(), tokens.lastAudience.Load())
			}
		})
	}
}

func TestOAuth2TokenFailure(t *testing.T) {
	tokens := newTokenServer(t, 3600)
	tokens.fail = true
	var hits atomic.Int32
	srv, _ := recorder(t, func(*http.Request) bool { hits.Add(1); return true })
	c := loopbackClient(t)
	task, ep, g := fixture()
	ep.URL, ep.Authentication = srv.URL, oauthEndpoint(tokens.URL)
	a := New(c, "1.0.0").WithAuthentication(authn.New(c)).Attempt(t.Context(), task, ep, g).Attempt
	want := "authenticate: oauth2 token: token endpoint answered 400 Bad Request (invalid_client)"
	if a.Status || a.Error != want || hits.Load() != 0 {
		t.Fatalf("attempt %+v (endpoint hit %d times), want error %q and no request", a, hits.Load(), want)
	}
	if strings.Contains(a.Error, "s3cr3t") {
		t.Fatal("error carries the client secret")
	}

	// The token URL goes through the address guard like a delivery.
	guarded := outbound.New(outbound.Config{})
	ep.Authentication = oauthEndpoint(tokens.URL)
	a = New(guarded, "1.0.0").WithAuthentication(authn.New(guarded)).Attempt(t.Context(), task, ep, g).Attempt
	if a.Status || !strings.Contains(a.Error, "token url refused: destination 127.0.0.1 is a loopback address") {
		t.Fatalf("attempt to a loopback token url: %+v", a)
	}
}

// selfSigned returns a PEM certificate and key for name, usable as its own CA.
func selfSigned(t *testing.T, name string) (certPEM, keyPEM string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})), cert
}

func TestMutualTLS(t *testing.T) {
	clientCert, clientKey, clientX509 := selfSigned(t, "convoy-client")
	otherCert, otherKey, _ := selfSigned(t, "someone-else")
	trusted := x509.NewCertPool()
	trusted.AddCert(clientX509)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 || r.TLS.PeerCertificates[0].Subject.CommonName != "convoy-client" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: trusted}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	serverCA := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}))

	for _, tc := range []struct {
		name      string
		mtls      *model.MTLSAuth
		wantOK    bool
		wantError string
	}{
		{name: "client certificate presented, server CA pinned", mtls: &model.MTLSAuth{ClientCert: clientCert, ClientKey: clientKey, CACert: serverCA}, wantOK: true},
		{name: "server not signed by the system roots without a pin", mtls: &model.MTLSAuth{ClientCert: clientCert, ClientKey: clientKey}, wantError: "certificate"},
		{name: "pinned CA is not the server's", mtls: &model.MTLSAuth{ClientCert: clientCert, ClientKey: clientKey, CACert: otherCert}, wantError: "certificate"},
		{name: "certificate the server does not trust", mtls: &model.MTLSAuth{ClientCert: otherCert, ClientKey: otherKey, CACert: serverCA}, wantError: "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := loopbackClient(t)
			task, ep, g := fixture()
			ep.URL = srv.URL
			ep.Authentication = &model.EndpointAuthentication{Type: model.AuthMTLS, MTLS: tc.mtls}
			a := New(c, "1.0.0").WithAuthentication(authn.New(c)).Attempt(t.Context(), task, ep, g).Attempt
			if a.Status != tc.wantOK || !strings.Contains(a.Error, tc.wantError) {
				t.Fatalf("attempt %+v", a)
			}
		})
	}
}

func TestAuthenticationWithoutAuthenticatorFails(t *testing.T) {
	p := &fakePoster{res: outbound.Result{StatusCode: 200}}
	task, ep, g := fixture()
	ep.Authentication = &model.EndpointAuthentication{Type: model.AuthBasic, Basic: &model.BasicAuth{Username: "u", Password: "p"}}
	a := New(p, "1.0.0").Attempt(t.Context(), task, ep, g).Attempt
	if a.Status || p.header != nil || !strings.HasPrefix(a.Error, "authenticate: ") {
		t.Fatalf("attempt %+v, sent %v", a, p.header)
	}
}
