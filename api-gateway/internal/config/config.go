// Package config reads the api-gateway settings from CONVOY_* environment
// variables, applies defaults and reports every invalid value at once.
package config

import (
	"net"

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
}

// Load reads the environment and reports every problem at once.
func Load() (Config, error) { return read(envconf.New()) }

func read(r *envconf.Reader) (Config, error) {
	c := Config{
		Process:      r.ReadProcess(":5010"),
		HTTPAddr:     r.String("CONVOY_HTTP_ADDR", ":5005"),
		IngestAddr:   r.String("CONVOY_INGEST_ADDR", "127.0.0.1:5006"),
		MaxBodyBytes: int64(r.Int("CONVOY_MAX_BODY_BYTES", 1<<20, 1, 1<<30)),
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
