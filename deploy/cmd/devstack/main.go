// Command devstack runs Convoy's local stack: embedded FerretDB and NATS plus the four services
// from the same bin directory, with their output prefixed in one stream. Configured by
// environment variables (see convoy/deploy/internal/devstack.Config).
package main

import (
	"context"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"go.uber.org/zap"

	"convoy/core/gc"
	"convoy/core/ops"
	"convoy/deploy/internal/devstack"
	"convoy/deploy/internal/supervise"
)

func main() {
	os.Exit(run())
}

func run() int {
	gc.Tune() // the embedded NATS and FerretDB run in this process
	out := supervise.NewOutput(os.Stdout, devstack.PrefixWidth())
	log := devstack.NewLogger(out.Writer("devstack"))

	cfg, err := devstack.LoadConfig()
	if err != nil {
		log.Error("invalid configuration", zap.Strings("problems", strings.Split(err.Error(), "\n")))
		return 2
	}

	// Profiles of the embedded NATS and FerretDB, for performance work.
	if addr := os.Getenv("CONVOY_PPROF_ADDR"); addr != "" {
		h := ops.WithProfiling(http.NotFoundHandler())
		go func() { log.Warn("pprof server stopped", zap.Error(http.ListenAndServe(addr, h))) }()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once shutdown has begun, a second Ctrl-C ends the dev stack at once; the kernel then kills
	// the services (they are started with a parent-death signal).
	context.AfterFunc(ctx, stop)

	if err := devstack.Run(ctx, cfg, out, log); err != nil {
		log.Error("devstack stopped", zap.Error(err))
		return 1
	}
	return 0
}
