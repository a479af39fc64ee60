// Package config reads ingest-service's settings from the environment.
package config

import (
	"convoy/core/envconf"
)

// Config is ingest-service's configuration.
type Config struct {
	envconf.Common
	GRPCAddr    string
	AdminAPIKey string
	// APIRateLimit is the calls per second each group key or portal link
	// may make, counted across every replica; 0 is no limit.
	APIRateLimit int
}

// Load reads the environment and reports every problem at once.
func Load() (Config, error) { return read(envconf.New()) }

func read(r *envconf.Reader) (Config, error) {
	c := Config{
		Common:      r.ReadCommon(":5007"),
		GRPCAddr:    r.String("CONVOY_GRPC_ADDR", ":5006"),
		AdminAPIKey: r.String("CONVOY_ADMIN_API_KEY", ""),
		// The gateway's HTTP requests are limited here, where every one of
		// them arrives whichever gateway took it.
		APIRateLimit: r.Int("CONVOY_API_RATE_LIMIT", 0, 0, 1_000_000),
	}
	if len(c.AdminAPIKey) < 16 {
		r.Fail("CONVOY_ADMIN_API_KEY: required, at least 16 characters")
	}
	return c, r.Err()
}
