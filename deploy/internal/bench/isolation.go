package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
)

// isolationTimeout is the slow endpoints' http_timeout: longer than their hang, so that each
// of their attempts succeeds and they are slow, not failing (a failing endpoint is another
// test: retries, the circuit breaker).
const isolationTimeout = 30 * time.Second

// isolationDrain bounds each wait for the healthy endpoint's last deliveries. An event that
// takes longer misses the 2 s target by far anyway, and a dispatcher that lets the slow
// endpoints starve the others delivers nothing at all, so waiting longer shows nothing new.
const isolationDrain = 30 * time.Second

// isolationPreload bounds the sending of the slow endpoints' events; at the gRPC accept rate
// the default 3,000 take a few seconds.
const isolationPreload = 60 * time.Second

// isolationHangWait bounds the wait for the slow endpoints' first attempts to be held, and
// isolationHangSteady is how long the number held must stay put to count as settled.
const (
	isolationHangWait   = 15 * time.Second
	isolationHangSteady = time.Second
)

// isolationReserve is what the isolation phase is expected to take when it runs, set aside
// from the budget before the fill: its windows, setting up, the preload and short drains.
// On a dispatcher that lets the slow endpoints starve the others each drain waits its whole
// isolationDrain and the phase takes up to a minute longer.
func isolationReserve(c Config) time.Duration {
	if !c.Runs(PhaseIsolation) {
		return 0
	}
	return 2*c.IsolationSustained + c.IsolationFixed + 30*time.Second
}

// Isolation is what the isolation phase measured: a healthy endpoint's deliveries while
// IsolationSlowEndpoints endpoints of another application hang, compared with the same
// endpoint alone.
type Isolation struct {
	SlowEndpoints int     `json:"slow_endpoints"`
	HangS         float64 `json:"hang_s"`
	HTTPTimeoutS  float64 `json:"slow_http_timeout_s"`
	// SlowEvents were accepted for the slow endpoints' application before the healthy
	// endpoint's measured windows; each is an attempt due at every slow endpoint.
	SlowEvents      int     `json:"slow_events"`
	SlowAttemptsDue int     `json:"slow_attempts_due"`
	SlowSendS       float64 `json:"slow_send_s"`
	SlowSendFailed  int     `json:"slow_send_failed,omitempty"`
	SlowSendError   string  `json:"slow_send_first_error,omitempty"`
	// The slow receiver's counters when the fixed-rate window started, when the saturation
	// window with the slow endpoints started, and when the phase released them.
	SlowAtFixed     HangingStats `json:"slow_at_fixed_start"`
	SlowAtSustained HangingStats `json:"slow_at_sustained_start"`
	SlowAtEnd       HangingStats `json:"slow_at_end"`

	// Alone is the healthy endpoint at saturation before the slow events were sent; Fixed
	// is it at a fixed rate while the slow endpoints hang, and WithSlow at saturation again.
	Alone    Phase `json:"sustained_alone"`
	Fixed    Phase `json:"fixed_with_slow"`
	WithSlow Phase `json:"sustained_with_slow"`
	// SaturationRatio is WithSlow's delivered events/s over Alone's.
	SaturationRatio float64 `json:"saturation_ratio"`
	// HealthyDuplicates counts deliveries to the healthy endpoint that arrived again.
	HealthyDuplicates int     `json:"healthy_duplicate_deliveries"`
	TookS             float64 `json:"took_s"`
}

// isolationResources are the isolation phase's own group: one application with the slow
// endpoints and another with the healthy one.
type isolationResources struct {
	groupID, slowAppID, healthyAppID string
	slowEndpointIDs                  []string
	healthyEndpointID                string
}

// setupIsolation creates the isolation phase's group and applications; the slow endpoints
// are slowBase/slow/1 … /slow/n, with http_timeout isolationTimeout.
func (a api) setupIsolation(ctx context.Context, slowBase, healthyURL string, n int) (isolationResources, error) {
	var r isolationResources
	var err error
	if r.groupID, err = a.create(ctx, "/api/v1/groups", benchGroup("bench-isolation")); err != nil {
		return r, err
	}
	apps := "/api/v1/groups/" + r.groupID + "/applications"
	if r.slowAppID, err = a.create(ctx, apps, map[string]any{"name": "bench-slow"}); err != nil {
		return r, err
	}
	if r.healthyAppID, err = a.create(ctx, apps, map[string]any{"name": "bench-healthy"}); err != nil {
		return r, err
	}
	for i := 1; i <= n; i++ {
		id, err := a.create(ctx, apps+"/"+r.slowAppID+"/endpoints", map[string]any{
			"url": slowBase + "/slow/" + strconv.Itoa(i), "http_timeout": isolationTimeout.String(),
			"rate_limit": 1_000_000, "rate_limit_duration": "1s",
		})
		if err != nil {
			return r, err
		}
		r.slowEndpointIDs = append(r.slowEndpointIDs, id)
	}
	r.healthyEndpointID, err = a.create(ctx, apps+"/"+r.healthyAppID+"/endpoints", map[string]any{
		"url": healthyURL, "rate_limit": 1_000_000, "rate_limit_duration": "1s",
	})
	return r, err
}

// isolation runs the isolation phase. In order: the healthy endpoint alone at saturation (the
// reference); the slow endpoints' events, all at once; once their attempts hang, the healthy
// endpoint at a fixed rate and then at saturation again. The slow receiver is released at the
// end, so the stack stops without waiting for hung requests. Every step is bounded, so the
// phase ends on its own whatever the dispatcher does.
func (r *runner) isolation(ctx context.Context) (*Isolation, error) {
	cfg := r.cfg
	began := time.Now()
	iso := &Isolation{SlowEndpoints: IsolationSlowEndpoints, HangS: cfg.IsolationHang.Seconds(),
		HTTPTimeoutS: isolationTimeout.Seconds()}
	r.log.Info("phase: isolation", zap.Int("slow_endpoints", IsolationSlowEndpoints),
		zap.Duration("hang", cfg.IsolationHang), zap.Int("slow_events", cfg.IsolationSlowEvents))

	slow := NewHangingReceiver(cfg.IsolationHang)
	defer slow.Release()
	slowURL, _, err := slow.Serve(r.serveCtx)
	if err != nil {
		return nil, fmt.Errorf("hanging receiver: %w", err)
	}
	healthy := NewReceiver(r.clk)
	healthyURL, _, err := healthy.Serve(r.serveCtx)
	if err != nil {
		return nil, fmt.Errorf("healthy receiver: %w", err)
	}
	a := api{base: r.st.gateway, key: r.st.adminKey, client: r.client}
	res, err := a.setupIsolation(ctx, slowURL, healthyURL, IsolationSlowEndpoints)
	if err != nil {
		return nil, fmt.Errorf("isolation setup: %w", err)
	}

	var accepted atomic.Int64
	hs := sink{recv: healthy, accepted: &accepted}
	body, _ := eventBody(res.healthyAppID, cfg.PayloadBytes)
	send := httpEventSender(r.client, r.st.gateway+"/api/v1/groups/"+res.groupID+"/events", r.st.adminKey, body)
	gate := r.backlogGateOn(hs)
	saturate := func(name string) Phase {
		r.log.Info("phase: isolation, healthy endpoint at saturation", zap.String("slow", name),
			zap.Duration("duration", cfg.IsolationSustained))
		p := r.measureOn(ctx, hs, 0, isolationDrain, func(ctx context.Context) *tally {
			return closedLoop(ctx, r.clk, loopOptions{workers: cfg.Producers, duration: cfg.IsolationSustained,
				limit: limitFor(cfg.IsolationSustained), gate: gate, accepted: &accepted}, send)
		})
		r.logPhase("isolation sustained", name, p)
		return p
	}

	iso.Alone = saturate("none")
	if err := r.alive(ctx); err != nil {
		return nil, err
	}

	r.log.Info("phase: isolation, sending the slow endpoints' events", zap.Int("events", cfg.IsolationSlowEvents))
	_, data := eventBody(res.slowAppID, cfg.PayloadBytes)
	t := closedLoop(ctx, r.clk, loopOptions{workers: cfg.Producers, duration: isolationPreload,
		limit: int64(cfg.IsolationSlowEvents)},
		grpcEventSender(r.conn, r.st.adminKey, res.groupID, res.slowAppID, data))
	iso.SlowEvents, iso.SlowSendFailed, iso.SlowSendError = len(t.accepts), t.failed(), t.firstErr
	iso.SlowAttemptsDue = iso.SlowEvents * IsolationSlowEndpoints
	iso.SlowSendS = round((t.end - t.start).Seconds(), 2)
	if iso.SlowEvents < cfg.IsolationSlowEvents {
		r.note("isolation: %d of the %d slow endpoints' events were accepted within %s (first error: %s)",
			iso.SlowEvents, cfg.IsolationSlowEvents, isolationPreload, t.firstErr)
	}
	iso.SlowAtFixed = waitHanging(ctx, slow, isolationHangWait, isolationHangSteady)
	r.log.Info("slow endpoints hanging", zap.Int("events", iso.SlowEvents), zap.Int("attempts_due", iso.SlowAttemptsDue),
		zap.Int64("in_flight", iso.SlowAtFixed.InFlight))
	if iso.SlowAtFixed.InFlight == 0 {
		r.note("isolation: no slow endpoint's attempt was being held when the healthy endpoint's window started")
	}
	if err := r.alive(ctx); err != nil {
		return nil, err
	}

	r.log.Info("phase: isolation, healthy endpoint at a fixed rate", zap.Int("rate", cfg.IsolationRate),
		zap.Duration("duration", cfg.IsolationFixed))
	iso.Fixed = r.measureOn(ctx, hs, cfg.IsolationRate, isolationDrain, func(ctx context.Context) *tally {
		return openLoop(ctx, r.clk, cfg.IsolationRate, cfg.IsolationFixed, cfg.Workers, &accepted, send)
	})
	r.logPhase("isolation fixed", "with slow", iso.Fixed)
	if err := r.alive(ctx); err != nil {
		return nil, err
	}

	iso.SlowAtSustained = slow.Stats()
	iso.WithSlow = saturate("hanging")
	if n := iso.WithSlow.BacklogAtStart; n > 0 && r.cfg.MaxBacklog > 0 {
		r.note("isolation: the healthy endpoint's saturation window while the others hung started with %d of its "+
			"events undelivered, which count against the backlog cap of %d", n, r.cfg.MaxBacklog)
	}
	iso.SlowAtEnd = slow.Stats()
	slow.Release()
	if a := iso.Alone.DeliveredPerSec; a > 0 {
		iso.SaturationRatio = round(iso.WithSlow.DeliveredPerSec/a, 3)
	}
	iso.HealthyDuplicates = healthy.Duplicates()
	iso.TookS = round(time.Since(began).Seconds(), 1)
	r.log.Info("isolation done", zap.Int("healthy_delivered", iso.Fixed.Delivered), zap.Int("healthy_accepted", iso.Fixed.Accepted),
		zap.Float64("p99_ms", iso.Fixed.Latency.P99ms), zap.Float64("saturation_ratio", iso.SaturationRatio),
		zap.Int64("slow_arrived", iso.SlowAtEnd.Arrived), zap.Int64("slow_peak_in_flight", iso.SlowAtEnd.Peak))
	return iso, r.alive(ctx)
}

// waitHanging polls until h holds at least one request and the number held has not changed
// for steady, or until timeout, and returns the counters then.
func waitHanging(ctx context.Context, h *HangingReceiver, timeout, steady time.Duration) HangingStats {
	deadline := time.Now().Add(timeout)
	st := h.Stats()
	since := time.Now()
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond)
		now := h.Stats()
		if now.InFlight != st.InFlight {
			st, since = now, time.Now()
			continue
		}
		st = now
		if st.InFlight > 0 && time.Since(since) >= steady {
			break
		}
	}
	return st
}
