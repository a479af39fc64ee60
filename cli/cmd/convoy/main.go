// Command convoy is Convoy's command-line client: local development with
// `convoy listen`, and the everyday operations on events, deliveries and
// endpoints. Run `convoy --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"convoy/cli/internal/command"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := command.Main(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
