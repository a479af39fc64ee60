package plan

import "testing"

func TestMatches(t *testing.T) {
	tests := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{[]string{"*"}, "anything.at.all", true},
		{[]string{"invoice.paid"}, "invoice.paid", true},
		{[]string{"invoice.paid"}, "Invoice.paid", false},
		{[]string{"invoice.paid"}, "invoice.paid.late", false},
		{[]string{"invoice.*"}, "invoice.paid", true},
		{[]string{"invoice.*"}, "invoice.line.added", true},
		{[]string{"invoice.*"}, "invoice", false},
		{[]string{"invoice.*"}, "user.created", false},
		{[]string{"*.created"}, "user.created", true},
		{[]string{"*.created"}, "user.created.now", false},
		{[]string{"a*b*c"}, "aXXbYYc", true},
		{[]string{"a*b*c"}, "aXXcYYb", false},
		{[]string{"a*a"}, "a", false},
		{[]string{"user.created", "invoice.*"}, "invoice.void", true},
		{nil, "x", false},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			if got := Matches(tt.patterns, tt.typ); got != tt.want {
				t.Errorf("Matches(%q, %q) = %v, want %v", tt.patterns, tt.typ, got, tt.want)
			}
		})
	}
}
