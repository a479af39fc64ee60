package outbound

import (
	"fmt"
	"net/netip"
	"strings"
)

// ParseCIDRs parses a comma-separated allow list such as
// "127.0.0.0/8, ::1". A bare address becomes a single-address prefix. Empty
// entries (a trailing comma) are ignored; any other bad entry is an error that
// names it.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for entry := range strings.SplitSeq(s, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		if strings.Contains(entry, "/") {
			p, err := netip.ParsePrefix(entry)
			if err != nil {
				return nil, fmt.Errorf("allow list entry %q: %w", entry, err)
			}
			// 10.1.2.3/8 means 10.0.0.0/8; keep the canonical form.
			out = append(out, p.Masked())
			continue
		}
		ip, err := netip.ParseAddr(entry)
		if err != nil {
			return nil, fmt.Errorf("allow list entry %q: not an IP address or CIDR prefix", entry)
		}
		if ip.Zone() != "" {
			return nil, fmt.Errorf("allow list entry %q: zoned addresses are not supported", entry)
		}
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out, nil
}
