package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"go.uber.org/zap"
)

// The sync phase asks what JetStream's sync policy costs: the same saturation load on the
// stack as it runs (the embedded NATS syncs every 2 minutes, its default) and then on a fresh
// stack whose NATS syncs every write before acknowledging it (`sync_interval: always`, what
// the cluster profile runs).

// SyncPolicy is the sync phase's result.
type SyncPolicy struct {
	// Default and Always are saturation phases with the server's default sync and with
	// sync always.
	Default Phase `json:"default"`
	Always  Phase `json:"always"`
	// Ratio is Always's delivered events/s over Default's.
	Ratio float64 `json:"always_over_default_ratio"`
}

// syncReserve is what the sync phase takes, set aside from the budget before the fill: two
// saturation runs, their drains and a stack restart.
func syncReserve(c Config) time.Duration {
	if !c.Runs(PhaseSync) {
		return 0
	}
	return 2*c.SyncDuration + 45*time.Second
}

// syncAlways is the sync setting the phase compares with the default.
const syncAlways = "always"

// syncPolicy runs the sync phase. It leaves r.st on the sync-always stack, which the caller
// stops as it would have the first.
func (r *runner) syncPolicy(ctx context.Context) (*SyncPolicy, error) {
	sp := &SyncPolicy{}
	r.log.Info("phase: sync policy, default sync", zap.Duration("duration", r.cfg.SyncDuration))
	sp.Default = r.saturate(ctx, r.cfg.SyncDuration)
	r.logPhase("sustained", "sync default", sp.Default)
	if err := r.alive(ctx); err != nil {
		return nil, err
	}

	// A fresh stack with sync always, on a folder of its own: its NATS is a new server.
	r.log.Info("restarting the stack with sync always")
	if err := r.st.stop(45 * time.Second); err != nil {
		r.log.Warn("stop stack", zap.Error(err))
	}
	dir := filepath.Join(r.st.dir, "sync-always")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	st, err := startStack(ctx, r.cfg.BinDir, dir, r.log, map[string]string{"CONVOY_NATS_SYNC_INTERVAL": syncAlways})
	if err != nil {
		return nil, fmt.Errorf("stack with sync always: %w", err)
	}
	r.st = st
	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	r.log.Info("phase: sync policy, sync always", zap.Duration("duration", r.cfg.SyncDuration))
	sp.Always = r.saturate(ctx, r.cfg.SyncDuration)
	r.logPhase("sustained", "sync always", sp.Always)
	if d := sp.Default.DeliveredPerSec; d > 0 {
		sp.Ratio = round(sp.Always.DeliveredPerSec/d, 3)
	}
	return sp, r.alive(ctx)
}

// saturate measures end-to-end delivery at saturation for d, with the backlog gate.
func (r *runner) saturate(ctx context.Context, d time.Duration) Phase {
	gate := r.backlogGate()
	return r.measure(ctx, 0, func(ctx context.Context) *tally {
		return closedLoop(ctx, r.clk, loopOptions{workers: r.cfg.Producers, duration: d,
			limit: limitFor(d), gate: gate, accepted: &r.accepted}, r.httpSender())
	})
}

// rows are the table's sync-policy figures.
func (sp *SyncPolicy) rows(row func(...string)) {
	d, a := sp.Default, sp.Always
	row("", "", "", "")
	row("SYNC POLICY (JetStream file store)", "every 2m (default)", "always", "always/default")
	row("  saturation: delivered events/s", num(d.DeliveredPerSec), num(a.DeliveredPerSec), ratio(sp.Ratio))
	row("  accepted / undelivered", pair(d.Accepted, d.Undelivered), pair(a.Accepted, a.Undelivered), "")
	row("  latency p50 / p95 / p99 ms", lats(d.Latency), lats(a.Latency), "")
	row("  CPU µs per event, 4 services | with NATS+FerretDB", pairF(d.ServicesCPUPerEventUs, d.StackCPUPerEventUs),
		pairF(a.ServicesCPUPerEventUs, a.StackCPUPerEventUs), "")
}
