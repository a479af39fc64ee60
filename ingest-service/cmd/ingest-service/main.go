// Command ingest-service serves the gRPC API that stores groups,
// applications, endpoints, events and deliveries, and queues deliveries.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"convoy/core/logging"
	"convoy/ingest-service/internal/app"
	"convoy/ingest-service/internal/config"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "ingest-service:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg, err := config.Load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	log, err := logging.New("ingest-service", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return app.Run(ctx, cfg, log)
}
