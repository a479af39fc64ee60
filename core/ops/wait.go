package ops

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go"
	"go.uber.org/zap"
)

// WaitFor runs f until it succeeds or ctx ends, backing off from 200 ms to
// 5 s and logging each failure: services start before their dependencies
// answer and must neither crash nor spin. It returns ctx's error if ctx ends.
func WaitFor(ctx context.Context, log *zap.Logger, what string, f func(context.Context) error) error {
	delay := 200 * time.Millisecond
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
		err := f(attemptCtx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("waiting for dependencies", zap.String("step", what), zap.Error(err))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(delay):
		}
		delay = min(delay*2, 5*time.Second)
	}
}

// NATSCheck is a readiness check that passes while the connection is up.
func NATSCheck(nc *nats.Conn) Check {
	return func(context.Context) error {
		if !nc.IsConnected() {
			return errors.New("not connected")
		}
		return nil
	}
}
