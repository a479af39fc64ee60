// Package bench is Convoy's end-to-end benchmark: it starts the local stack (bin/devstack) on a
// fresh data folder, a webhook receiver and a load generator in this process, measures
// acceptance and delivery rates, latency and per-process CPU on an empty store and again with
// 100,000 events of history, and reports them against the targets of issue 6.
package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"time"
)

// Config tunes the bench. The defaults keep a full run within about six minutes on two cores.
type Config struct {
	// Producers is how many concurrent HTTP producers (and gRPC callers) saturate the gateway.
	// Each waits for its answer before sending again, so they must be enough to keep the
	// pipeline busy: with 32, each waiting ~15 ms for its event's group commit, the producers
	// capped the run near 2,000 events/s with a fifth of the machine idle.
	Producers int
	// Workers is the size of the open-loop pool for the fixed-rate phase.
	Workers int

	RawDuration        time.Duration // raw ceiling: generator → receiver, no Convoy
	AcceptHTTPDuration time.Duration // gateway accept rate over HTTP
	AcceptGRPCDuration time.Duration // ingest accept rate over gRPC
	SustainedDuration  time.Duration // end to end at saturation
	FixedDuration      time.Duration // end to end at FixedRate
	FixedRate          int           // events/s offered in the fixed-rate phase

	// Drain bounds the wait for a measured phase's last deliveries; Settle bounds the wait for
	// the backlog the unthrottled accept phases and the fill leave behind.
	Drain  time.Duration
	Settle time.Duration

	// History is how many delivered events the store holds before the second round; the
	// earlier phases count, and a fill at saturation tops them up. The fill stops at
	// FillTimeout, or earlier so that the whole run stays within Budget: the second round is
	// assumed to take as long as the first did.
	History     int
	FillTimeout time.Duration
	Budget      time.Duration

	// MaxBacklog caps accepted-but-undelivered events in the saturation phases and the fill:
	// producers wait while the pipeline is that far behind. Without it a gateway faster than
	// the dispatcher turns "latency at saturation" into "how long the test ran" and leaves a
	// backlog that spills into the next phase. 0 removes the cap.
	MaxBacklog int

	PayloadBytes int    // size of each event's data
	BinDir       string // where devstack and the services are
	OutDir       string // where the JSON result is written
	Keep         bool   // keep the temp folder (data and devstack.log)
}

// Default returns the default configuration.
func Default() Config {
	return Config{
		Producers:          64,
		Workers:            64,
		RawDuration:        10 * time.Second,
		AcceptHTTPDuration: 20 * time.Second,
		AcceptGRPCDuration: 10 * time.Second,
		SustainedDuration:  60 * time.Second,
		FixedDuration:      30 * time.Second,
		FixedRate:          500,
		Drain:              60 * time.Second,
		Settle:             120 * time.Second,
		History:            100_000,
		FillTimeout:        10 * time.Minute,
		Budget:             6 * time.Minute,
		MaxBacklog:         2_000,
		PayloadBytes:       512,
		BinDir:             "bin",
		OutDir:             "bench-results",
	}
}

// ParseFlags reads the command line over the defaults.
func ParseFlags(name string, args []string, errOut io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.IntVar(&c.Producers, "producers", c.Producers, "concurrent HTTP producers / gRPC callers at saturation")
	fs.IntVar(&c.Workers, "workers", c.Workers, "open-loop worker pool of the fixed-rate phase")
	fs.DurationVar(&c.RawDuration, "raw", c.RawDuration, "raw ceiling phase (generator straight to receiver)")
	fs.DurationVar(&c.AcceptHTTPDuration, "accept-http", c.AcceptHTTPDuration, "gateway HTTP accept phase")
	fs.DurationVar(&c.AcceptGRPCDuration, "accept-grpc", c.AcceptGRPCDuration, "gRPC CreateEvent accept phase")
	fs.DurationVar(&c.SustainedDuration, "sustained", c.SustainedDuration, "end-to-end phase at saturation")
	fs.DurationVar(&c.FixedDuration, "fixed", c.FixedDuration, "end-to-end phase at a fixed rate")
	fs.IntVar(&c.FixedRate, "rate", c.FixedRate, "offered events/s of the fixed-rate phase")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "longest wait for a measured phase's tail to arrive")
	fs.DurationVar(&c.Settle, "settle", c.Settle, "longest wait for the backlog after the accept phases and the fill")
	fs.IntVar(&c.History, "history", c.History, "delivered events in the store before the second round")
	fs.DurationVar(&c.FillTimeout, "fill-timeout", c.FillTimeout, "longest fill to reach -history")
	fs.DurationVar(&c.Budget, "budget", c.Budget, "time the whole run should stay within; shortens the fill")
	fs.IntVar(&c.MaxBacklog, "max-backlog", c.MaxBacklog, "accepted-but-undelivered events producers may run ahead at saturation (0: no cap)")
	fs.IntVar(&c.PayloadBytes, "payload", c.PayloadBytes, "bytes of event data")
	fs.StringVar(&c.BinDir, "bin", c.BinDir, "directory with devstack and the four service binaries")
	fs.StringVar(&c.OutDir, "out", c.OutDir, "directory for the JSON result")
	fs.BoolVar(&c.Keep, "keep", c.Keep, "keep the temp folder with the stack's data and log")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	return c, c.Validate()
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	positive := map[string]time.Duration{
		"-raw": c.RawDuration, "-accept-http": c.AcceptHTTPDuration, "-accept-grpc": c.AcceptGRPCDuration,
		"-sustained": c.SustainedDuration, "-fixed": c.FixedDuration, "-drain": c.Drain, "-settle": c.Settle,
		"-fill-timeout": c.FillTimeout, "-budget": c.Budget,
	}
	for _, name := range []string{"-raw", "-accept-http", "-accept-grpc", "-sustained", "-fixed", "-drain", "-settle",
		"-fill-timeout", "-budget"} {
		if d := positive[name]; d <= 0 || d > time.Hour {
			errs = append(errs, fmt.Errorf("%s=%s: want more than 0 and at most 1h", name, d))
		}
	}
	if c.Producers < 1 || c.Producers > 1024 {
		errs = append(errs, fmt.Errorf("-producers=%d: want 1 to 1024", c.Producers))
	}
	if c.Workers < 1 || c.Workers > 4096 {
		errs = append(errs, fmt.Errorf("-workers=%d: want 1 to 4096", c.Workers))
	}
	if c.FixedRate < 1 || c.FixedRate > 50_000 {
		errs = append(errs, fmt.Errorf("-rate=%d: want 1 to 50000", c.FixedRate))
	}
	if c.History < 0 || c.History > 10_000_000 {
		errs = append(errs, fmt.Errorf("-history=%d: want 0 to 10000000", c.History))
	}
	if c.MaxBacklog < 0 {
		errs = append(errs, fmt.Errorf("-max-backlog=%d: want 0 or more", c.MaxBacklog))
	}
	if c.PayloadBytes < 0 || c.PayloadBytes > 512<<10 {
		errs = append(errs, fmt.Errorf("-payload=%d: want 0 to 524288", c.PayloadBytes))
	}
	if c.BinDir == "" {
		errs = append(errs, errors.New("-bin must not be empty"))
	}
	if c.OutDir == "" {
		errs = append(errs, errors.New("-out must not be empty"))
	}
	return errors.Join(errs...)
}

// limitFor caps the requests of a closed-loop phase: far above what loopback HTTP can carry
// on any machine (~18k/s on two cores), so it binds only if something is badly wrong.
func limitFor(d time.Duration) int64 { return int64(d.Seconds()*100_000) + 1 }
