package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// ResultPrefix starts the machine-readable line.
const ResultPrefix = "BENCH_RESULT "

// Result is everything one run measured; it is printed as a table and as one JSON line, and
// written to OutDir/<UTC timestamp>.json.
type Result struct {
	Time    string   `json:"time"` // RFC 3339, UTC
	Machine Machine  `json:"machine"`
	Config  Settings `json:"config"`

	RawCeiling Rate `json:"raw_ceiling"`
	AcceptHTTP Rate `json:"accept_http"`
	AcceptGRPC Rate `json:"accept_grpc"`

	Empty   Round `json:"empty"`
	History Round `json:"history"`

	// Isolation is the isolation phase, when it ran.
	Isolation *Isolation `json:"isolation,omitempty"`
	// Routing is the routing phase, when it ran.
	Routing *Routing `json:"routing,omitempty"`
	// Sync is the sync-policy phase, when it ran.
	Sync *SyncPolicy `json:"sync,omitempty"`

	// HistoryRatio is sustained deliveries/s with history over the same on an empty store.
	HistoryRatio float64 `json:"history_ratio"`
	// RawRatio is sustained deliveries/s on an empty store over the raw ceiling.
	RawRatio float64 `json:"e2e_over_raw_ratio"`

	// Delivered is how many distinct events reached the receiver over the whole run and
	// Duplicates how many deliveries arrived again after their first arrival.
	Delivered  int64 `json:"delivered_total"`
	Duplicates int   `json:"duplicate_deliveries"`

	// Lists times every list query after the history round; IdleEmpty and
	// IdleHistory are the stack's CPU with no load, before the first round
	// and after the lists.
	Lists       Lists `json:"lists"`
	IdleEmpty   Idle  `json:"idle_empty"`
	IdleHistory Idle  `json:"idle_history"`
	// Catchup is the reconciliation of the history round's events, which
	// the bench waits for before measuring IdleHistory.
	Catchup Catchup `json:"reconcile_catchup"`

	Targets []Target `json:"targets"`
	Notes   []string `json:"notes,omitempty"`
}

// Settings are the knobs of the run, as they went into the result.
type Settings struct {
	Phases       []string `json:"phases"`
	Producers    int      `json:"producers"`
	Workers      int      `json:"open_loop_workers"`
	RawS         float64  `json:"raw_s"`
	AcceptHTTPS  float64  `json:"accept_http_s"`
	AcceptGRPCS  float64  `json:"accept_grpc_s"`
	SustainedS   float64  `json:"sustained_s"`
	FixedS       float64  `json:"fixed_s"`
	FixedRate    int      `json:"fixed_rate"`
	DrainS       float64  `json:"drain_s"`
	History      int      `json:"history"`
	MaxBacklog   int      `json:"max_backlog"`
	PayloadBytes int      `json:"payload_bytes"`
	ClockTicks   float64  `json:"clk_tck"`

	IsolationSlowEvents int     `json:"isolation_slow_events"`
	IsolationHangS      float64 `json:"isolation_hang_s"`
	IsolationRate       int     `json:"isolation_rate"`
	IsolationFixedS     float64 `json:"isolation_fixed_s"`
	IsolationSustainedS float64 `json:"isolation_sustained_s"`
	SyncS               float64 `json:"sync_s"`
}

func settingsOf(c Config, clk float64) Settings {
	return Settings{
		Phases: c.Phases, Producers: c.Producers, Workers: c.Workers, RawS: c.RawDuration.Seconds(),
		AcceptHTTPS: c.AcceptHTTPDuration.Seconds(), AcceptGRPCS: c.AcceptGRPCDuration.Seconds(),
		SustainedS: c.SustainedDuration.Seconds(), FixedS: c.FixedDuration.Seconds(), FixedRate: c.FixedRate,
		DrainS: c.Drain.Seconds(), History: c.History, MaxBacklog: c.MaxBacklog, PayloadBytes: c.PayloadBytes,
		ClockTicks: clk, IsolationSlowEvents: c.IsolationSlowEvents, IsolationHangS: c.IsolationHang.Seconds(),
		IsolationRate: c.IsolationRate, IsolationFixedS: c.IsolationFixed.Seconds(),
		IsolationSustainedS: c.IsolationSustained.Seconds(), SyncS: c.SyncDuration.Seconds(),
	}
}

// Rate is an accept-only phase: how fast requests were answered 2xx.
type Rate struct {
	Seconds    float64        `json:"s"`
	Sent       int            `json:"sent"`
	Accepted   int            `json:"accepted"`
	Failures   map[string]int `json:"failures,omitempty"`
	FirstError string         `json:"first_error,omitempty"`
	PerSec     float64        `json:"per_s"`
}

func rateOf(t *tally) Rate {
	d := t.end - t.start
	return Rate{
		Seconds: round(d.Seconds(), 2), Sent: t.sent, Accepted: len(t.accepts), Failures: t.failures,
		FirstError: t.firstErr, PerSec: perSec(len(t.accepts), d),
	}
}

// Round is the end-to-end measurement on one store state.
type Round struct {
	// StoredBefore is how many events had been delivered before the round started.
	StoredBefore int64 `json:"stored_events_before"`
	Sustained    Phase `json:"sustained"`
	Fixed        Phase `json:"fixed"`
}

// Phase is one end-to-end measurement: events accepted in a window, their arrival at the
// receiver, and the CPU every process spent from the window's start until the last arrival.
type Phase struct {
	// OfferedPerSec is the offered rate; 0 means saturation (closed loop).
	OfferedPerSec  float64 `json:"offered_per_s"`
	Seconds        float64 `json:"window_s"`
	BacklogAtStart int64   `json:"backlog_at_start"`
	Sent           int     `json:"sent"`
	Accepted       int     `json:"accepted"`
	Failed         int     `json:"failed"`
	Missed         int     `json:"missed,omitempty"`
	AcceptedPerSec float64 `json:"accepted_per_s"`
	Delivered      int     `json:"delivered"`
	Undelivered    int     `json:"undelivered"`
	// DeliveredPerSec is the window's events that arrived, over the time from the window's
	// start to the last of them: while the pipeline keeps up it equals the accepted rate, and
	// when it falls behind it is the rate at which it really delivers.
	DeliveredPerSec float64 `json:"delivered_per_s"`
	// InWindowPerSec counts only arrivals within the window itself.
	InWindowPerSec float64    `json:"in_window_delivered_per_s"`
	TailS          float64    `json:"tail_s"`
	DrainTimedOut  bool       `json:"drain_timed_out,omitempty"`
	Latency        Latency    `json:"latency"`
	CPU            []ProcCPU  `json:"cpu"`
	Machine        MachineCPU `json:"machine_cpu"`
	// ServicesCPUPerEventUs is CPU µs in the four services per delivered event.
	ServicesCPUPerEventUs float64 `json:"services_cpu_us_per_event"`
	// StackCPUPerEventUs adds the devstack (embedded NATS and FerretDB).
	StackCPUPerEventUs float64 `json:"stack_cpu_us_per_event"`
	FirstError         string  `json:"first_error,omitempty"`
}

// Target is one goal with the measured value; Issue is the issue that set it.
type Target struct {
	Issue int     `json:"issue"`
	Name  string  `json:"name"`
	Want  string  `json:"want"`
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
	Pass  bool    `json:"pass"`
	Note  string  `json:"note,omitempty"`
}

// ran reports whether phase was among those run; a result without the list ran them all.
func (r *Result) ran(phase string) bool {
	return len(r.Config.Phases) == 0 || slices.Contains(r.Config.Phases, phase)
}

// Evaluate fills Targets from the figures, for the phases that ran.
func (r *Result) Evaluate() {
	r.Targets = nil
	if r.ran(PhaseEmpty) || r.ran(PhaseHistory) {
		r.Targets = append(r.Targets, r.throughputTargets()...)
	}
	if r.ran(PhaseIsolation) {
		r.Targets = append(r.Targets, r.isolationTargets()...)
	}
	if r.ran(PhaseRouting) {
		r.Targets = append(r.Targets, r.routingTargets()...)
	}
}

// throughputTargets are issue 6's.
func (r *Result) throughputTargets() []Target {
	es, ef := r.Empty.Sustained, r.Empty.Fixed
	thr := Target{Name: "sustained end-to-end deliveries", Want: ">= 2000", Value: es.DeliveredPerSec,
		Unit: "events/s", Pass: es.DeliveredPerSec >= 2000 && es.Undelivered == 0}
	if r.Config.SustainedS < 60 {
		thr.Pass = false
		thr.Note = fmt.Sprintf("window %.0f s is shorter than the 60 s the target asks for", r.Config.SustainedS)
	} else if es.Undelivered > 0 {
		thr.Note = fmt.Sprintf("%d accepted events never arrived", es.Undelivered)
	}
	lat := Target{Name: fmt.Sprintf("p99 acceptance->delivery at %d events/s", r.Config.FixedRate), Want: "<= 100",
		Value: ef.Latency.P99ms, Unit: "ms", Pass: ef.Latency.Count > 0 && ef.Latency.P99ms <= 100 && ef.Undelivered == 0}
	if r.Config.FixedRate != 500 {
		lat.Note = "the target is stated at 500 events/s"
	}
	if ef.Undelivered > 0 {
		lat.Pass = false
		lat.Note = fmt.Sprintf("%d accepted events never arrived", ef.Undelivered)
	}
	hist := Target{Name: fmt.Sprintf("throughput with %d events of history / empty", r.Config.History), Want: ">= 0.8",
		Value: r.HistoryRatio, Unit: "ratio", Pass: r.HistoryRatio >= 0.8}
	if r.History.StoredBefore < 100_000 {
		hist.Pass = false
		hist.Note = fmt.Sprintf("store held %d delivered events, fewer than the 100,000 the target asks for", r.History.StoredBefore)
	}
	cpu := Target{Name: "CPU in the four services per delivered event (sustained, empty store)", Want: "<= 300",
		Value: es.ServicesCPUPerEventUs, Unit: "µs", Pass: es.Delivered > 0 && es.ServicesCPUPerEventUs <= 300}
	if !r.ran(PhaseEmpty) {
		for _, t := range []*Target{&thr, &lat, &hist, &cpu} {
			t.Pass, t.Note = false, "the empty-store round did not run"
		}
	}
	if !r.ran(PhaseHistory) {
		hist.Pass, hist.Note = false, "the history round did not run"
	}
	out := []Target{thr, lat, hist, cpu}
	for i := range out {
		out[i].Issue = 6
	}
	return out
}

// Isolation targets: what the healthy endpoint must get while the slow ones hang, and the
// setup they are stated for.
const (
	isolationTargetP99ms       = 2000
	isolationTargetRatio       = 0.8
	isolationStatedRate        = 20
	isolationStatedAttemptsDue = 3000
	isolationStatedHang        = 20 * time.Second
	isolationStatedFixed       = 60 * time.Second
)

// isolationTargets are issue 11's.
func (r *Result) isolationTargets() []Target {
	iso := r.Isolation
	if iso == nil {
		iso = &Isolation{}
	}
	f := iso.Fixed
	// The setup must be at least as hard as the one the targets are stated for.
	var weaker string
	switch {
	case iso.SlowEndpoints < IsolationSlowEndpoints:
		weaker = fmt.Sprintf("%d slow endpoints, the target is stated for %d", iso.SlowEndpoints, IsolationSlowEndpoints)
	case iso.SlowAttemptsDue < isolationStatedAttemptsDue:
		weaker = fmt.Sprintf("%d slow attempts due, the target is stated for at least %d", iso.SlowAttemptsDue, isolationStatedAttemptsDue)
	case time.Duration(iso.HangS*float64(time.Second)) < isolationStatedHang:
		weaker = fmt.Sprintf("slow endpoints hung %.0f s, the target is stated for %.0f s", iso.HangS, isolationStatedHang.Seconds())
	case r.Config.IsolationFixedS > 0 && r.Config.IsolationFixedS < isolationStatedFixed.Seconds():
		weaker = fmt.Sprintf("window %.0f s is shorter than the %.0f s the target asks for", r.Config.IsolationFixedS, isolationStatedFixed.Seconds())
	}
	rate := fmt.Sprintf("%.0f/s", f.OfferedPerSec)

	all := Target{Name: "isolation: healthy endpoint's events delivered at " + rate + " while 10 endpoints hang",
		Want: "= " + commas(int64(f.Sent)) + " sent", Value: float64(f.Delivered), Unit: "events",
		Pass: f.Sent > 0 && f.Missed == 0 && f.Delivered == f.Sent && f.Undelivered == 0}
	if lost := f.Sent - f.Delivered; lost > 0 || f.Missed > 0 {
		all.Note = fmt.Sprintf("%d never arrived within %s of the window's end, %d of them not accepted; "+
			"%d more were due but not sent in time", lost, isolationDrain, f.Failed, f.Missed)
	}
	lat := Target{Name: "isolation: healthy endpoint's p99 send->delivery at " + rate + " while 10 endpoints hang",
		Want: fmt.Sprintf("<= %d", isolationTargetP99ms), Value: f.Latency.P99ms, Unit: "ms",
		Pass: f.Latency.Count > 0 && f.Latency.P99ms <= isolationTargetP99ms && f.Undelivered == 0}
	switch {
	case f.Latency.Count == 0:
		lat.Note = "nothing was delivered"
	case f.Undelivered > 0:
		lat.Note = fmt.Sprintf("over the %d delivered; %d accepted events never arrived", f.Latency.Count, f.Undelivered)
	}
	if f.OfferedPerSec != isolationStatedRate && lat.Note == "" {
		lat.Note = fmt.Sprintf("the target is stated at %d events/s", isolationStatedRate)
	}
	sat := Target{Name: "isolation: healthy endpoint's saturation throughput while 10 endpoints hang / alone",
		Want: fmt.Sprintf(">= %.2f", isolationTargetRatio), Value: iso.SaturationRatio, Unit: "ratio",
		Pass: iso.SaturationRatio >= isolationTargetRatio}
	if iso.Alone.DeliveredPerSec > 0 {
		sat.Note = fmt.Sprintf("%s vs %s events/s", num(iso.WithSlow.DeliveredPerSec), num(iso.Alone.DeliveredPerSec))
	} else {
		sat.Note = "nothing measured alone"
	}
	if n := iso.WithSlow.Undelivered; n > 0 {
		sat.Note += fmt.Sprintf("; %d accepted while they hung never arrived", n)
	}
	out := []Target{all, lat, sat}
	for i := range out {
		out[i].Issue = 11
		if r.Isolation == nil {
			out[i].Pass, out[i].Note = false, "the isolation phase did not run to its end"
		} else if weaker != "" {
			out[i].Pass = false
			out[i].Note = strings.TrimPrefix(out[i].Note+"; "+weaker, "; ")
		}
	}
	return out
}

// JSON is the compact encoding of the result.
func (r *Result) JSON() ([]byte, error) { return json.Marshal(r) }

// WriteFile writes the result to dir/<UTC timestamp>.json and returns the path.
func (r *Result) WriteFile(dir string) (string, error) {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	t, err := time.Parse(time.RFC3339, r.Time)
	if err != nil {
		t = time.Now()
	}
	path := filepath.Join(dir, t.UTC().Format("20060102T150405Z")+".json")
	return path, os.WriteFile(path, append(b, '\n'), 0o644)
}

// WriteTable prints the human-readable summary.
func (r *Result) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Convoy end-to-end benchmark, %s\n", r.Time)
	fmt.Fprintf(&b, "machine: %d CPUs, %s, %s, Linux %s, load average %.2f at start\n",
		r.Machine.NProc, r.Machine.CPUModel, r.Machine.GoVersion, r.Machine.Kernel, r.Machine.LoadAvgAtStart)
	fmt.Fprintf(&b, "load: payload %d B, %d producers, backlog cap %d, fixed rate %d/s over %d workers\n\n",
		r.Config.PayloadBytes, r.Config.Producers, r.Config.MaxBacklog, r.Config.FixedRate, r.Config.Workers)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")+"\t") }
	if r.ran(PhaseRaw) || r.ran(PhaseAccept) {
		r.acceptRows(row)
	}
	if r.ran(PhaseEmpty) || r.ran(PhaseHistory) {
		r.roundRows(row)
	}
	if r.ran(PhaseIsolation) && r.Isolation != nil {
		r.Isolation.rows(row)
	}
	if r.ran(PhaseRouting) && r.Routing != nil {
		r.Routing.rows(row)
	}
	if r.ran(PhaseSync) && r.Sync != nil {
		r.Sync.rows(row)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	r.writeLists(&b)

	for _, issue := range []int{6, 11, 17} {
		heading := false
		for _, t := range r.Targets {
			if t.Issue != issue {
				continue
			}
			if !heading {
				fmt.Fprintf(&b, "\nTARGETS (issue %d)\n", issue)
				heading = true
			}
			verdict := "FAIL"
			if t.Pass {
				verdict = "PASS"
			}
			value := num3(t.Value)
			if t.Unit == "events" {
				value = commas(int64(t.Value))
			}
			fmt.Fprintf(&b, "  [%s] %s %s %s: measured %s", verdict, t.Name, t.Want, t.Unit, value)
			if t.Note != "" {
				fmt.Fprintf(&b, " (%s)", t.Note)
			}
			b.WriteByte('\n')
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// acceptRows are the table's front-door figures.
func (r *Result) acceptRows(row func(...string)) {
	row("ACCEPT", "", "", "")
	row("raw ceiling: generator -> receiver, req/s", num(r.RawCeiling.PerSec), "", "")
	row("gateway HTTP accepted, events/s", num(r.AcceptHTTP.PerSec), failStr(r.AcceptHTTP.Failures), "")
	row("ingest gRPC accepted, events/s", num(r.AcceptGRPC.PerSec), failStr(r.AcceptGRPC.Failures), "")
	row("", "", "", "")
}

// roundRows are the table's end-to-end and CPU figures of the two rounds.
func (r *Result) roundRows(row func(...string)) {
	es, ef, hs, hf := r.Empty.Sustained, r.Empty.Fixed, r.History.Sustained, r.History.Fixed
	row("END TO END", "empty store", "with history", "history/empty")
	row("events delivered before the round", commas(r.Empty.StoredBefore), commas(r.History.StoredBefore), "")
	row("saturation: delivered events/s", num(es.DeliveredPerSec), num(hs.DeliveredPerSec), ratio(r.HistoryRatio))
	row("  accepted events/s", num(es.AcceptedPerSec), num(hs.AcceptedPerSec), "")
	row("  delivered within the window, events/s", num(es.InWindowPerSec), num(hs.InWindowPerSec), "")
	row("  accepted / undelivered", pair(es.Accepted, es.Undelivered), pair(hs.Accepted, hs.Undelivered), "")
	row("  latency p50 / p95 / p99 ms", lats(es.Latency), lats(hs.Latency), "")
	row(fmt.Sprintf("fixed %.0f/s: accepted events/s", ef.OfferedPerSec), num(ef.AcceptedPerSec), num(hf.AcceptedPerSec), "")
	row("  accepted / undelivered / missed", triple(ef.Accepted, ef.Undelivered, ef.Missed), triple(hf.Accepted, hf.Undelivered, hf.Missed), "")
	row("  latency p50 / p95 / p99 ms", lats(ef.Latency), lats(hf.Latency), "")
	row("  latency max ms", num3(ef.Latency.MaxMs), num3(hf.Latency.MaxMs), "")
	row("", "", "", "")
	row("CPU s per 1,000 delivered (saturation | fixed)", "empty store", "with history", "")
	for i, l := range cpuLabels {
		row("  "+l, cpuCell(es, ef, i), cpuCell(hs, hf, i), "")
	}
	row("  cores busy, 4 services + devstack (sat.)", num3(cores(es)), num3(cores(hs)), "")
	row("  cores busy, whole machine | outside bench+stack (sat.)", pairF(es.Machine.BusyCores, es.Machine.OtherCores),
		pairF(hs.Machine.BusyCores, hs.Machine.OtherCores), "")
	row("CPU µs per event, 4 services (sat. | fixed)", pairF(es.ServicesCPUPerEventUs, ef.ServicesCPUPerEventUs),
		pairF(hs.ServicesCPUPerEventUs, hf.ServicesCPUPerEventUs), "")
	row("CPU µs per event, with NATS+FerretDB", pairF(es.StackCPUPerEventUs, ef.StackCPUPerEventUs),
		pairF(hs.StackCPUPerEventUs, hf.StackCPUPerEventUs), "")
	row("", "", "", "")
	row("e2e saturation / raw ceiling", fmt.Sprintf("%.3f", r.RawRatio), "", "")
	row("delivered in all / duplicate deliveries", pair(int(r.Delivered), r.Duplicates), "", "")
}

// rows are the table's isolation figures.
func (iso *Isolation) rows(row func(...string)) {
	f, al, ws := iso.Fixed, iso.Alone, iso.WithSlow
	row("", "", "", "")
	row(fmt.Sprintf("ISOLATION: %d endpoints hang %.0f s (http_timeout %.0f s)", iso.SlowEndpoints, iso.HangS, iso.HTTPTimeoutS),
		"", "", "")
	row("  slow events accepted / attempts due", pair(iso.SlowEvents, iso.SlowAttemptsDue), "", "")
	row("  slow requests held at fixed start | peak", pairI(iso.SlowAtFixed.InFlight, iso.SlowAtEnd.Peak), "", "")
	row("  slow requests arrived | answered after the hang", pairI(iso.SlowAtEnd.Arrived, iso.SlowAtEnd.HungOut), "", "")
	row(fmt.Sprintf("healthy endpoint at %.0f/s: sent / delivered", f.OfferedPerSec), pair(f.Sent, f.Delivered), "", "")
	row("  failed / missed / undelivered", triple(f.Failed, f.Missed, f.Undelivered), "", "")
	row("  latency p50 / p95 / p99 ms", lats(f.Latency), "", "")
	row("  latency max ms", maxLat(f.Latency), "", "")
	row("healthy endpoint at saturation", "alone", "while they hang", "hang/alone")
	row("  delivered events/s", num(al.DeliveredPerSec), num(ws.DeliveredPerSec), ratio(iso.SaturationRatio))
	row("  accepted / undelivered", pair(al.Accepted, al.Undelivered), pair(ws.Accepted, ws.Undelivered), "")
	row("  latency p50 / p95 / p99 ms", lats(al.Latency), lats(ws.Latency), "")
	row("  CPU µs per event, 4 services", num3(al.ServicesCPUPerEventUs), num3(ws.ServicesCPUPerEventUs), "")
}

func num(x float64) string {
	if x >= 100 {
		return commas(int64(x + 0.5))
	}
	return fmt.Sprintf("%.1f", x)
}

func num3(x float64) string {
	if x >= 100 {
		return commas(int64(x + 0.5))
	}
	if x >= 10 {
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.3f", x)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		return "-" + s
	}
	return s
}

func ratio(x float64) string { return fmt.Sprintf("%.2f", x) }

func pair(a, b int) string { return commas(int64(a)) + " / " + commas(int64(b)) }

func pairI(a, b int64) string { return commas(a) + " | " + commas(b) }

func pairF(a, b float64) string { return num3(a) + " | " + num3(b) }

func triple(a, b, c int) string { return pair(a, b) + " / " + commas(int64(c)) }

func lats(l Latency) string {
	if l.Count == 0 {
		return "-"
	}
	return num3(l.P50ms) + " / " + num3(l.P95ms) + " / " + num3(l.P99ms)
}

func maxLat(l Latency) string {
	if l.Count == 0 {
		return "-"
	}
	return num3(l.MaxMs)
}

func failStr(f map[string]int) string {
	if len(f) == 0 {
		return ""
	}
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s×%d", k, f[k]))
	}
	return "failed: " + strings.Join(parts, ", ")
}

func cpuCell(sat, fixed Phase, i int) string {
	get := func(p Phase) string {
		if i >= len(p.CPU) {
			return "-"
		}
		if p.CPU[i].Restarted {
			return "restarted"
		}
		return fmt.Sprintf("%.3f", p.CPU[i].PerKEvents)
	}
	return get(sat) + " | " + get(fixed)
}

// cores is the CPU the stack (not the bench itself) burned per wall-clock second.
func cores(p Phase) float64 {
	var c float64
	for _, x := range p.CPU {
		if x.Process != benchLabel {
			c += x.Utilization
		}
	}
	return c
}
