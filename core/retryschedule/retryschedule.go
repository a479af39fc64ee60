// Package retryschedule computes when a failed delivery is tried again, from
// its group's strategy: linear (a constant interval) or exponential backoff
// (10 s, 30 s, 1 m, 3 m, 5 m, 10 m, 15 m, the last repeating).
package retryschedule

import (
	"math/rand/v2"
	"time"

	"convoy/core/model"
)

// exponential is the backoff schedule; the last step repeats.
var exponential = [...]time.Duration{
	10 * time.Second, 30 * time.Second, time.Minute, 3 * time.Minute,
	5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
}

// Policy is how retries are spaced.
type Policy struct {
	// Jitter spreads each delay by up to this fraction either way (0.2 =
	// ±20%), so endpoints that failed together are not retried in lockstep.
	// Zero (the default) keeps schedules exact and predictable.
	Jitter float64
	// MaxRetryAfter caps how long a Retry-After header may hold a delivery.
	MaxRetryAfter time.Duration
}

// Delay returns how long to wait after failed attempt number `attempt`
// (1-based) before the next one. A Retry-After answer (429 or 503) replaces
// the strategy's delay, capped at MaxRetryAfter.
func (p Policy) Delay(s model.Strategy, attempt int32, retryAfter time.Duration, hasRetryAfter bool) time.Duration {
	if hasRetryAfter {
		return min(max(retryAfter, 0), p.MaxRetryAfter)
	}
	var d time.Duration
	switch s.Type {
	case model.StrategyExponential:
		i := int(attempt) - 1
		d = exponential[min(max(i, 0), len(exponential)-1)]
	default:
		d = time.Duration(s.Duration) * time.Second
	}
	if p.Jitter > 0 {
		d = time.Duration(float64(d) * (1 + p.Jitter*(2*rand.Float64()-1)))
	}
	return d
}
