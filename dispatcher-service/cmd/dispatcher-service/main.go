// Command dispatcher-service delivers webhooks: it consumes delivery tasks,
// signs and posts each payload, and records every attempt.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"convoy/core/logging"
	"convoy/dispatcher-service/internal/app"
	"convoy/dispatcher-service/internal/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "dispatcher-service:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log, err := logging.New("dispatcher-service", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx, cfg, log)
}
