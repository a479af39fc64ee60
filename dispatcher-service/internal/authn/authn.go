// Package authn proves the dispatcher to an endpoint that asks for more than
// the payload signature: an API key header, HTTP Basic credentials, an
// OAuth2 bearer token (client-credentials grant, cached per endpoint) or a
// client certificate (mutual TLS, one connection pool per endpoint).
package authn

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"convoy/core/model"
	"convoy/dispatcher-service/internal/outbound"
)

// Token cache timings.
const (
	// refreshMargin is how long before its expiry a token is replaced, so a
	// request never leaves with a token that expires on the way.
	refreshMargin = 30 * time.Second
	// defaultTokenLifetime applies when the token answer has no expires_in.
	defaultTokenLifetime = time.Minute
	// tokenTimeout bounds one token request.
	tokenTimeout = 10 * time.Second
	// maxTokenBody is what is read of a token answer: a token is small.
	maxTokenBody = 16 << 10
)

// FormPoster sends the token request. *outbound.Client satisfies it, so the
// token URL passes the same address guard as a delivery.
type FormPoster interface {
	PostForm(ctx context.Context, url string, header http.Header, form url.Values, timeout time.Duration) outbound.Result
}

// Authenticator holds the per-endpoint state authentication needs: cached
// OAuth2 tokens and mutual-TLS clients. It is safe for concurrent use.
type Authenticator struct {
	base  *outbound.Client
	forms FormPoster
	now   func() time.Time

	mu      sync.Mutex
	tokens  map[string]*tokenEntry
	clients map[string]tlsClient
}

type tokenEntry struct {
	// mu makes concurrent attempts to one endpoint wait for one fetch
	// instead of each asking for a token.
	mu      sync.Mutex
	key     string
	token   string
	expires time.Time
}

type tlsClient struct {
	key    string
	client *outbound.Client
}

// New returns an Authenticator whose token requests and mutual-TLS clients
// go through base's address guard.
func New(base *outbound.Client) *Authenticator {
	return &Authenticator{
		base: base, forms: base, now: time.Now,
		tokens: map[string]*tokenEntry{}, clients: map[string]tlsClient{},
	}
}

// Header returns the headers that authenticate a request to ep; nil when ep
// has no header-borne authentication. An OAuth2 token is fetched when none
// is cached or the cached one is about to expire.
func (a *Authenticator) Header(ctx context.Context, ep *model.Endpoint) (http.Header, error) {
	auth := ep.Authentication
	if auth == nil {
		return nil, nil
	}
	switch {
	case auth.APIKey != nil:
		h := http.Header{}
		h.Set(auth.APIKey.HeaderName, auth.APIKey.HeaderValue)
		return h, nil
	case auth.Basic != nil:
		h := http.Header{}
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(auth.Basic.Username+":"+auth.Basic.Password)))
		return h, nil
	case auth.OAuth2 != nil:
		tok, err := a.token(ctx, ep, false)
		if err != nil {
			return nil, err
		}
		h := http.Header{}
		h.Set("Authorization", "Bearer "+tok)
		return h, nil
	}
	return nil, nil
}

// Refresh drops ep's cached OAuth2 token and returns headers with a new
// one; it is what a 401 from the endpoint calls for. ok is false when ep
// does not use OAuth2, whose credentials a new request would not change.
func (a *Authenticator) Refresh(ctx context.Context, ep *model.Endpoint) (h http.Header, ok bool, err error) {
	if ep.Authentication == nil || ep.Authentication.OAuth2 == nil {
		return nil, false, nil
	}
	tok, err := a.token(ctx, ep, true)
	if err != nil {
		return nil, true, err
	}
	h = http.Header{}
	h.Set("Authorization", "Bearer "+tok)
	return h, true, nil
}

// SensitiveHeaders names the request headers carrying ep's credentials,
// which the attempt record must not keep.
func SensitiveHeaders(ep *model.Endpoint) []string {
	auth := ep.Authentication
	switch {
	case auth == nil:
		return nil
	case auth.APIKey != nil:
		return []string{auth.APIKey.HeaderName}
	case auth.Basic != nil, auth.OAuth2 != nil:
		return []string{"Authorization"}
	}
	return nil
}

func (a *Authenticator) token(ctx context.Context, ep *model.Endpoint, force bool) (string, error) {
	o := ep.Authentication.OAuth2
	key := fingerprint(o.TokenURL, o.ClientID, o.ClientSecret, strings.Join(o.Scopes, " "), o.Audience)
	a.mu.Lock()
	e := a.tokens[ep.UID]
	if e == nil {
		e = &tokenEntry{}
		a.tokens[ep.UID] = e
	}
	a.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	now := a.now()
	if !force && e.key == key && e.token != "" && now.Before(e.expires) {
		return e.token, nil
	}
	tok, lifetime, err := a.fetch(ctx, o)
	if err != nil {
		e.token = ""
		return "", fmt.Errorf("oauth2 token: %w", err)
	}
	// A token living no longer than the margin is used for this request
	// only.
	margin := min(refreshMargin, lifetime)
	e.key, e.token, e.expires = key, tok, now.Add(lifetime-margin)
	return tok, nil
}

// tokenAnswer is an RFC 6749 section 5.1 answer, or a section 5.2 error.
type tokenAnswer struct {
	AccessToken      string          `json:"access_token"`
	TokenType        string          `json:"token_type"`
	ExpiresIn        json.RawMessage `json:"expires_in"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// fetch asks the token endpoint for a client-credentials token. The client
// authenticates with HTTP Basic, which RFC 6749 section 2.3.1 requires every
// server to support. Errors never include the client secret or the token.
func (a *Authenticator) fetch(ctx context.Context, o *model.OAuth2Auth) (string, time.Duration, error) {
	form := url.Values{"grant_type": {"client_credentials"}}
	if len(o.Scopes) > 0 {
		form.Set("scope", strings.Join(o.Scopes, " "))
	}
	if o.Audience != "" {
		form.Set("audience", o.Audience)
	}
	h := http.Header{}
	h.Set("Accept", "application/json")
	// RFC 6749 2.3.1: the id and secret are form-encoded before Basic.
	h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString(
		[]byte(url.QueryEscape(o.ClientID)+":"+url.QueryEscape(o.ClientSecret))))
	res := a.forms.PostForm(ctx, o.TokenURL, h, form, tokenTimeout)
	if res.Err != nil {
		var blocked *outbound.BlockedError
		if errors.As(res.Err, &blocked) {
			return "", 0, fmt.Errorf("token url refused: %w", res.Err)
		}
		return "", 0, fmt.Errorf("token request: %w", res.Err)
	}
	var ans tokenAnswer
	jsonErr := json.Unmarshal(res.Body, &ans)
	if res.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("token endpoint answered %d %s", res.StatusCode, http.StatusText(res.StatusCode))
		if jsonErr == nil && ans.Error != "" {
			msg += " (" + clip(ans.Error) + ")"
		}
		return "", 0, errors.New(msg)
	}
	if res.Truncated || len(res.Body) > maxTokenBody {
		return "", 0, errors.New("token answer too large")
	}
	if jsonErr != nil {
		return "", 0, errors.New("token answer is not JSON")
	}
	if ans.AccessToken == "" {
		return "", 0, errors.New("token answer has no access_token")
	}
	if ans.TokenType != "" && !strings.EqualFold(ans.TokenType, "bearer") {
		return "", 0, fmt.Errorf("token type %q is not bearer", clip(ans.TokenType))
	}
	lifetime := defaultTokenLifetime
	if len(ans.ExpiresIn) > 0 && string(ans.ExpiresIn) != "null" {
		// Some servers send the number as a string.
		n, err := strconv.ParseInt(strings.Trim(string(ans.ExpiresIn), `"`), 10, 64)
		if err != nil || n <= 0 {
			return "", 0, errors.New("token answer has an invalid expires_in")
		}
		lifetime = time.Duration(n) * time.Second
	}
	return ans.AccessToken, lifetime, nil
}

// Client returns the client to deliver to ep with: the shared one, or for
// mutual TLS one presenting ep's certificate, built once per endpoint and
// rebuilt when its certificates change.
func (a *Authenticator) Client(ep *model.Endpoint) (*outbound.Client, error) {
	if ep.Authentication == nil || ep.Authentication.MTLS == nil {
		return a.base, nil
	}
	m := ep.Authentication.MTLS
	key := fingerprint(m.ClientCert, m.ClientKey, m.CACert)
	a.mu.Lock()
	defer a.mu.Unlock()
	if c, ok := a.clients[ep.UID]; ok && c.key == key {
		return c.client, nil
	}
	cert, err := tls.X509KeyPair([]byte(m.ClientCert), []byte(m.ClientKey))
	if err != nil {
		return nil, errors.New("mtls: client certificate and key do not load")
	}
	var roots *x509.CertPool
	if m.CACert != "" {
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM([]byte(m.CACert)) {
			return nil, errors.New("mtls: ca_cert does not load")
		}
	}
	if old, ok := a.clients[ep.UID]; ok {
		old.client.Close()
	}
	c := a.base.WithTLS(&cert, roots)
	a.clients[ep.UID] = tlsClient{key: key, client: c}
	return c, nil
}

func fingerprint(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// clip bounds text from a remote server that ends up in an attempt record.
func clip(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
