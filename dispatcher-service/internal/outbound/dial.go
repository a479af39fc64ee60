package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// BlockedError is the address guard's refusal to connect. No connection is
// made: the check runs after the socket is created and before connect.
type BlockedError struct {
	IP     netip.Addr
	Reason string
}

func (e *BlockedError) Error() string {
	if !e.IP.IsValid() {
		// Refused from the URL alone, before any address was known.
		return "endpoint url host is " + e.Reason
	}
	return fmt.Sprintf("destination %s is %s", e.IP, e.Reason)
}

// minAttemptTimeout is the least time one address of several gets before the
// dialer moves on, so an unreachable first address cannot eat the whole
// deadline and a reachable one still gets a fair chance.
const minAttemptTimeout = 2 * time.Second

// dialer resolves names itself (through an injectable Resolver) and dials each
// address in turn; net.Dialer.ControlContext vets every address right before
// connect, which makes the guard independent of how the address was found.
type dialer struct {
	resolver Resolver
	allow    []netip.Prefix
	net      net.Dialer
}

// control is the single enforcement point of the address guard.
func (d *dialer) control(_ context.Context, _, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("parse dialled address %q: %w", address, err)
	}
	if reason, blocked := Blocked(ap.Addr(), d.allow); blocked {
		return &BlockedError{IP: ap.Addr().WithZone(""), Reason: reason}
	}
	return nil
}

// DialContext has the signature http.Transport expects.
func (d *dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("split host and port: %w", err)
	}
	ips, err := d.lookup(ctx, network, host)
	if err != nil {
		return nil, err
	}
	// A refusal is reported only if nothing else went wrong: for a name with
	// one public and one private address, the public one's error is the
	// useful one.
	var dialErr, blockedErr error
	for i, ip := range ips {
		conn, err := d.dialOne(ctx, network, ip.String(), port, len(ips)-i)
		if err == nil {
			return conn, nil
		}
		var blocked *BlockedError
		switch {
		case errors.As(err, &blocked):
			if blockedErr == nil {
				blockedErr = err
			}
		case dialErr == nil:
			dialErr = err
		}
		if ctx.Err() != nil {
			break
		}
	}
	if dialErr != nil {
		return nil, dialErr
	}
	return nil, blockedErr
}

// dialOne dials one address, giving it a share of the remaining time when
// other addresses are still to be tried.
func (d *dialer) dialOne(ctx context.Context, network, ip, port string, remaining int) (net.Conn, error) {
	if deadline, ok := ctx.Deadline(); ok && remaining > 1 {
		share := max(time.Until(deadline)/time.Duration(remaining), minAttemptTimeout)
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, share)
		defer cancel()
	}
	return d.net.DialContext(ctx, network, net.JoinHostPort(ip, port))
}

func (d *dialer) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	family := "ip"
	switch network {
	case "tcp4":
		family = "ip4"
	case "tcp6":
		family = "ip6"
	}
	ips, err := d.resolver.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	for i := range ips {
		// Resolvers may hand back IPv4 as ::ffff:a.b.c.d.
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}
