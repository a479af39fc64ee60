package grpcapi

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"

	"convoy/core/model"
	ingestv1 "convoy/proto/convoy/ingest/v1"
)

func testKeyPair(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "c"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

func TestAuthenticationValidation(t *testing.T) {
	cert, key := testKeyPair(t)
	otherCert, _ := testKeyPair(t)
	oauth := func(f func(o *ingestv1.OAuth2Authentication)) *ingestv1.EndpointAuthentication {
		o := &ingestv1.OAuth2Authentication{TokenUrl: "https://auth.example/token", ClientId: "id", ClientSecret: "secret"}
		f(o)
		return &ingestv1.EndpointAuthentication{Type: "oauth2", Oauth2: o}
	}
	mtls := func(c, k, ca string) *ingestv1.EndpointAuthentication {
		return &ingestv1.EndpointAuthentication{Type: "mtls", Mtls: &ingestv1.MTLSAuthentication{ClientCert: c, ClientKey: k, CaCert: ca}}
	}
	for _, tc := range []struct {
		name    string
		in      *ingestv1.EndpointAuthentication
		wantErr string // a prefix; "" means valid
	}{
		{"none", nil, ""},
		{"api_key", &ingestv1.EndpointAuthentication{Type: "api_key", ApiKey: &ingestv1.ApiKeyAuthentication{HeaderName: "X-Api-Key", HeaderValue: "v"}}, ""},
		{"api_key reserved header", &ingestv1.EndpointAuthentication{Type: "api_key", ApiKey: &ingestv1.ApiKeyAuthentication{HeaderName: "Content-Type", HeaderValue: "v"}}, "authentication.api_key.header_name"},
		{"api_key no value", &ingestv1.EndpointAuthentication{Type: "api_key", ApiKey: &ingestv1.ApiKeyAuthentication{HeaderName: "X-Api-Key"}}, "authentication.api_key.header_value is required"},
		{"api_key line break", &ingestv1.EndpointAuthentication{Type: "api_key", ApiKey: &ingestv1.ApiKeyAuthentication{HeaderName: "X-K", HeaderValue: "a\r\nB: c"}}, "authentication.api_key.header_value"},
		{"type missing", &ingestv1.EndpointAuthentication{Basic: &ingestv1.BasicAuthentication{Username: "u", Password: "p"}}, "authentication.type is required"},
		{"unknown type", &ingestv1.EndpointAuthentication{Type: "digest"}, "authentication.type must be one of"},
		{"member missing", &ingestv1.EndpointAuthentication{Type: "basic"}, "authentication.basic is required"},
		{"other member", &ingestv1.EndpointAuthentication{Type: "basic", Basic: &ingestv1.BasicAuthentication{Username: "u", Password: "p"}, ApiKey: &ingestv1.ApiKeyAuthentication{}}, "authentication.api_key is not allowed"},
		{"basic", &ingestv1.EndpointAuthentication{Type: "basic", Basic: &ingestv1.BasicAuthentication{Username: "u", Password: "p"}}, ""},
		{"basic colon", &ingestv1.EndpointAuthentication{Type: "basic", Basic: &ingestv1.BasicAuthentication{Username: "u:x", Password: "p"}}, "authentication.basic.username must not contain a colon"},
		{"basic no password", &ingestv1.EndpointAuthentication{Type: "basic", Basic: &ingestv1.BasicAuthentication{Username: "u"}}, "authentication.basic.password is required"},
		{"oauth2", oauth(func(o *ingestv1.OAuth2Authentication) { o.Scopes = []string{"a", "b"} }), ""},
		{"oauth2 bad token_url", oauth(func(o *ingestv1.OAuth2Authentication) { o.TokenUrl = "ftp://x" }), "authentication.oauth2.token_url must be http or https"},
		{"oauth2 no token_url", oauth(func(o *ingestv1.OAuth2Authentication) { o.TokenUrl = "" }), "authentication.oauth2.token_url is required"},
		{"oauth2 no client_id", oauth(func(o *ingestv1.OAuth2Authentication) { o.ClientId = "" }), "authentication.oauth2.client_id is required"},
		{"oauth2 redacted secret on create", oauth(func(o *ingestv1.OAuth2Authentication) { o.ClientSecret = model.Redacted }), "authentication.oauth2.client_secret is [redacted]"},
		{"oauth2 scope with space", oauth(func(o *ingestv1.OAuth2Authentication) { o.Scopes = []string{"a b"} }), "authentication.oauth2.scopes"},
		{"mtls", mtls(cert, key, otherCert), ""},
		{"mtls bad cert", mtls("not pem", key, ""), "authentication.mtls.client_cert must be a PEM certificate"},
		{"mtls bad key", mtls(cert, "-----BEGIN X-----\nAA==\n-----END X-----\n", ""), "authentication.mtls.client_key must be a PEM private key"},
		{"mtls key mismatch", mtls(otherCert, key, ""), "authentication.mtls.client_key does not match"},
		{"mtls bad ca", mtls(cert, key, "junk"), "authentication.mtls.ca_cert must be PEM certificates"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := authenticationIn(tc.in, nil)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if _, ok := err.(invalid); !ok || !strings.HasPrefix(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want an invalid-argument error starting %q", err, tc.wantErr)
			}
		})
	}
}

// A credential read back redacted and sent again keeps the stored one; the
// answer never carries it.
func TestAuthenticationRedactedRoundTrip(t *testing.T) {
	stored, err := authenticationIn(&ingestv1.EndpointAuthentication{Type: "basic", Basic: &ingestv1.BasicAuthentication{Username: "u", Password: "hunter22"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := authenticationPB(stored)
	if out.Basic.Password != model.Redacted || out.Basic.Username != "u" {
		t.Fatalf("answer %+v", out.Basic)
	}
	out.Basic.Username = "v"
	again, err := authenticationIn(out, stored)
	if err != nil || again.Basic.Password != "hunter22" || again.Basic.Username != "v" {
		t.Fatalf("update = %+v, %v", again.Basic, err)
	}
	// A different type does not inherit the old credential.
	if _, err := authenticationIn(&ingestv1.EndpointAuthentication{Type: "api_key", ApiKey: &ingestv1.ApiKeyAuthentication{HeaderName: "X-K", HeaderValue: model.Redacted}}, stored); err == nil {
		t.Fatal("a redacted api_key value took the basic password")
	}
}
