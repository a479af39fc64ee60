package outbound

import (
	"fmt"
	"net/netip"
	"testing"
)

func TestBlocked(t *testing.T) {
	var (
		none     []netip.Prefix
		loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		devStack = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		// An operator who allows everything still must not reach metadata or
		// link-local addresses.
		everything = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
		linkLocal  = []netip.Prefix{netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("169.254.169.254/32"), netip.MustParsePrefix("fe80::/10")}
		tenNet     = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	)
	const (
		public     = ""
		private    = "a private address"
		loop       = "a loopback address"
		link       = "a link-local address"
		metadata   = "a cloud metadata address"
		cgnat      = "a carrier-grade NAT address"
		multicast  = "a multicast address"
		unspec     = "an unspecified address"
		broadcast  = "a broadcast address"
		reserved   = "a reserved address"
		doc        = "a documentation address"
		bench      = "a benchmarking address"
		ietf       = "an IETF protocol assignment address"
		thisNet    = `a "this network" address`
		nat64Ten   = "an IPv6 address embedding 10.0.0.1 (a private address)"
		nat64Meta  = "an IPv6 address embedding 169.254.169.254 (a cloud metadata address)"
		sixToFour  = "an IPv6 address embedding 10.0.0.1 (a private address)"
		nat64Local = "an IPv6 address embedding 0.0.0.0 (an unspecified address)"
	)
	tests := []struct {
		ip    string
		allow []netip.Prefix
		want  string // reason, "" when allowed
	}{
		{"8.8.8.8", none, public},
		{"1.1.1.1", none, public},
		{"2606:4700:4700::1111", none, public},
		{"172.32.0.1", none, public},
		{"100.128.0.1", none, public},
		{"198.20.0.1", none, public},

		{"127.0.0.1", none, loop},
		{"127.255.255.254", none, loop},
		{"::1", none, loop},
		{"10.0.0.1", none, private},
		{"172.16.0.1", none, private},
		{"172.31.255.255", none, private},
		{"192.168.1.1", none, private},
		{"fc00::1", none, private},
		{"fd12:3456::1", none, private},
		{"169.254.1.1", none, link},
		{"fe80::1", none, link},
		{"fe80::1%eth0", none, link},
		{"169.254.169.254", none, metadata},
		{"fd00:ec2::254", none, metadata},
		{"100.100.100.200", none, metadata},
		{"100.64.0.1", none, cgnat},
		{"100.127.255.255", none, cgnat},
		{"224.0.0.1", none, multicast},
		{"239.255.255.250", none, multicast},
		{"ff02::1", none, multicast},
		{"0.0.0.0", none, unspec},
		{"::", none, unspec},
		{"0.1.2.3", none, thisNet},
		{"255.255.255.255", none, broadcast},
		{"240.0.0.1", none, reserved},
		{"192.0.0.8", none, ietf},
		{"192.0.2.1", none, doc},
		{"198.51.100.7", none, doc},
		{"203.0.113.9", none, doc},
		{"2001:db8::1", none, doc},
		{"198.18.0.1", none, bench},
		{"198.19.255.255", none, bench},

		// IPv4-mapped IPv6 is judged by the IPv4 address inside.
		{"::ffff:127.0.0.1", none, loop},
		{"::ffff:10.0.0.1", none, private},
		{"::ffff:169.254.169.254", none, metadata},
		{"::ffff:8.8.8.8", none, public},
		// NAT64 and 6to4 carry an IPv4 destination too.
		{"64:ff9b::a00:1", none, nat64Ten},
		{"64:ff9b::10.0.0.1", none, nat64Ten},
		{"64:ff9b::a9fe:a9fe", none, nat64Meta},
		{"64:ff9b::808:808", none, public},
		{"64:ff9b:1::a00:1", none, nat64Local},
		{"2002:a00:1::1", none, sixToFour},
		{"2002:808:808::1", none, public},

		// Allow lists open exceptions...
		{"127.0.0.1", loopback, public},
		{"::ffff:127.0.0.1", loopback, public},
		{"::1", loopback, loop},
		{"::1", devStack, public},
		{"10.0.0.1", loopback, private},
		{"10.0.0.1", everything, public},
		{"64:ff9b::a00:1", tenNet, public},
		// ...but never for link-local and metadata addresses.
		{"169.254.1.1", linkLocal, link},
		{"169.254.169.254", linkLocal, metadata},
		{"fe80::1", linkLocal, link},
		{"169.254.169.254", everything, metadata},
		{"100.100.100.200", everything, metadata},
		{"fd00:ec2::254", everything, metadata},
		{"fe80::1", everything, link},
		{"::ffff:169.254.169.254", everything, metadata},
		{"64:ff9b::a9fe:a9fe", everything, nat64Meta},
	}
	for _, tt := range tests {
		name := tt.ip
		if len(tt.allow) > 0 {
			name += fmt.Sprint(" allow ", tt.allow)
		}
		t.Run(name, func(t *testing.T) {
			reason, blocked := Blocked(netip.MustParseAddr(tt.ip), tt.allow)
			if blocked != (tt.want != "") || reason != tt.want {
				t.Errorf("Blocked = (%q, %v), want (%q, %v)", reason, blocked, tt.want, tt.want != "")
			}
		})
	}

	t.Run("invalid address", func(t *testing.T) {
		if _, blocked := Blocked(netip.Addr{}, everything); !blocked {
			t.Error("zero Addr not blocked")
		}
	})
}

func TestBlockedErrorText(t *testing.T) {
	ip := netip.MustParseAddr("10.0.0.1")
	reason, _ := Blocked(ip, nil)
	err := &BlockedError{IP: ip, Reason: reason}
	if got, want := err.Error(), "destination 10.0.0.1 is a private address"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
