// Command scheduler-service re-enqueues retries when they are due, sweeps for
// lost work and deletes what retention policies expire.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"convoy/core/logging"
	"convoy/scheduler-service/internal/app"
	"convoy/scheduler-service/internal/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scheduler-service:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log, err := logging.New("scheduler-service", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx, cfg, log)
}
