// Package config reads the api-gateway settings from CONVOY_* environment
// variables, applies defaults and reports every invalid value at once.
package config

import (
	"net"
	"net/url"

	"convoy/core/envconf"
)

// Config is everything the gateway needs to start.
type Config struct {
	envconf.Process
	// HTTPAddr is the host:port the HTTP API listens on.
	HTTPAddr string
	// IngestAddr is the gRPC target of ingest-service.
	IngestAddr string
	// MaxBodyBytes caps request bodies; larger ones are answered 413.
	MaxBodyBytes int64
	// PublicURL is where users reach the gateway, for the links it
	// answers (portal links); empty means the request's own host.
	PublicURL string
}

// Load reads the environment and reports every problem at once.
func Load() (Config, error) { return read(envconf.New()) }

func read(r *envconf.Reader) (Config, error) {
	c := Config{
		Process:      r.ReadProcess(":5010"),
		HTTPAddr:     r.String("CONVOY_HTTP_ADDR", ":5005"),
		IngestAddr:   r.String("CONVOY_INGEST_ADDR", "127.0.0.1:5006"),
		MaxBodyBytes: int64(r.Int("CONVOY_MAX_BODY_BYTES", 1<<20, 1, 1<<30)),
		PublicURL:    r.String("CONVOY_PUBLIC_URL", ""),
	}
	if c.PublicURL != "" {
		if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" {
			r.Fail("CONVOY_PUBLIC_URL=%q: want an http(s) URL such as https://convoy.example.com", c.PublicURL)
		}
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		r.Fail("CONVOY_HTTP_ADDR=%q: want a host:port address", c.HTTPAddr)
	}
	if _, _, err := net.SplitHostPort(c.OpsAddr); err != nil {
		r.Fail("CONVOY_OPS_ADDR=%q: want a host:port address", c.OpsAddr)
	}
	return c, r.Err()
}

// Default returns the configuration used when no variable is set.
func Default() Config {
	c, _ := read(envconf.FromMap(nil))
	return c
}
