package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// settleStall ends a wait for the backlog early once nothing has arrived for this long: the
// missing events are then lost or stuck, and waiting longer only burns the time budget.
const settleStall = 20 * time.Second

// stopAllowance is the time the budget keeps for the backlog the fill leaves, stopping the
// stack and writing the result.
const stopAllowance = 30 * time.Second

// recordGrace is how long the CPU sample waits after the last arrival, so that the
// dispatcher's recording of the last attempts is part of the phase's cost.
const recordGrace = 250 * time.Millisecond

// runner holds what the phases share.
type runner struct {
	cfg    Config
	log    *zap.Logger
	clk    clock
	clkTck float64

	recv    *Receiver
	recvURL string
	// serveCtx ends once the stack has stopped: receivers serve until then.
	serveCtx context.Context
	st       *stack
	res      resources
	client   *http.Client
	conn     *grpc.ClientConn
	body     []byte // POST /events body
	data     []byte // the event data, for gRPC
	accepted atomic.Int64
	notes    []string
}

// Run runs the chosen phases and returns the result. It stops the stack and removes its temp folder
// (unless cfg.Keep) before returning, also on error or when ctx is cancelled.
func Run(ctx context.Context, cfg Config, log *zap.Logger) (res *Result, err error) {
	began := time.Now()
	clk := newClock()
	tck, ok := ClockTicks()
	r := &runner{cfg: cfg, log: log, clk: clk, clkTck: tck, recv: NewReceiver(clk),
		client: newHTTPClient(max(cfg.Producers, cfg.Workers))}
	if !ok {
		r.note("getconf CLK_TCK failed; assumed 100 clock ticks per second")
	}
	res = &Result{Time: time.Now().UTC().Format(time.RFC3339), Machine: ThisMachine(), Config: settingsOf(cfg, tck)}
	if load, ok := loadAverage(); ok {
		res.Machine.LoadAvgAtStart = load
		if load > 0.5*float64(res.Machine.NProc) {
			log.Warn("the machine is already busy: figures will be distorted", zap.Float64("loadavg_1m", load))
			r.note("1-minute load average was %.2f on %d CPUs when the bench started", load, res.Machine.NProc)
		}
	}

	recvCtx, stopRecv := context.WithCancel(context.WithoutCancel(ctx))
	defer stopRecv()
	r.serveCtx = recvCtx
	r.recvURL, _, err = r.recv.Serve(recvCtx)
	if err != nil {
		return nil, fmt.Errorf("receiver: %w", err)
	}

	// a. The raw ceiling, before the stack exists, so nothing else competes for the CPU.
	if cfg.Runs(PhaseRaw) {
		r.body, r.data = eventBody("raw", cfg.PayloadBytes)
		log.Info("phase: raw ceiling", zap.Duration("duration", cfg.RawDuration))
		raw := closedLoop(ctx, clk, loopOptions{workers: cfg.Producers, duration: cfg.RawDuration,
			limit: limitFor(cfg.RawDuration)}, rawSender(r.client, r.recvURL, r.body))
		res.RawCeiling = rateOf(raw)
		log.Info("raw ceiling", zap.Float64("req_per_s", res.RawCeiling.PerSec), zap.Int("failed", raw.failed()))
		r.recv.Reset()
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}

	dir, err := os.MkdirTemp("", "convoy-bench-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if cfg.Keep {
			log.Info("kept the stack's folder", zap.String("dir", dir))
			return
		}
		if rmErr := os.RemoveAll(dir); rmErr != nil {
			log.Warn("remove temp folder", zap.String("dir", dir), zap.Error(rmErr))
		}
	}()
	r.st, err = startStack(ctx, cfg.BinDir, dir, log, nil)
	if err != nil {
		return nil, err
	}
	defer func() {
		log.Info("stopping the stack")
		if stopErr := r.st.stop(45 * time.Second); stopErr != nil {
			log.Warn("stop stack", zap.Error(stopErr))
		}
		if err != nil {
			fmt.Fprintf(os.Stderr, "---- last lines of devstack.log ----\n%s\n", r.st.logTail(40))
		}
	}()
	if _, perr := r.st.processes(); perr != nil {
		return nil, perr
	}

	if err := r.prepare(ctx); err != nil {
		return nil, err
	}
	res.IdleEmpty = r.idle(ctx, r.recv.Unique())

	// b. The end-to-end round on a store that holds nothing yet (the gate bounds the backlog
	// in every saturation phase).
	gate := r.backlogGate()
	var roundTook time.Duration
	if cfg.Runs(PhaseEmpty) {
		roundStart := time.Now()
		res.Empty = r.round(ctx, "empty", gate)
		roundTook = time.Since(roundStart)
		if err := r.alive(ctx); err != nil {
			return nil, err
		}
	}

	// c. Accept rates. Nothing throttles them: they measure the front door alone. The backlog
	// each leaves is delivered before the next phase starts.
	if cfg.Runs(PhaseAccept) {
		if res.AcceptHTTP, err = r.accept(ctx, "gateway HTTP accept", cfg.AcceptHTTPDuration, r.httpSender()); err != nil {
			return nil, err
		}
		if res.AcceptGRPC, err = r.accept(ctx, "gRPC accept", cfg.AcceptGRPCDuration, r.grpcSender()); err != nil {
			return nil, err
		}
	}

	// d. Fill to the history size at saturation over gRPC (the cheaper front door), within
	// what the budget leaves once a second round as long as the first and the isolation
	// phase are set aside; then the round again.
	if cfg.Runs(PhaseHistory) {
		fillFor := min(cfg.FillTimeout, cfg.Budget-time.Since(began)-roundTook-stopAllowance-isolationReserve(cfg)-syncReserve(cfg)-catchupReserve(cfg))
		r.fill(ctx, gate, fillFor)
		if err := r.alive(ctx); err != nil {
			return nil, err
		}
		res.History = r.round(ctx, "history", gate)
		if err := r.alive(ctx); err != nil {
			return nil, err
		}
		// The list table and the idle figure speak of the history this phase
		// built, before the phases below add backlogs of their own.
		res.Lists = r.lists(ctx, r.recv.Unique(), began, time.Now())
		// Reconciliation examines the load's events a grace period after
		// each was accepted: idle is measured once it is through.
		res.Catchup = r.catchup(ctx, r.recv.Unique())
		res.IdleHistory = r.idle(ctx, r.recv.Unique())
	}

	// e. Last, because the slow endpoints' backlog outlives it: a healthy endpoint while ten
	// others hang.
	if cfg.Runs(PhaseIsolation) {
		if res.Isolation, err = r.isolation(ctx); err != nil {
			return nil, err
		}
		if err := r.alive(ctx); err != nil {
			return nil, err
		}
	}
	// f. Routing, after everything else: its 10,000 endpoints would weigh on the others.
	if cfg.Runs(PhaseRouting) {
		if res.Routing, err = r.routing(ctx); err != nil {
			return nil, err
		}
		if err := r.alive(ctx); err != nil {
			return nil, err
		}
	}

	// f. Last of all, because it replaces the stack: the sync policy's cost.
	if cfg.Runs(PhaseSync) {
		if res.Sync, err = r.syncPolicy(ctx); err != nil {
			return nil, err
		}
	}

	res.Delivered = r.recv.Unique()
	res.Duplicates = r.recv.Duplicates()
	if es := res.Empty.Sustained.DeliveredPerSec; es > 0 {
		res.HistoryRatio = round(res.History.Sustained.DeliveredPerSec/es, 3)
	}
	if res.RawCeiling.PerSec > 0 {
		res.RawRatio = round(res.Empty.Sustained.DeliveredPerSec/res.RawCeiling.PerSec, 3)
	}
	if cfg.Runs(PhaseEmpty) || cfg.Runs(PhaseHistory) {
		r.note("CPU per 1,000 events covers each phase from its start until its last delivery (plus %s); "+
			"the devstack row is embedded NATS and FerretDB together, which /proc cannot separate", recordGrace)
		r.note("latency runs from the producer sending the event to its arrival at the receiver, so it includes "+
			"accepting it; %d of the fixed-rate phases' deliveries arrived before the producer had read the 201",
			res.Empty.Fixed.Latency.BeforeAnswer+res.History.Fixed.Latency.BeforeAnswer)
	}
	if cfg.MaxBacklog > 0 {
		r.note("saturation phases keep at most %d events accepted but not yet delivered; saturation latency "+
			"is queueing behind that backlog", cfg.MaxBacklog)
	}
	res.Notes = r.notes
	res.Evaluate()
	return res, nil
}

// alive reports an error once the bench is interrupted or the devstack has exited (a crashed
// service is restarted by the devstack and shows as "restarted" in the CPU figures instead).
func (r *runner) alive(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-r.st.exited:
		return fmt.Errorf("devstack exited during the bench (%v)", r.st.exitErr)
	default:
		return nil
	}
}

func (r *runner) note(format string, args ...any) {
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// prepare creates the resources, opens the gRPC connection and proves one event goes through.
func (r *runner) prepare(ctx context.Context) error {
	a := api{base: r.st.gateway, key: r.st.adminKey, client: r.client}
	var err error
	r.res, err = a.setup(ctx, r.recvURL)
	if err != nil {
		return err
	}
	r.body, r.data = eventBody(r.res.appID, r.cfg.PayloadBytes)
	r.conn, err = grpc.NewClient(r.st.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("grpc client: %w", err)
	}
	context.AfterFunc(ctx, func() { _ = r.conn.Close() })

	// Warm up: a few events end to end, which also proves the dispatcher consumes.
	t := closedLoop(ctx, r.clk, loopOptions{workers: 1, duration: 10 * time.Second, limit: 20, accepted: &r.accepted},
		r.httpSender())
	if len(t.accepts) == 0 {
		return fmt.Errorf("warm-up: the gateway accepted no event (%s)", t.firstErr)
	}
	if !r.waitDelivered(ctx, 30*time.Second, 30*time.Second) {
		return fmt.Errorf("warm-up: %d of %d events arrived at the receiver within 30 s",
			r.recv.Unique(), r.accepted.Load())
	}
	r.log.Info("stack ready", zap.String("group_id", r.res.groupID), zap.String("app_id", r.res.appID),
		zap.String("endpoint_id", r.res.endpointID))
	return nil
}

// accept measures one front door's accept rate for d, then waits for the backlog it leaves.
func (r *runner) accept(ctx context.Context, name string, d time.Duration, newSend func() sendFunc) (Rate, error) {
	r.log.Info("phase: "+name, zap.Duration("duration", d))
	t := closedLoop(ctx, r.clk, loopOptions{workers: r.cfg.Producers, duration: d,
		limit: limitFor(d), accepted: &r.accepted}, newSend)
	rate := rateOf(t)
	r.log.Info(name, zap.Float64("events_per_s", rate.PerSec), zap.Int("failed", t.failed()),
		zap.String("first_error", t.firstErr))
	r.settle(ctx, name+" phase")
	return rate, r.alive(ctx)
}

func (r *runner) httpSender() func() sendFunc {
	return httpEventSender(r.client, r.st.gateway+"/api/v1/groups/"+r.res.groupID+"/events", r.st.adminKey, r.body)
}

func (r *runner) grpcSender() func() sendFunc {
	return grpcEventSender(r.conn, r.st.adminKey, r.res.groupID, r.res.appID, r.data)
}

// sink is where a load's events end up: the receiver they arrive at and the count of events
// accepted for it, which together give the backlog.
type sink struct {
	recv     *Receiver
	accepted *atomic.Int64
}

// mainSink is the bench's own endpoint, which every phase but the isolation phase loads.
func (r *runner) mainSink() sink { return sink{recv: r.recv, accepted: &r.accepted} }

// backlogGate holds producers back while MaxBacklog events are accepted but not delivered.
func (r *runner) backlogGate() func() bool { return r.backlogGateOn(r.mainSink()) }

func (r *runner) backlogGateOn(s sink) func() bool {
	if r.cfg.MaxBacklog == 0 {
		return nil
	}
	limit := int64(r.cfg.MaxBacklog)
	return func() bool { return s.accepted.Load()-s.recv.Unique() < limit }
}

// waitDelivered waits until every accepted event has arrived, at most timeout, and gives up
// early when nothing arrives for stall. It reports whether everything arrived.
func (r *runner) waitDelivered(ctx context.Context, timeout, stall time.Duration) bool {
	return waitDelivered(ctx, r.mainSink(), timeout, stall)
}

func waitDelivered(ctx context.Context, s sink, timeout, stall time.Duration) bool {
	deadline := time.Now().Add(timeout)
	last, lastChange := s.recv.Unique(), time.Now()
	for {
		got := s.recv.Unique()
		if got >= s.accepted.Load() {
			return true
		}
		if got != last {
			last, lastChange = got, time.Now()
		}
		if time.Now().After(deadline) || time.Since(lastChange) > stall || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settle waits for the backlog an unthrottled phase left, and notes it if some remains.
func (r *runner) settle(ctx context.Context, after string) {
	start := time.Now()
	backlog := r.accepted.Load() - r.recv.Unique()
	r.log.Info("waiting for the backlog", zap.String("after", after), zap.Int64("backlog", backlog))
	if !r.waitDelivered(ctx, r.cfg.Settle, settleStall) {
		left := r.accepted.Load() - r.recv.Unique()
		r.note("after the %s %d accepted events had not arrived within %s; the next phase starts with them queued",
			after, left, time.Since(start).Round(time.Second))
		r.log.Warn("backlog not delivered", zap.String("after", after), zap.Int64("left", left))
		return
	}
	r.log.Info("backlog delivered", zap.String("after", after), zap.Duration("took", time.Since(start).Round(time.Millisecond)))
}

// round measures saturation and the fixed rate on the store as it is.
func (r *runner) round(ctx context.Context, name string, gate func() bool) Round {
	rd := Round{StoredBefore: r.recv.Unique()}
	cfg := r.cfg
	r.log.Info("phase: sustained at saturation", zap.String("store", name), zap.Int64("stored_events", rd.StoredBefore),
		zap.Duration("duration", cfg.SustainedDuration))
	rd.Sustained = r.measure(ctx, 0, func(ctx context.Context) *tally {
		return closedLoop(ctx, r.clk, loopOptions{workers: cfg.Producers, duration: cfg.SustainedDuration,
			limit: limitFor(cfg.SustainedDuration), gate: gate, accepted: &r.accepted}, r.httpSender())
	})
	r.logPhase("sustained", name, rd.Sustained)
	if r.alive(ctx) != nil {
		return rd
	}
	r.log.Info("phase: fixed rate", zap.String("store", name), zap.Int("rate", cfg.FixedRate),
		zap.Duration("duration", cfg.FixedDuration))
	rd.Fixed = r.measure(ctx, cfg.FixedRate, func(ctx context.Context) *tally {
		return openLoop(ctx, r.clk, cfg.FixedRate, cfg.FixedDuration, cfg.Workers, &r.accepted, r.httpSender())
	})
	r.logPhase("fixed", name, rd.Fixed)
	return rd
}

func (r *runner) logPhase(phase, store string, p Phase) {
	r.log.Info(phase+" done", zap.String("store", store), zap.Float64("accepted_per_s", p.AcceptedPerSec),
		zap.Float64("delivered_per_s", p.DeliveredPerSec), zap.Int("undelivered", p.Undelivered),
		zap.Float64("p50_ms", p.Latency.P50ms), zap.Float64("p99_ms", p.Latency.P99ms),
		zap.Float64("services_cpu_us_per_event", p.ServicesCPUPerEventUs), zap.String("first_error", p.FirstError))
}

// measure runs one end-to-end phase: CPU is sampled at its start and after its last delivery.
func (r *runner) measure(ctx context.Context, offered int, run func(context.Context) *tally) Phase {
	return r.measureOn(ctx, r.mainSink(), offered, r.cfg.Drain, run)
}

// measureOn is measure for the events of s, waiting at most drain for their last deliveries.
func (r *runner) measureOn(ctx context.Context, s sink, offered int, drain time.Duration, run func(context.Context) *tally) Phase {
	p := Phase{OfferedPerSec: float64(offered), BacklogAtStart: s.accepted.Load() - s.recv.Unique()}
	cpu0 := r.st.sampleCPU(r.clk)
	t := run(ctx)
	p.DrainTimedOut = !waitDelivered(ctx, s, drain, drain)
	time.Sleep(recordGrace)
	cpu1 := r.st.sampleCPU(r.clk)

	arrivals := s.recv.arrivalsOf(t.accepts)
	lat := make([]time.Duration, 0, len(arrivals))
	var early, inWindow int
	var last time.Duration
	for i, at := range arrivals {
		if at < 0 {
			p.Undelivered++
			continue
		}
		if at < t.accepts[i].at {
			early++
		}
		lat = append(lat, at-t.accepts[i].sent)
		last = max(last, at)
		if at <= t.end {
			inWindow++
		}
	}
	window := t.end - t.start
	p.Seconds = round(window.Seconds(), 2)
	p.Sent, p.Accepted, p.Failed, p.Missed = t.sent, len(t.accepts), t.failed(), t.missed
	p.FirstError = t.firstErr
	p.AcceptedPerSec = perSec(p.Accepted, window)
	p.Delivered = len(lat)
	p.DeliveredPerSec = perSec(p.Delivered, last-t.start)
	p.InWindowPerSec = perSec(inWindow, window)
	if last > t.end {
		p.TailS = round((last - t.end).Seconds(), 3)
	}
	p.Latency = Summarize(lat, early)
	p.CPU = CPUDelta(cpuLabels, cpu0, cpu1, r.clkTck, p.Delivered)
	p.Machine = MachineDelta(cpu0, cpu1, r.clkTck, p.CPU)
	if p.Machine.OtherCores > 0.2 {
		r.note("other processes on the machine used %.2f cores during a %s phase: its figures are distorted",
			p.Machine.OtherCores, phaseName(offered))
	}
	var svc, stack float64
	for _, c := range p.CPU {
		switch c.Process {
		case benchLabel:
		case devstackLabel:
			stack += c.Seconds
		default:
			svc += c.Seconds
			stack += c.Seconds
		}
	}
	if p.Delivered > 0 {
		p.ServicesCPUPerEventUs = round(svc*1e6/float64(p.Delivered), 1)
		p.StackCPUPerEventUs = round(stack*1e6/float64(p.Delivered), 1)
	}
	return p
}

func phaseName(offered int) string {
	if offered == 0 {
		return "saturation"
	}
	return fmt.Sprintf("%d/s", offered)
}

// fill tops the store up to cfg.History delivered events at saturation over gRPC, for at most
// d.
func (r *runner) fill(ctx context.Context, gate func() bool, d time.Duration) {
	need := int64(r.cfg.History) - r.recv.Unique()
	if need <= 0 {
		return
	}
	if d < time.Second {
		r.note("no time left in the %s budget to fill the store towards %d events", r.cfg.Budget, r.cfg.History)
		return
	}
	r.log.Info("phase: fill", zap.Int64("events", need), zap.Duration("at_most", d))
	t := closedLoop(ctx, r.clk, loopOptions{workers: r.cfg.Producers, duration: d,
		limit: need, gate: gate, accepted: &r.accepted}, r.grpcSender())
	r.log.Info("fill done", zap.Int("accepted", len(t.accepts)), zap.Float64("per_s", perSec(len(t.accepts), t.end-t.start)),
		zap.Int("failed", t.failed()), zap.String("first_error", t.firstErr))
	r.settle(ctx, "fill")
	if got := r.recv.Unique(); got < int64(r.cfg.History) {
		r.note("the fill reached %d delivered events, short of %d, in the %s the budget left it (%.0f events/s)",
			got, r.cfg.History, d.Round(time.Second), perSec(len(t.accepts), t.end-t.start))
	}
}
