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
}

// Load reads the environment and reports every problem at once.
func Load() (Config, error) { return read(envconf.New()) }

func read(r *envconf.Reader) (Config, error) {
	c := Config{
		Common:      r.ReadCommon(":5007"),
		GRPCAddr:    r.String("CONVOY_GRPC_ADDR", ":5006"),
		AdminAPIKey: r.String("CONVOY_ADMIN_API_KEY", ""),
	}
	if len(c.AdminAPIKey) < 16 {
		r.Fail("CONVOY_ADMIN_API_KEY: required, at least 16 characters")
	}
	return c, r.Err()
}
