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

	ReconcileInterval time.Duration
	ReconcileGrace    time.Duration
	ReconcileLookback time.Duration
	ReconcileBatch    int

	// RotationInterval is how often the store is asked whether a key
	// rotation waits.
	RotationInterval time.Duration
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
		ReconcileInterval: r.Duration("CONVOY_RECONCILE_INTERVAL", 30*time.Second),
		ReconcileGrace:    r.Duration("CONVOY_RECONCILE_GRACE", 2*time.Minute),
		ReconcileLookback: r.Duration("CONVOY_RECONCILE_LOOKBACK", time.Hour),
		ReconcileBatch:    r.Int("CONVOY_RECONCILE_BATCH", 2000, 1, 100_000),
		RotationInterval:  r.Duration("CONVOY_ROTATION_INTERVAL", 2*time.Second),
	}
	if c.ReconcileLookback <= c.ReconcileGrace {
		r.Fail("CONVOY_RECONCILE_LOOKBACK=%s: must be longer than CONVOY_RECONCILE_GRACE=%s", c.ReconcileLookback, c.ReconcileGrace)
	}
	return c, r.Err()
}
