package outbound

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var loopbackOnly = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// countingListener counts accepted connections, which is how the tests prove
// the guard refused before connecting rather than after.
type countingListener struct {
	net.Listener
	accepts atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepts.Add(1)
	}
	return c, err
}

// newServer starts an HTTP server on 127.0.0.1 that counts connections.
func newServer(t *testing.T, h http.Handler) (*httptest.Server, *countingListener) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: ln}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, cl
}

func newClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c := New(cfg)
	t.Cleanup(c.Close)
	return c
}

func TestPostResponses(t *testing.T) {
	var redirectTargetHits atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Echo-Method", r.Method)
		w.Header().Set("X-Echo-Content-Type", r.Header.Get("Content-Type"))
		w.Header().Set("X-Echo-User-Agent", r.Header.Get("User-Agent"))
		w.Header().Set("X-Echo-Signature", r.Header.Get("X-Convoy-Signature"))
		fmt.Fprintf(w, "got %s", body)
	})
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/found", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://example.com/elsewhere", http.StatusFound)
	})
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {
		redirectTargetHits.Add(1)
	})
	srv, _ := newServer(t, mux)
	c := newClient(t, Config{Allow: loopbackOnly, UserAgent: "convoy-test/1"})

	tests := []struct {
		path         string
		wantStatus   int
		wantBody     string
		wantLocation string
		wantHeader   map[string]string
	}{
		{"/ok", 200, `got {"event":"ping"}`, "", map[string]string{
			"X-Echo-Method":       "POST",
			"X-Echo-Content-Type": "application/json",
			"X-Echo-User-Agent":   "convoy-test/1",
			"X-Echo-Signature":    "abc123",
		}},
		{"/fail", 500, "boom\n", "", nil},
		{"/moved", 301, "", "/target", nil},
		{"/found", 302, "", "https://example.com/elsewhere", nil},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			h := http.Header{}
			h.Set("X-Convoy-Signature", "abc123")
			h.Set("Content-Type", "text/plain") // overridden: deliveries are JSON
			res := c.Post(t.Context(), srv.URL+tt.path, h, []byte(`{"event":"ping"}`), 5*time.Second)
			if res.Err != nil {
				t.Fatalf("Err = %v", res.Err)
			}
			if res.StatusCode != tt.wantStatus {
				t.Errorf("StatusCode = %d, want %d", res.StatusCode, tt.wantStatus)
			}
			if tt.path != "/moved" && tt.path != "/found" && string(res.Body) != tt.wantBody {
				t.Errorf("Body = %q, want %q", res.Body, tt.wantBody)
			}
			if res.Location != tt.wantLocation {
				t.Errorf("Location = %q, want %q", res.Location, tt.wantLocation)
			}
			for k, v := range tt.wantHeader {
				if got := res.Header.Get(k); got != v {
					t.Errorf("server saw %s = %q, want %q", k, got, v)
				}
			}
			if res.IP != "127.0.0.1" {
				t.Errorf("IP = %q, want 127.0.0.1", res.IP)
			}
			if res.Proto != "HTTP/1.1" {
				t.Errorf("Proto = %q", res.Proto)
			}
			if res.Truncated {
				t.Error("Truncated")
			}
			if res.Duration <= 0 {
				t.Errorf("Duration = %v", res.Duration)
			}
		})
	}
	if n := redirectTargetHits.Load(); n != 0 {
		t.Errorf("redirect followed %d times", n)
	}
	// The caller's header map must not be modified.
	h := http.Header{"X-A": {"1"}}
	c.Post(t.Context(), srv.URL+"/ok", h, nil, time.Second)
	if len(h) != 1 {
		t.Errorf("caller header modified: %v", h)
	}
}

func TestPostTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "partial")
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before srv.Close

	c := newClient(t, Config{Allow: loopbackOnly})
	const timeout = 300 * time.Millisecond
	res := c.Post(t.Context(), srv.URL, nil, []byte(`{}`), timeout)
	if res.Err == nil {
		t.Fatal("no error for a body slower than the timeout")
	}
	if !errors.Is(res.Err, ErrTimeout) || !strings.Contains(res.Err.Error(), "timeout") {
		t.Errorf("Err = %v, want a timeout", res.Err)
	}
	t.Logf("Err = %v", res.Err)
	if res.StatusCode != http.StatusOK {
		t.Errorf("StatusCode = %d, want the 200 received before the stall", res.StatusCode)
	}
	if res.Duration < timeout || res.Duration > timeout+2*time.Second {
		t.Errorf("Duration = %v, want about %v", res.Duration, timeout)
	}
}

func TestPostHeaderTimeout(t *testing.T) {
	release := make(chan struct{})
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) })

	c := newClient(t, Config{Allow: loopbackOnly})
	res := c.Post(t.Context(), srv.URL, nil, nil, 200*time.Millisecond)
	if !errors.Is(res.Err, ErrTimeout) {
		t.Fatalf("Err = %v, want ErrTimeout", res.Err)
	}
	if strings.Contains(res.Err.Error(), srv.URL) {
		t.Errorf("error repeats the URL: %v", res.Err)
	}
	if res.StatusCode != 0 {
		t.Errorf("StatusCode = %d", res.StatusCode)
	}
}

func TestPostCanceled(t *testing.T) {
	release := make(chan struct{})
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) })

	c := newClient(t, Config{Allow: loopbackOnly})
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := c.Post(ctx, srv.URL, nil, nil, 10*time.Second)
	if !errors.Is(res.Err, context.Canceled) || errors.Is(res.Err, ErrTimeout) {
		t.Fatalf("Err = %v, want context.Canceled and not a timeout", res.Err)
	}
}

func TestPostConnectionReset(t *testing.T) {
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		if tcp, ok := conn.(*net.TCPConn); ok {
			tcp.SetLinger(0) // close with RST rather than FIN
		}
		conn.Close()
	}))
	c := newClient(t, Config{Allow: loopbackOnly})
	res := c.Post(t.Context(), srv.URL, nil, []byte(`{}`), 5*time.Second)
	if res.Err == nil {
		t.Fatalf("no error for a reset connection; status %d", res.StatusCode)
	}
	if errors.Is(res.Err, ErrTimeout) {
		t.Errorf("reset reported as timeout: %v", res.Err)
	}
	t.Logf("Err = %v", res.Err)
	if res.StatusCode != 0 {
		t.Errorf("StatusCode = %d", res.StatusCode)
	}
}

func TestPostTruncates(t *testing.T) {
	const limit = 1024
	tests := []struct {
		name          string
		size          int
		wantTruncated bool
	}{
		{"under the cap", limit - 1, false},
		{"exactly the cap", limit, false},
		{"one byte over", limit + 1, true},
		{"far over, beyond the drain", 4 << 20, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, strings.Repeat("x", tt.size))
			}))
			c := newClient(t, Config{Allow: loopbackOnly, MaxResponseBytes: limit})
			res := c.Post(t.Context(), srv.URL, nil, nil, 5*time.Second)
			if res.Err != nil {
				t.Fatal(res.Err)
			}
			if res.Truncated != tt.wantTruncated {
				t.Errorf("Truncated = %v, want %v", res.Truncated, tt.wantTruncated)
			}
			if want := min(tt.size, limit); len(res.Body) != want {
				t.Errorf("len(Body) = %d, want %d", len(res.Body), want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	var ua atomic.Value
	srv, _ := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua.Store(r.Header.Get("User-Agent"))
		io.WriteString(w, strings.Repeat("y", DefaultMaxResponseBytes+10))
	}))
	c := newClient(t, Config{Allow: loopbackOnly})
	res := c.Post(t.Context(), srv.URL, nil, nil, 0)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if len(res.Body) != 50*1024 || !res.Truncated {
		t.Errorf("len(Body) = %d, Truncated = %v; want 51200, true", len(res.Body), res.Truncated)
	}
	if got := ua.Load(); got != DefaultUserAgent {
		t.Errorf("User-Agent = %v, want %q", got, DefaultUserAgent)
	}
}

func TestPostReusesConnections(t *testing.T) {
	srv, ln := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	c := newClient(t, Config{Allow: loopbackOnly})
	for i := range 5 {
		if res := c.Post(t.Context(), srv.URL, nil, []byte(`{}`), 5*time.Second); res.Err != nil {
			t.Fatalf("post %d: %v", i, res.Err)
		}
	}
	if n := ln.accepts.Load(); n != 1 {
		t.Errorf("%d connections for 5 sequential posts, want 1", n)
	}
}

// With as many idle connections per host as attempts in flight, concurrent
// posts to one endpoint keep their connections instead of dialling anew.
func TestPostKeepsConcurrentConnections(t *testing.T) {
	const workers, rounds = 32, 10
	srv, ln := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	c := newClient(t, Config{Allow: loopbackOnly, IdlePerHost: workers})
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range rounds {
				if res := c.Post(t.Context(), srv.URL, nil, []byte(`{}`), 5*time.Second); res.Err != nil {
					failed.Add(1)
				}
				// Between attempts a dispatcher records and fetches, so
				// most connections sit idle at the same time.
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Wait()
	if failed.Load() > 0 {
		t.Fatalf("%d posts failed", failed.Load())
	}
	// The transport may dial for a waiting request and then hand it a
	// connection that came back first, so a few spare dials are normal; what
	// matters is that connections are not closed and redialled each round
	// (with the default two idle per host this test dials over 200).
	if n, most := ln.accepts.Load(), int64(workers+workers/2); n > most {
		t.Errorf("%d connections for %d concurrent workers, want at most %d", n, workers, most)
	}
}

func TestPostRefusesLoopbackWithoutAllow(t *testing.T) {
	srv, ln := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))

	res := newClient(t, Config{}).Post(t.Context(), srv.URL, nil, []byte(`{}`), 5*time.Second)
	var blocked *BlockedError
	if !errors.As(res.Err, &blocked) {
		t.Fatalf("Err = %v, want *BlockedError", res.Err)
	}
	if got, want := res.Err.Error(), "destination 127.0.0.1 is a loopback address"; got != want {
		t.Errorf("Err = %q, want %q", got, want)
	}
	if res.IP != "" || res.StatusCode != 0 {
		t.Errorf("IP = %q, StatusCode = %d after a refusal", res.IP, res.StatusCode)
	}

	// An allowed request's connection is accepted after any the refused one
	// might have opened, so exactly one accept proves the refusal made none.
	if res := newClient(t, Config{Allow: loopbackOnly}).Post(t.Context(), srv.URL, nil, nil, 5*time.Second); res.Err != nil {
		t.Fatal(res.Err)
	}
	if n := ln.accepts.Load(); n != 1 {
		t.Errorf("accepts = %d, want 1 (only the allowed request)", n)
	}
}

// fakeResolver answers from a fixed table, standing in for DNS an attacker
// controls.
type fakeResolver map[string][]netip.Addr

func (r fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	ips, ok := r[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return append([]netip.Addr(nil), ips...), nil
}

func TestPostResolvedAddresses(t *testing.T) {
	srv, ln := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	u, _ := url.Parse(srv.URL)
	port := u.Port()
	a := netip.MustParseAddr
	resolver := fakeResolver{
		"metadata.test": {a("169.254.169.254")},
		"alibaba.test":  {a("100.100.100.200")},
		"internal.test": {a("10.0.0.1")},
		"mapped.test":   {a("::ffff:10.0.0.1")},
		"nat64.test":    {a("64:ff9b::a9fe:a9fe")},
		"rebind.test":   {a("127.0.0.1")},
		"mixed.test":    {a("10.0.0.1"), a("169.254.169.254"), a("127.0.0.1")},
	}
	everything := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

	tests := []struct {
		name    string
		host    string
		allow   []netip.Prefix
		wantErr string // empty: success
	}{
		{"metadata refused", "metadata.test", loopbackOnly, "destination 169.254.169.254 is a cloud metadata address"},
		{"metadata refused even if allowed", "metadata.test", everything, "destination 169.254.169.254 is a cloud metadata address"},
		{"alibaba metadata refused even if allowed", "alibaba.test", everything, "destination 100.100.100.200 is a cloud metadata address"},
		{"private refused", "internal.test", loopbackOnly, "destination 10.0.0.1 is a private address"},
		{"mapped private refused", "mapped.test", loopbackOnly, "destination 10.0.0.1 is a private address"},
		{"nat64 metadata refused", "nat64.test", everything, "destination 64:ff9b::a9fe:a9fe is an IPv6 address embedding 169.254.169.254 (a cloud metadata address)"},
		{"name resolving to loopback refused", "rebind.test", nil, "destination 127.0.0.1 is a loopback address"},
		{"unknown name", "nowhere.test", loopbackOnly, "resolve nowhere.test"},
		{"blocked addresses skipped for an allowed one", "mixed.test", loopbackOnly, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := ln.accepts.Load()
			c := newClient(t, Config{Allow: tt.allow, Resolver: resolver})
			res := c.Post(t.Context(), "http://"+net.JoinHostPort(tt.host, port)+"/", nil, []byte(`{}`), 5*time.Second)
			if tt.wantErr == "" {
				if res.Err != nil || res.StatusCode != 200 || res.IP != "127.0.0.1" {
					t.Fatalf("Err = %v, StatusCode = %d, IP = %q", res.Err, res.StatusCode, res.IP)
				}
				return
			}
			if res.Err == nil || !strings.Contains(res.Err.Error(), tt.wantErr) {
				t.Fatalf("Err = %v, want it to contain %q", res.Err, tt.wantErr)
			}
			if res.IP != "" {
				t.Errorf("IP = %q after a refusal", res.IP)
			}
			if n := ln.accepts.Load(); n != before {
				t.Errorf("a connection reached the server")
			}
		})
	}
}

func TestPostHTTP2(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "proto %d", r.ProtoMajor)
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	c := newClient(t, Config{Allow: loopbackOnly, TLSConfig: &tls.Config{RootCAs: roots}})
	for i := range 2 {
		res := c.Post(t.Context(), srv.URL, nil, []byte(`{}`), 5*time.Second)
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		if res.Proto != "HTTP/2.0" || string(res.Body) != "proto 2" {
			t.Errorf("post %d: Proto = %q, Body = %q; want HTTP/2", i, res.Proto, res.Body)
		}
		if res.IP != "127.0.0.1" {
			t.Errorf("IP = %q", res.IP)
		}
	}

	t.Run("guard applies to TLS too", func(t *testing.T) {
		res := newClient(t, Config{TLSConfig: &tls.Config{RootCAs: roots}}).Post(t.Context(), srv.URL, nil, nil, 5*time.Second)
		var blocked *BlockedError
		if !errors.As(res.Err, &blocked) {
			t.Errorf("Err = %v, want *BlockedError", res.Err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		res := newClient(t, Config{Allow: loopbackOnly}).Post(t.Context(), srv.URL, nil, nil, 5*time.Second)
		if res.Err == nil {
			t.Error("self-signed certificate accepted without the test root")
		}
	})
}

func TestPostBadURL(t *testing.T) {
	c := newClient(t, Config{Allow: loopbackOnly})
	tests := []struct {
		url  string
		want string
	}{
		{"ftp://example.com/x", `scheme "ftp"`},
		{"http:///path", "no host"},
		{"http://user:hunter2@exa mple.com/", "parse endpoint url"},
		{"example.com/hook", `scheme ""`},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			res := c.Post(t.Context(), tt.url, nil, nil, time.Second)
			if res.Err == nil || !strings.Contains(res.Err.Error(), tt.want) {
				t.Fatalf("Err = %v, want it to contain %q", res.Err, tt.want)
			}
			if strings.Contains(res.Err.Error(), "hunter2") {
				t.Errorf("error leaks URL credentials: %v", res.Err)
			}
		})
	}
}
