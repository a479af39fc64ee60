package outbound

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// newWildcardServer listens on every local address, IPv4 and IPv6, so any
// connection an address form sneaks through to this host is counted.
func newWildcardServer(t *testing.T) (port string, ln *countingListener) {
	t.Helper()
	l, err := net.Listen("tcp", ":0")
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Listener.Close()
	srv.Listener = cl
	srv.Start()
	t.Cleanup(srv.Close)
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port), cl
}

// atonResolver resolves the legacy numeric IPv4 forms as getaddrinfo's
// inet_aton does (every one of them is 127.0.0.1 here), and counts lookups.
type atonResolver struct{ lookups atomic.Int32 }

func (r *atonResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.lookups.Add(1)
	switch host {
	case "2130706433", "0177.0.0.1", "0x7f.0.0.1", "0x7f000001", "127.1", "017700000001":
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

// Every address form that reaches a loopback, private or unspecified
// address is refused before a connection is made.
func TestGuardAddressForms(t *testing.T) {
	port, ln := newWildcardServer(t)
	for _, tc := range []struct {
		name, host string
		want       string // in the error
		// evenIfAllowed: refused with loopback allowed too (the local stack).
		evenIfAllowed bool
	}{
		{"IPv4-mapped IPv6 loopback", "[::ffff:127.0.0.1]", "a loopback address", false},
		{"IPv4-mapped IPv6 private", "[::ffff:10.0.0.1]", "a private address", true},
		{"IPv4-compatible IPv6 loopback", "[::127.0.0.1]", "a reserved address", true},
		{"6to4 embedding loopback", "[2002:7f00:1::1]", "embedding 127.0.0.1", false},
		{"6to4 embedding private", "[2002:c0a8:101::1]", "embedding 192.168.1.1", true},
		{"NAT64 embedding loopback", "[64:ff9b::127.0.0.1]", "embedding 127.0.0.1", false},
		{"NAT64 embedding private", "[64:ff9b::10.0.0.1]", "embedding 10.0.0.1", true},
		{"decimal IPv4", "2130706433", "not a standard IPv4 address", true},
		{"octal IPv4", "0177.0.0.1", "not a standard IPv4 address", true},
		{"hex IPv4", "0x7f.0.0.1", "not a standard IPv4 address", true},
		{"hex IPv4 in one part", "0x7f000001", "not a standard IPv4 address", true},
		{"short IPv4", "127.1", "not a standard IPv4 address", true},
		{"unspecified IPv4", "0.0.0.0", "an unspecified address", true},
		{"unspecified IPv6", "[::]", "an unspecified address", true},
	} {
		for _, allow := range [][]netip.Prefix{nil, {netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}} {
			if allow != nil && !tc.evenIfAllowed {
				continue
			}
			name := tc.name
			if allow != nil {
				name += " with loopback allowed"
			}
			t.Run(name, func(t *testing.T) {
				r := &atonResolver{}
				c := newClient(t, Config{Allow: allow, Resolver: r})
				before := ln.accepts.Load()
				res := c.Post(t.Context(), "http://"+tc.host+":"+port+"/", nil, []byte(`{}`), 5*time.Second)
				if res.Err == nil || !strings.Contains(res.Err.Error(), tc.want) {
					t.Fatalf("Err = %v, want it to contain %q", res.Err, tc.want)
				}
				if strings.Contains(tc.want, "standard IPv4") && r.lookups.Load() != 0 {
					t.Errorf("a legacy numeric host was resolved (%d lookups): it must be refused before", r.lookups.Load())
				}
				if res.IP != "" || res.StatusCode != 0 || ln.accepts.Load() != before {
					t.Errorf("a connection was made: IP %q, status %d", res.IP, res.StatusCode)
				}
			})
		}
	}
}

// rebindingResolver answers with each of its answers in turn, the last
// repeating: a DNS name an attacker re-points between two lookups.
type rebindingResolver struct {
	mu      sync.Mutex
	answers []netip.Addr
	lookups int
}

func (r *rebindingResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ip := r.answers[min(r.lookups, len(r.answers)-1)]
	r.lookups++
	return []netip.Addr{ip}, nil
}

// A name is resolved once per connection and the address checked is the
// address dialled: a second answer cannot slip in between the check and the
// connect, and a re-pointed name is refused on the next connection.
func TestGuardDNSRebinding(t *testing.T) {
	srv, ln := newServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	// 127.0.0.1 stands in for a public address (allowed), 127.0.0.2 for a
	// private one (not allowed).
	r := &rebindingResolver{answers: []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("127.0.0.2")}}
	c := newClient(t, Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}, Resolver: r})
	url := "http://rebind.test:" + strconv.Itoa(port) + "/"

	res := c.Post(t.Context(), url, nil, []byte(`{}`), 5*time.Second)
	if res.Err != nil || res.IP != "127.0.0.1" {
		t.Fatalf("first request: Err = %v, IP = %q", res.Err, res.IP)
	}
	if r.lookups != 1 {
		t.Fatalf("%d lookups for one connection: the dial must use the address that was checked", r.lookups)
	}
	c.Close() // a new connection resolves again
	res = c.Post(t.Context(), url, nil, []byte(`{}`), 5*time.Second)
	var blocked *BlockedError
	if !errors.As(res.Err, &blocked) || blocked.IP != netip.MustParseAddr("127.0.0.2") {
		t.Fatalf("after rebinding: Err = %v, want 127.0.0.2 refused", res.Err)
	}
	if ln.accepts.Load() != 1 {
		t.Fatalf("accepts = %d, want only the first request's", ln.accepts.Load())
	}
}
