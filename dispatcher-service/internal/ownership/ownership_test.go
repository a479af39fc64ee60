package ownership

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"convoy/core/model"
	"convoy/dispatcher-service/internal/outbound"

	"go.uber.org/zap"
)

func TestValidate(t *testing.T) {
	const origin = "hooks.example.test"
	for _, tc := range []struct {
		name     string
		status   int
		allowed  string // WebHook-Allowed-Origin
		rate     string // WebHook-Allowed-Rate
		wantRate int32  // 0: none
		wantErr  string
	}{
		{name: "origin echoed", status: 200, allowed: origin},
		{name: "any origin", status: 200, allowed: "*"},
		{name: "origin case differs", status: 204, allowed: "HOOKS.example.test"},
		{name: "rate applied", status: 200, allowed: origin, rate: "120", wantRate: 120},
		{name: "any rate", status: 200, allowed: "*", rate: "*"},
		{name: "no allowed origin", status: 200, wantErr: "no WebHook-Allowed-Origin header"},
		{name: "other origin", status: 200, allowed: "evil.test", wantErr: `WebHook-Allowed-Origin is "evil.test"`},
		{name: "bad rate", status: 200, allowed: "*", rate: "lots", wantErr: `WebHook-Allowed-Rate is "lots"`},
		{name: "zero rate", status: 200, allowed: "*", rate: "0", wantErr: "WebHook-Allowed-Rate"},
		{name: "refused", status: 405, allowed: "*", wantErr: "validation request answered 405 Method Not Allowed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var method, sentOrigin, sentRate atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				method.Store(r.Method)
				sentOrigin.Store(r.Header.Get(HeaderRequestOrigin))
				sentRate.Store(r.Header.Get(HeaderRequestRate))
				if tc.allowed != "" {
					w.Header().Set(HeaderAllowedOrigin, tc.allowed)
				}
				if tc.rate != "" {
					w.Header().Set(HeaderAllowedRate, tc.rate)
				}
				w.WriteHeader(tc.status)
			}))
			t.Cleanup(srv.Close)
			c := outbound.New(outbound.Config{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
			t.Cleanup(c.Close)
			v := New(nil, c, nil, Options{Origin: origin, Interval: time.Second}, zap.NewNop())
			ep := &model.Endpoint{URL: srv.URL, RateLimit: 10, RateLimitDuration: 10 * time.Second, HTTPTimeout: time.Second}
			rate, err := v.validate(t.Context(), ep)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if got := int32(0); rate != nil {
				got = *rate
				if got != tc.wantRate {
					t.Fatalf("rate %d, want %d", got, tc.wantRate)
				}
			} else if tc.wantRate != 0 {
				t.Fatalf("no rate, want %d", tc.wantRate)
			}
			// 10 per 10s asked for as 60 per minute; only OPTIONS is sent.
			if method.Load() != http.MethodOptions || sentOrigin.Load() != origin || sentRate.Load() != "60" {
				t.Fatalf("request %v origin %v rate %v", method.Load(), sentOrigin.Load(), sentRate.Load())
			}
		})
	}
}

// The handshake goes through the address guard like a delivery.
func TestValidateGuarded(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
	t.Cleanup(srv.Close)
	c := outbound.New(outbound.Config{})
	t.Cleanup(c.Close)
	v := New(nil, c, nil, Options{Origin: "o", Interval: time.Second}, zap.NewNop())
	_, err := v.validate(t.Context(), &model.Endpoint{URL: srv.URL, RateLimit: 1, RateLimitDuration: time.Minute, HTTPTimeout: time.Second})
	if err == nil || !strings.Contains(err.Error(), "refused to connect: destination 127.0.0.1 is a loopback address") || hits.Load() != 0 {
		t.Fatalf("err = %v, hits %d", err, hits.Load())
	}
}
