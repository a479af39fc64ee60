// Package outbound is the HTTP client that delivers webhooks. It POSTs exactly
// the bytes it is given, never follows redirects, bounds the time and the
// response size of every request, and refuses to connect to loopback, private,
// link-local, cloud metadata and other non-public addresses. The address check
// runs on the address actually dialled, after DNS resolution, so a hostname
// that resolves (or re-resolves) to an internal address cannot get through.
package outbound

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Defaults applied to zero Config fields and arguments.
const (
	// DefaultMaxResponseBytes is how much of a response body is kept for the
	// attempt record.
	DefaultMaxResponseBytes = 50 << 10
	// DefaultUserAgent identifies deliveries to receivers.
	DefaultUserAgent = "Convoy-Webhooks/1.0"
	// DefaultTimeout applies when Post is given no timeout: a delivery without
	// a deadline would hold a worker forever on a server that never answers.
	DefaultTimeout = 30 * time.Second
)

// drainBytes is how much more of an over-long body is read and discarded so
// the connection can go back to the pool. Past that, closing the connection
// is cheaper than reading on.
const drainBytes = 64 << 10

// maxResponseHeaderBytes bounds response headers, which are recorded with
// every attempt just like the body.
const maxResponseHeaderBytes = 64 << 10

// ErrTimeout marks a request that did not complete (connect, TLS, headers and
// body) within its timeout.
var ErrTimeout = errors.New("timeout")

// Resolver looks up the addresses of a host name. *net.Resolver satisfies it;
// tests inject one to point names at addresses the guard must refuse.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Config configures a Client.
type Config struct {
	// Allow lists operator exceptions to the address guard, for example
	// 127.0.0.0/8 and ::1/128 for a local stack. Link-local and cloud
	// metadata addresses stay blocked even when listed.
	Allow []netip.Prefix
	// UserAgent is sent with every request; empty means DefaultUserAgent.
	UserAgent string
	// MaxResponseBytes caps the response body kept; zero or negative means
	// DefaultMaxResponseBytes.
	MaxResponseBytes int
	// Resolver resolves endpoint host names; nil means net.DefaultResolver.
	Resolver Resolver
	// TLSConfig is cloned for outgoing TLS connections, for example to trust a
	// test CA; nil means the system roots. TLS 1.2 is the minimum either way.
	TLSConfig *tls.Config
	// IdlePerHost is how many idle connections are kept per host; set it to
	// the attempts in flight per endpoint, or a busy endpoint's connections
	// are closed and dialled again all the time. Zero means 16.
	IdlePerHost int
}

// Result is the outcome of one delivery attempt, as recorded.
type Result struct {
	StatusCode int
	Header     http.Header
	// Body holds at most MaxResponseBytes of the response body.
	Body      []byte
	Truncated bool
	// IP is the address the request was sent to (no port), empty when no
	// connection was made.
	IP string
	// Proto is the protocol negotiated, "HTTP/1.1" or "HTTP/2.0".
	Proto    string
	Duration time.Duration
	// Location is the redirect target of a 3xx response, which is not followed.
	Location string
	// Err is set when no complete response was received: refused by the
	// address guard (*BlockedError), timed out (ErrTimeout), or a connection
	// or protocol error. A status code may be set alongside it when the body
	// failed midway. An HTTP error status alone is not an Err.
	Err error
}

// Client delivers webhooks. It is safe for concurrent use; create one per
// process so connections are pooled per host across deliveries.
type Client struct {
	http      *http.Client
	transport *http.Transport
	userAgent string
	maxBody   int
	// dialer and cfg are kept so WithTLS can build a client that shares the
	// guard.
	dialer *dialer
	cfg    Config
}

// New returns a Client for cfg.
func New(cfg Config) *Client {
	resolver := cfg.Resolver
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	d := &dialer{
		resolver: resolver,
		// Copied so a caller changing its slice later cannot widen the guard.
		allow: append([]netip.Prefix(nil), cfg.Allow...),
	}
	d.net = net.Dialer{KeepAlive: 30 * time.Second, ControlContext: d.control}
	return buildClient(cfg, d)
}

// WithTLS returns a client that dials through the same address guard but
// presents cert (when set) and trusts only roots (when set) on TLS
// connections: an endpoint authenticated by mutual TLS gets its own
// connection pool, since a pooled connection carries the identity it was
// opened with.
func (c *Client) WithTLS(cert *tls.Certificate, roots *x509.CertPool) *Client {
	cfg := c.cfg
	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	} else {
		tlsConfig = &tls.Config{}
	}
	if cert != nil {
		tlsConfig.Certificates = []tls.Certificate{*cert}
	}
	if roots != nil {
		tlsConfig.RootCAs = roots
	}
	cfg.TLSConfig = tlsConfig
	// One endpoint's pool: a few idle connections are enough.
	cfg.IdlePerHost = min(cmp.Or(cfg.IdlePerHost, 16), 16)
	return buildClient(cfg, c.dialer)
}

func buildClient(cfg Config, d *dialer) *Client {
	var tlsConfig *tls.Config
	if cfg.TLSConfig != nil {
		tlsConfig = cfg.TLSConfig.Clone()
	} else {
		tlsConfig = &tls.Config{}
	}
	if tlsConfig.MinVersion < tls.VersionTLS12 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}

	transport := &http.Transport{
		// No proxy, not even from the environment: through a proxy the guard
		// would vet the proxy's address instead of the endpoint's.
		Proxy:       nil,
		DialContext: d.DialContext,
		// A custom DialContext turns HTTP/2 off unless asked for explicitly.
		ForceAttemptHTTP2:      true,
		TLSClientConfig:        tlsConfig,
		MaxIdleConns:           512,
		MaxIdleConnsPerHost:    cmp.Or(cfg.IdlePerHost, 16),
		IdleConnTimeout:        90 * time.Second,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
	}

	userAgent := cfg.UserAgent
	if userAgent == "" {
		userAgent = DefaultUserAgent
	}
	maxBody := cfg.MaxResponseBytes
	if maxBody <= 0 {
		maxBody = DefaultMaxResponseBytes
	}
	return &Client{
		http: &http.Client{
			Transport: transport,
			// Following a redirect would turn the POST into a bodiless GET
			// (301/302/303) and deliver to a URL nobody configured; the 3xx
			// is reported as a failed attempt instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		transport: transport,
		userAgent: userAgent,
		maxBody:   maxBody,
		dialer:    d,
		cfg:       cfg,
	}
}

// Close releases idle pooled connections.
func (c *Client) Close() {
	c.transport.CloseIdleConnections()
}

// Post sends body to rawURL with header plus Content-Type and User-Agent, and
// returns the response or the reason there is none. timeout bounds the whole
// exchange, from connecting to reading the last body byte; zero or negative
// means DefaultTimeout.
func (c *Client) Post(ctx context.Context, rawURL string, header http.Header, body []byte, timeout time.Duration) Result {
	return c.send(ctx, http.MethodPost, rawURL, header, body, "application/json", timeout)
}

// PostForm sends form URL-encoded, as an OAuth2 token request is: through
// the same guard, with the same bounds, as a delivery.
func (c *Client) PostForm(ctx context.Context, rawURL string, header http.Header, form url.Values, timeout time.Duration) Result {
	return c.send(ctx, http.MethodPost, rawURL, header, []byte(form.Encode()), "application/x-www-form-urlencoded", timeout)
}

// Options sends a bodiless OPTIONS request, as the webhook validation
// handshake does.
func (c *Client) Options(ctx context.Context, rawURL string, header http.Header, timeout time.Duration) Result {
	return c.send(ctx, http.MethodOptions, rawURL, header, nil, "", timeout)
}

func (c *Client) send(ctx context.Context, method, rawURL string, header http.Header, body []byte, contentType string, timeout time.Duration) (res Result) {
	start := time.Now()
	defer func() { res.Duration = time.Since(start) }()

	if err := checkURL(rawURL); err != nil {
		res.Err = err
		return res
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	var (
		mu sync.Mutex
		ip string
	)
	ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) {
			mu.Lock()
			defer mu.Unlock()
			ip = remoteIP(info.Conn)
		},
	})
	connectedIP := func() string {
		mu.Lock()
		defer mu.Unlock()
		return ip
	}

	var reqBody io.Reader
	if body != nil {
		reqBody = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, reqBody)
	if err != nil {
		res.Err = fmt.Errorf("build request: %w", unwrapURLError(err))
		return res
	}
	if header != nil {
		req.Header = header.Clone()
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	req.Header.Set("User-Agent", c.userAgent)

	resp, err := c.http.Do(req)
	res.IP = connectedIP()
	if err != nil {
		res.Err = describe(ctx, err, timeout)
		return res
	}
	defer resp.Body.Close()

	res.StatusCode = resp.StatusCode
	res.Header = resp.Header
	res.Proto = resp.Proto
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		res.Location = resp.Header.Get("Location")
	}
	res.Body, res.Truncated, err = readCapped(resp.Body, c.maxBody)
	if err != nil {
		res.Err = fmt.Errorf("read response body: %w", describe(ctx, err, timeout))
	}
	return res
}

// checkURL rejects what must never be dialled regardless of address. Errors
// leave the URL out: it may carry credentials, and the attempt records it
// anyway.
func checkURL(rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("parse endpoint url: %w", unwrapURLError(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("endpoint url scheme %q is not http or https", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("endpoint url has no host")
	}
	if legacyIPv4(u.Hostname()) {
		return &BlockedError{Reason: "not a standard IPv4 address (decimal, octal, hex or short forms are refused)"}
	}
	return nil
}

// legacyIPv4 reports whether host is a number-like name that is not a
// dotted-quad IPv4 address: 2130706433, 0177.0.0.1, 0x7f.0.0.1, 127.1.
// A system resolver (inet_aton) turns these into addresses that no reader
// of the URL would recognise, and no DNS name has an all-numeric last label
// (RFC 3696 section 2), so they are refused before any lookup.
func legacyIPv4(host string) bool {
	if _, err := netip.ParseAddr(host); err == nil {
		return false
	}
	last := host[strings.LastIndexByte(strings.TrimSuffix(host, "."), '.')+1:]
	last = strings.TrimSuffix(last, ".")
	if last == "" {
		return false
	}
	digits := strings.TrimPrefix(strings.TrimPrefix(last, "0x"), "0X")
	if digits == "" {
		return true
	}
	hex := len(digits) != len(last)
	for _, r := range digits {
		isDigit := r >= '0' && r <= '9'
		isHex := isDigit || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F'
		if !isDigit && !(hex && isHex) {
			return false
		}
	}
	return true
}

// readCapped reads up to limit bytes of r and reports whether there was more.
// After a truncation it discards a bounded amount so a slightly oversized
// response does not cost the pooled connection.
func readCapped(r io.Reader, limit int) ([]byte, bool, error) {
	buf, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return buf, false, err
	}
	if len(buf) <= limit {
		return buf, false, nil
	}
	_, _ = io.CopyN(io.Discard, r, drainBytes) // best effort; Close handles the rest
	return buf[:limit], true, nil
}

// describe turns a transport error into the error recorded for the attempt:
// the guard's refusal as is, a deadline as ErrTimeout, and otherwise the
// underlying error without the URL prefix net/http adds.
func describe(ctx context.Context, err error, timeout time.Duration) error {
	var blocked *BlockedError
	if errors.As(err, &blocked) {
		return blocked
	}
	inner := unwrapURLError(err)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w after %s: %w", ErrTimeout, timeout, inner)
	}
	return inner
}

func unwrapURLError(err error) error {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return uerr.Err
	}
	return err
}

func remoteIP(conn net.Conn) string {
	if conn == nil {
		return ""
	}
	addr, err := netip.ParseAddrPort(conn.RemoteAddr().String())
	if err != nil {
		return ""
	}
	return addr.Addr().Unmap().String()
}
