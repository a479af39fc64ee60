package outbound

import (
	"fmt"
	"net/netip"
)

// special is one range of addresses that must not be reached from a webhook
// delivery unless the operator allows it.
type special struct {
	prefix netip.Prefix
	reason string
	// hard ranges stay blocked even when an allow prefix covers them: nothing
	// legitimate is delivered to link-local or cloud metadata addresses, and
	// they are what an SSRF attack against a cloud host goes for.
	hard bool
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// specialRanges is checked in order, so the more specific entries (metadata
// inside link-local or CGNAT, broadcast inside 240/4) come first and name the
// reason precisely. It is a function rather than a package variable so no
// package-level state can be modified.
func specialRanges() []special {
	return []special{
		// Cloud metadata services: AWS/GCP/Azure/OpenStack, AWS over IPv6,
		// Alibaba Cloud.
		{pfx("169.254.169.254/32"), "a cloud metadata address", true},
		{pfx("fd00:ec2::254/128"), "a cloud metadata address", true},
		{pfx("100.100.100.200/32"), "a cloud metadata address", true},

		{pfx("169.254.0.0/16"), "a link-local address", true},
		{pfx("fe80::/10"), "a link-local address", true},

		{pfx("255.255.255.255/32"), "a broadcast address", false},
		{pfx("0.0.0.0/32"), "an unspecified address", false},
		{pfx("::/128"), "an unspecified address", false},
		{pfx("127.0.0.0/8"), "a loopback address", false},
		{pfx("::1/128"), "a loopback address", false},
		{pfx("10.0.0.0/8"), "a private address", false},
		{pfx("172.16.0.0/12"), "a private address", false},
		{pfx("192.168.0.0/16"), "a private address", false},
		{pfx("fc00::/7"), "a private address", false},
		{pfx("100.64.0.0/10"), "a carrier-grade NAT address", false},
		{pfx("224.0.0.0/4"), "a multicast address", false},
		{pfx("ff00::/8"), "a multicast address", false},
		{pfx("0.0.0.0/8"), `a "this network" address`, false},
		{pfx("192.0.0.0/24"), "an IETF protocol assignment address", false},
		{pfx("192.0.2.0/24"), "a documentation address", false},
		{pfx("198.51.100.0/24"), "a documentation address", false},
		{pfx("203.0.113.0/24"), "a documentation address", false},
		{pfx("2001:db8::/32"), "a documentation address", false},
		{pfx("3fff::/20"), "a documentation address", false},
		{pfx("198.18.0.0/15"), "a benchmarking address", false},
		{pfx("2001:2::/48"), "a benchmarking address", false},
		{pfx("192.88.99.0/24"), "a reserved address", false}, // deprecated 6to4 relay anycast
		{pfx("240.0.0.0/4"), "a reserved address", false},
		{pfx("100::/64"), "a discard-only address", false},
		{pfx("fec0::/10"), "a site-local address", false},
		// IPv4-compatible IPv6 (deprecated); ::ffff:0:0/96 is unmapped before
		// this table is consulted.
		{pfx("::/96"), "a reserved address", false},
	}
}

// Blocked reports whether a delivery may not connect to ip, and why. allow
// lists operator exceptions (for example 127.0.0.0/8 for a local stack);
// they open any range except link-local and cloud metadata addresses. The
// reason reads as the end of "destination <ip> is ...".
func Blocked(ip netip.Addr, allow []netip.Prefix) (reason string, blocked bool) {
	if !ip.IsValid() {
		return "an invalid address", true
	}
	ip = ip.WithZone("")
	reason, hard := classify(ip)
	if reason == "" {
		return "", false
	}
	if hard {
		return reason, true
	}
	for _, p := range allow {
		if p.Contains(ip) || p.Contains(ip.Unmap()) {
			return "", false
		}
		if v4, ok := embeddedIPv4(ip); ok && p.Contains(v4) {
			return "", false
		}
	}
	return reason, true
}

// classify returns why ip is not a public unicast address ("" if it is) and
// whether that reason survives an allow list.
func classify(ip netip.Addr) (reason string, hard bool) {
	// ::ffff:a.b.c.d is dialled as a.b.c.d by a dual-stack socket.
	ip = ip.Unmap()
	for _, s := range specialRanges() {
		if s.prefix.Contains(ip) {
			return s.reason, s.hard
		}
	}
	if v4, ok := embeddedIPv4(ip); ok {
		if r, h := classify(v4); r != "" {
			return fmt.Sprintf("an IPv6 address embedding %s (%s)", v4, r), h
		}
	}
	if pfx("64:ff9b:1::/48").Contains(ip) { // RFC 8215 local-use NAT64
		// The embedding depends on a prefix length only the local network
		// knows (RFC 6052 allows /48 to /96); check every layout and block if
		// any of them points somewhere non-public.
		for _, v4 := range nat64LocalCandidates(ip) {
			if r, h := classify(v4); r != "" {
				return fmt.Sprintf("an IPv6 address embedding %s (%s)", v4, r), h
			}
		}
	}
	return "", false
}

// embeddedIPv4 extracts the IPv4 address carried by a well-known NAT64 or a
// 6to4 address. A packet to such an address ends up at the embedded IPv4
// address, so that is the one to check.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case pfx("64:ff9b::/96").Contains(ip): // RFC 6052 well-known NAT64
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case pfx("2002::/16").Contains(ip): // RFC 3056 6to4
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	}
	return netip.Addr{}, false
}

// nat64LocalCandidates returns the IPv4 address embedded in ip under each
// RFC 6052 prefix length that fits inside 64:ff9b:1::/48. Byte 8 (bits 64-71)
// is always skipped by that layout.
func nat64LocalCandidates(ip netip.Addr) []netip.Addr {
	b := ip.As16()
	return []netip.Addr{
		netip.AddrFrom4([4]byte{b[6], b[7], b[9], b[10]}),    // /48
		netip.AddrFrom4([4]byte{b[7], b[9], b[10], b[11]}),   // /56
		netip.AddrFrom4([4]byte{b[9], b[10], b[11], b[12]}),  // /64
		netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), // /96
	}
}
