package outbound

import (
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		value  *string
		want   time.Duration
		wantOK bool
	}{
		{"absent", nil, 0, false},
		{"empty", ptr(""), 0, false},
		{"seconds", ptr("120"), 2 * time.Minute, true},
		{"seconds with spaces", ptr(" 30 "), 30 * time.Second, true},
		{"zero", ptr("0"), 0, true},
		{"negative", ptr("-5"), 0, true},
		{"huge", ptr("99999999999999999"), time.Duration(math.MaxInt64), true},
		{"fractional", ptr("1.5"), 0, false},
		{"garbage", ptr("soon"), 0, false},
		{"http date ahead", ptr(now.Add(90 * time.Second).Format(http.TimeFormat)), 90 * time.Second, true},
		{"http date passed", ptr(now.Add(-time.Hour).Format(http.TimeFormat)), 0, true},
		{"rfc850 date", ptr("Sunday, 01-Mar-26 12:01:00 GMT"), time.Minute, true},
		{"ansi c date", ptr("Sun Mar  1 12:00:10 2026"), 10 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.value != nil {
				h.Set("Retry-After", *tt.value)
			}
			got, ok := RetryAfter(h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("RetryAfter = (%v, %v), want (%v, %v)", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

func ptr(s string) *string { return &s }

func TestParseCIDRs(t *testing.T) {
	p := netip.MustParsePrefix
	tests := []struct {
		in      string
		want    []netip.Prefix
		wantErr string
	}{
		{"", nil, ""},
		{" , ", nil, ""},
		{"127.0.0.0/8,::1/128", []netip.Prefix{p("127.0.0.0/8"), p("::1/128")}, ""},
		{" 127.0.0.0/8 , ::1 ,", []netip.Prefix{p("127.0.0.0/8"), p("::1/128")}, ""},
		{"10.1.2.3/8", []netip.Prefix{p("10.0.0.0/8")}, ""},
		{"192.168.1.10", []netip.Prefix{p("192.168.1.10/32")}, ""},
		{"fd00::/8,2001:db8::1", []netip.Prefix{p("fd00::/8"), p("2001:db8::1/128")}, ""},
		{"127.0.0.0/8,10.0.0.0/33", nil, `"10.0.0.0/33"`},
		{"127.0.0.0/8,localhost", nil, `"localhost"`},
		{"300.1.1.1", nil, `"300.1.1.1"`},
		{"fe80::1%eth0", nil, `"fe80::1%eth0"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseCIDRs(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want it to name %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("ParseCIDRs = %v, want %v", got, tt.want)
			}
		})
	}
}
