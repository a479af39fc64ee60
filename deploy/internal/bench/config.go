// Package bench is Convoy's end-to-end benchmark: it starts the local stack (bin/devstack) on a
// fresh data folder, a webhook receiver and a load generator in this process, measures
// acceptance and delivery rates, latency and per-process CPU on an empty store and again with
// 100,000 events of history, and reports them against the targets of issue 6; its isolation
// phase measures how a healthy endpoint fares while ten others hang (issue 11).
package bench

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// The phases, in the order they run.
const (
	PhaseRaw       = "raw"       // raw ceiling: generator → receiver, no Convoy
	PhaseEmpty     = "empty"     // the end-to-end round on an empty store
	PhaseAccept    = "accept"    // the HTTP and gRPC accept rates
	PhaseHistory   = "history"   // the fill, then the end-to-end round again
	PhaseIsolation = "isolation" // a healthy endpoint while ten others hang
	PhaseRouting   = "routing"   // filters on every endpoint, broadcasts to 1,000 and 10,000 endpoints
	PhaseSync      = "sync"      // saturation with JetStream's default sync, then with sync always
)

// PhaseNames lists every phase in the order they run.
var PhaseNames = []string{PhaseRaw, PhaseEmpty, PhaseAccept, PhaseHistory, PhaseIsolation, PhaseRouting, PhaseSync}

// IsolationSlowEndpoints is how many endpoints hang in the isolation phase.
const IsolationSlowEndpoints = 10

// Config tunes the bench. The defaults keep a full run within about nine minutes on two cores.
type Config struct {
	// Phases are the phases to run, a subset of PhaseNames (in that order whatever the order
	// given). The stack is started and warmed up whichever are chosen.
	Phases []string

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

	// The isolation phase: IsolationSlowEndpoints endpoints of one application hang
	// IsolationHang before answering 200 and IsolationSlowEvents events are sent to them up
	// front; meanwhile a healthy endpoint of another application gets IsolationRate events/s
	// for IsolationFixed, then is saturated for IsolationSustained, which is compared with
	// the same saturation before the slow events were sent.
	IsolationSlowEvents int
	IsolationHang       time.Duration
	IsolationRate       int
	IsolationFixed      time.Duration
	IsolationSustained  time.Duration

	// SyncDuration is each of the sync phase's two saturation runs.
	SyncDuration time.Duration

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
		Phases:             slices.Clone(PhaseNames),
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
		// The isolation phase's share of the budget is set aside before the fill (see
		// isolationReserve), so that the fill gets about as long as it did without it; the
		// reconciliation wait after the history round (catchupReserve) adds its 2.5 minutes.
		Budget:              11*time.Minute + 30*time.Second,
		IsolationSlowEvents: 3_000,
		IsolationHang:       20 * time.Second,
		IsolationRate:       20,
		IsolationFixed:      60 * time.Second,
		IsolationSustained:  30 * time.Second,
		SyncDuration:        30 * time.Second,
		MaxBacklog:          2_000,
		PayloadBytes:        512,
		BinDir:              "bin",
		OutDir:              "bench-results",
	}
}

// ParseFlags reads the command line over the defaults.
func ParseFlags(name string, args []string, errOut io.Writer) (Config, error) {
	c := Default()
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(errOut)
	fs.Func("phases", "comma-separated phases to run, of "+strings.Join(PhaseNames, ",")+" (default all)",
		func(v string) error {
			c.Phases = splitPhases(v)
			return nil
		})
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
	fs.IntVar(&c.IsolationSlowEvents, "isolation-slow-events", c.IsolationSlowEvents,
		fmt.Sprintf("events sent up front to the application of the %d hanging endpoints (each gets every one)", IsolationSlowEndpoints))
	fs.DurationVar(&c.IsolationHang, "isolation-hang", c.IsolationHang, "how long the slow endpoints hang before answering 200 (their http_timeout is 30s)")
	fs.IntVar(&c.IsolationRate, "isolation-rate", c.IsolationRate, "events/s offered to the healthy endpoint while the slow ones hang")
	fs.DurationVar(&c.IsolationFixed, "isolation-fixed", c.IsolationFixed, "the healthy endpoint's fixed-rate window in the isolation phase")
	fs.DurationVar(&c.SyncDuration, "sync-duration", c.SyncDuration, "each saturation run of the sync phase (default sync, then sync always)")
	fs.DurationVar(&c.IsolationSustained, "isolation-sustained", c.IsolationSustained,
		"each of the healthy endpoint's two saturation windows (alone, then while the slow ones hang)")
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
		"-isolation-fixed": c.IsolationFixed, "-isolation-sustained": c.IsolationSustained,
	}
	for _, name := range []string{"-raw", "-accept-http", "-accept-grpc", "-sustained", "-fixed", "-drain", "-settle",
		"-fill-timeout", "-budget", "-isolation-fixed", "-isolation-sustained"} {
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
	if len(c.Phases) == 0 {
		errs = append(errs, errors.New("-phases: want at least one of "+strings.Join(PhaseNames, ",")))
	}
	for _, p := range c.Phases {
		if !slices.Contains(PhaseNames, p) {
			errs = append(errs, fmt.Errorf("-phases: unknown phase %q, want %s", p, strings.Join(PhaseNames, ",")))
		}
	}
	if c.IsolationSlowEvents < 1 || c.IsolationSlowEvents > 100_000 {
		errs = append(errs, fmt.Errorf("-isolation-slow-events=%d: want 1 to 100000", c.IsolationSlowEvents))
	}
	// The slow endpoints' http_timeout is isolationTimeout: a longer hang would turn them into
	// failing endpoints, which is another test.
	if c.IsolationHang <= 0 || c.IsolationHang >= isolationTimeout {
		errs = append(errs, fmt.Errorf("-isolation-hang=%s: want more than 0 and less than %s", c.IsolationHang, isolationTimeout))
	}
	if c.IsolationRate < 1 || c.IsolationRate > 50_000 {
		errs = append(errs, fmt.Errorf("-isolation-rate=%d: want 1 to 50000", c.IsolationRate))
	}
	if c.BinDir == "" {
		errs = append(errs, errors.New("-bin must not be empty"))
	}
	if c.OutDir == "" {
		errs = append(errs, errors.New("-out must not be empty"))
	}
	return errors.Join(errs...)
}

// Runs reports whether phase is among the chosen ones.
func (c Config) Runs(phase string) bool { return slices.Contains(c.Phases, phase) }

// splitPhases turns "isolation, raw" into the phases in their running order, keeping unknown
// names for Validate to report; "all" stands for every phase.
func splitPhases(v string) []string {
	var known, unknown []string
	for _, p := range strings.Split(v, ",") {
		p = strings.ToLower(strings.TrimSpace(p))
		switch {
		case p == "":
		case p == "all":
			known = append(known, PhaseNames...)
		case slices.Contains(PhaseNames, p):
			known = append(known, p)
		default:
			unknown = append(unknown, p)
		}
	}
	var out []string
	for _, p := range PhaseNames {
		if slices.Contains(known, p) {
			out = append(out, p)
		}
	}
	return append(out, unknown...)
}

// limitFor caps the requests of a closed-loop phase: far above what loopback HTTP can carry
// on any machine (~18k/s on two cores), so it binds only if something is badly wrong.
func limitFor(d time.Duration) int64 { return int64(d.Seconds()*100_000) + 1 }
