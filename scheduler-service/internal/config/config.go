// Package config reads scheduler-service's settings from the environment.
package config

import (
	"time"

	"convoy/core/envconf"
)

// Config is scheduler-service's configuration.
type Config struct {
	envconf.Common
	SweepInterval     time.Duration
	SweepGrace        time.Duration
	RetentionInterval time.Duration
	RetentionBatch    int
}

// Load reads the environment and reports every problem at once.
func Load() (Config, error) { return read(envconf.New()) }

func read(r *envconf.Reader) (Config, error) {
	c := Config{
		Common:            r.ReadCommon(":5009"),
		SweepInterval:     r.Duration("CONVOY_SWEEP_INTERVAL", 30*time.Second),
		SweepGrace:        r.Duration("CONVOY_SWEEP_GRACE", 2*time.Minute),
		RetentionInterval: r.Duration("CONVOY_RETENTION_INTERVAL", 10*time.Minute),
		RetentionBatch:    r.Int("CONVOY_RETENTION_BATCH", 500, 1, 10_000),
	}
	return c, r.Err()
}
