package plan

import "strings"

// Matches reports whether an endpoint subscribed to patterns receives an
// event of eventType. Matching is case-sensitive; "*" alone matches every
// type, and "*" inside a pattern matches any run of characters
// ("invoice.*" matches "invoice.paid" and "invoice.line.added").
func Matches(patterns []string, eventType string) bool {
	for _, p := range patterns {
		if glob(p, eventType) {
			return true
		}
	}
	return false
}

func glob(pattern, s string) bool {
	if !strings.Contains(pattern, "*") {
		return pattern == s
	}
	parts := strings.Split(pattern, "*")
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	last := parts[len(parts)-1]
	for _, part := range parts[1 : len(parts)-1] {
		i := strings.Index(s, part)
		if i < 0 {
			return false
		}
		s = s[i+len(part):]
	}
	return strings.HasSuffix(s, last)
}
