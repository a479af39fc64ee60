// Command api-gateway serves Convoy's HTTP/JSON API by translating each
// request into a call to ingest-service over gRPC.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"convoy/api-gateway/internal/app"
	"convoy/api-gateway/internal/config"
	"convoy/core/gc"
	"convoy/core/logging"

	"go.uber.org/zap"
)

func main() {
	os.Exit(run())
}

func run() int {
	gc.Tune()
	cfg, err := config.Load(os.LookupEnv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "api-gateway: invalid configuration:\n%v\n", err)
		return 2
	}
	log, err := logging.New("api-gateway", cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		fmt.Fprintf(os.Stderr, "api-gateway: build logger: %v\n", err)
		return 2
	}
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if err := app.Run(ctx, cfg, log); err != nil {
		log.Error("api gateway failed", zap.Error(err))
		return 1
	}
	return 0
}
