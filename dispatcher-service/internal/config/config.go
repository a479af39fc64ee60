// Package config reads dispatcher-service's settings from the environment.
package config

import (
	"net/netip"
	"strings"
	"time"

	"convoy/core/envconf"
	"convoy/dispatcher-service/internal/outbound"
)

// Config is dispatcher-service's configuration.
type Config struct {
	envconf.Common
	Concurrency   int
	PerEndpoint   int
	AckWait       time.Duration
	Allow         []netip.Prefix
	RetryJitter   float64
	MaxRetryAfter time.Duration
	// WebhookOrigin is sent as WebHook-Request-Origin in the endpoint
	// ownership handshake: the name receivers allow.
	WebhookOrigin string
	// VerifyInterval is how often pending endpoint handshakes are looked at.
	VerifyInterval time.Duration
}

// DefaultWebhookOrigin is the handshake origin when none is configured.
const DefaultWebhookOrigin = "webhooks.convoy.local"

// Load reads the environment and reports every problem at once.
func Load() (Config, error) { return read(envconf.New()) }

func read(r *envconf.Reader) (Config, error) {
	c := Config{
		Common:         r.ReadCommon(":5008"),
		Concurrency:    r.Int("CONVOY_DISPATCH_CONCURRENCY", 256, 1, 10_000),
		PerEndpoint:    r.Int("CONVOY_DISPATCH_PER_ENDPOINT", 64, 1, 10_000),
		AckWait:        r.Duration("CONVOY_DISPATCH_ACK_WAIT", time.Minute),
		MaxRetryAfter:  r.Duration("CONVOY_RETRY_AFTER_MAX", time.Hour),
		WebhookOrigin:  r.String("CONVOY_WEBHOOK_ORIGIN", DefaultWebhookOrigin),
		VerifyInterval: r.Duration("CONVOY_VERIFY_INTERVAL", 10*time.Second),
	}
	if o := c.WebhookOrigin; o == "" || strings.ContainsAny(o, " \t\r\n,/") {
		r.Fail("CONVOY_WEBHOOK_ORIGIN=%q: want a host name such as %s", o, DefaultWebhookOrigin)
	}
	if c.VerifyInterval < 100*time.Millisecond {
		r.Fail("CONVOY_VERIFY_INTERVAL=%s: want at least 100ms", c.VerifyInterval)
	}
	jitterPct := r.Int("CONVOY_RETRY_JITTER_PERCENT", 0, 0, 50)
	c.RetryJitter = float64(jitterPct) / 100
	allow, err := outbound.ParseCIDRs(r.String("CONVOY_DISPATCH_ALLOW_CIDRS", ""))
	if err != nil {
		r.Fail("CONVOY_DISPATCH_ALLOW_CIDRS: %v", err)
	}
	c.Allow = allow
	if c.AckWait < 10*time.Second {
		r.Fail("CONVOY_DISPATCH_ACK_WAIT=%s: want at least 10s", c.AckWait)
	}
	return c, r.Err()
}
