// Command bench is Convoy's end-to-end benchmark (`make bench`): it starts bin/devstack on a
// fresh temp folder, drives it with a load generator and an in-process webhook receiver, and
// prints a summary table and a final `BENCH_RESULT {json}` line; the JSON also goes to
// bench-results/<UTC timestamp>.json. Flags: `go run convoy/deploy/cmd/bench -h`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"convoy/deploy/internal/bench"
)

func main() {
	os.Exit(run())
}

func run() int {
	cfg, err := bench.ParseFlags("bench", os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := newLogger()
	defer func() { _ = log.Sync() }()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	res, err := bench.Run(ctx, cfg, log)
	if err != nil {
		log.Error("bench failed", zap.Error(err))
		return 1
	}
	path, err := res.WriteFile(cfg.OutDir)
	if err != nil {
		log.Error("write result", zap.Error(err))
		return 1
	}
	js, err := res.JSON()
	if err != nil {
		log.Error("encode result", zap.Error(err))
		return 1
	}
	fmt.Println()
	if err := res.WriteTable(os.Stdout); err != nil {
		log.Error("print table", zap.Error(err))
		return 1
	}
	fmt.Printf("results written to %s\n", path)
	fmt.Printf("%s%s\n", bench.ResultPrefix, js)
	return 0
}

// newLogger writes progress to stderr, so that stdout carries only the summary.
func newLogger() *zap.Logger {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.EncodeTime = zapcore.TimeEncoderOfLayout("15:04:05.000")
	enc.CallerKey = ""
	return zap.New(zapcore.NewCore(zapcore.NewConsoleEncoder(enc), zapcore.Lock(os.Stderr), zapcore.InfoLevel)).Named("bench")
}
