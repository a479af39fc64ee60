// Package service is the shared shape of every backend service's main: load
// the configuration, build the logger, run until SIGINT or SIGTERM, and exit
// in one place with a message that says what went wrong.
package service

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"convoy/core/envconf"
	"convoy/core/gc"
	"convoy/core/logging"
	"convoy/core/ops"
	"convoy/core/tracing"

	"github.com/prometheus/client_golang/prometheus"

	"go.uber.org/zap"
)

// Main runs a service named name. load reads its configuration, common
// extracts the settings every service shares, and run serves until its
// context ends.
func Main[C any](name string, load func() (C, error), common func(C) envconf.Process, run func(context.Context, C, *zap.Logger) error) {
	if err := runMain(name, load, common, run); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func runMain[C any](name string, load func() (C, error), common func(C) envconf.Process, run func(context.Context, C, *zap.Logger) error) error {
	gc.Tune()
	cfg, err := load()
	if err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	c := common(cfg)
	log, err := logging.New(name, c.LogLevel, c.LogFormat)
	if err != nil {
		return err
	}
	defer log.Sync()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	shutdown, err := tracing.Setup(ctx, name)
	if err != nil {
		return err
	}
	if tracing.Enabled() {
		log.Info("tracing on: exporting spans over OTLP")
	}
	defer func() {
		// Flush the spans still buffered, within a bound of its own.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := shutdown(ctx); err != nil {
			log.Warn("flush traces", zap.Error(err))
		}
	}()
	return run(ctx, cfg, log)
}

// ServeOps serves /healthz, /readyz (ready when every check passes) and
// /metrics from reg on the service's ops address, with /debug/pprof/ when
// CONVOY_PPROF is set, until ctx ends. Every service serves them this way,
// apart from its public port.
func ServeOps(ctx context.Context, p envconf.Process, reg *prometheus.Registry, checks map[string]ops.Check, log *zap.Logger) error {
	h := ops.Handler(reg, checks)
	if p.Profiling {
		h = ops.WithProfiling(h)
	}
	return ops.Serve(ctx, p.OpsAddr, h, log)
}
