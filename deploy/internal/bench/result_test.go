package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// sampleResult is a result whose figures meet every target.
func sampleResult() *Result {
	cpu := []ProcCPU{{Process: "api-gateway", Seconds: 1, PerKEvents: 0.01, Utilization: 0.1}}
	return &Result{
		Time:    "2026-01-02T03:04:05Z",
		Machine: Machine{NProc: 2, CPUModel: "Test CPU", GoVersion: "go1.26.8"},
		Config: Settings{Phases: PhaseNames, Producers: 32, SustainedS: 60, FixedS: 30, FixedRate: 500, History: 100_000,
			MaxBacklog: 2000, IsolationSlowEvents: 3000, IsolationHangS: 20, IsolationRate: 20, IsolationFixedS: 60,
			IsolationSustainedS: 30},
		RawCeiling: Rate{Seconds: 10, Sent: 180_000, Accepted: 180_000, PerSec: 18_000},
		Empty: Round{StoredBefore: 1000,
			Sustained: Phase{Accepted: 150_000, Delivered: 150_000, DeliveredPerSec: 2500, ServicesCPUPerEventUs: 250, CPU: cpu,
				Latency: Latency{Count: 150_000, P50ms: 5, P95ms: 20, P99ms: 40}},
			Fixed: Phase{OfferedPerSec: 500, Accepted: 15_000, Delivered: 15_000, DeliveredPerSec: 500, ServicesCPUPerEventUs: 280,
				Latency: Latency{Count: 15_000, P50ms: 3, P95ms: 8, P99ms: 12}, CPU: cpu},
		},
		History: Round{StoredBefore: 120_000,
			Sustained: Phase{Accepted: 140_000, Delivered: 140_000, DeliveredPerSec: 2300},
		},
		HistoryRatio: 0.92,
		Isolation:    sampleIsolation(),
	}
}

// sampleIsolation is an isolation phase whose figures meet its targets.
func sampleIsolation() *Isolation {
	return &Isolation{SlowEndpoints: 10, HangS: 20, HTTPTimeoutS: 30, SlowEvents: 3000, SlowAttemptsDue: 30_000,
		SlowAtFixed: HangingStats{Arrived: 640, InFlight: 640, Peak: 640},
		SlowAtEnd:   HangingStats{Arrived: 4480, InFlight: 640, Peak: 655, HungOut: 3840},
		Alone:       Phase{Accepted: 60_000, Delivered: 60_000, DeliveredPerSec: 2000, Latency: Latency{Count: 60_000, P99ms: 50}},
		Fixed: Phase{OfferedPerSec: 20, Sent: 1200, Accepted: 1200, Delivered: 1200, DeliveredPerSec: 20,
			Latency: Latency{Count: 1200, P50ms: 4, P95ms: 9, P99ms: 15, MaxMs: 30}},
		WithSlow:        Phase{Accepted: 51_000, Delivered: 51_000, DeliveredPerSec: 1700, Latency: Latency{Count: 51_000, P99ms: 90}},
		SaturationRatio: 0.85,
	}
}

func TestEvaluateAllPass(t *testing.T) {
	r := sampleResult()
	r.Evaluate()
	if len(r.Targets) != 7 {
		t.Fatalf("targets: %+v", r.Targets)
	}
	for _, tg := range r.Targets {
		if !tg.Pass {
			t.Errorf("%s: fail (%v %s, %s)", tg.Name, tg.Value, tg.Unit, tg.Note)
		}
	}
}

func TestEvaluateFailures(t *testing.T) {
	allIsolation := []int{4, 5, 6}
	tests := []struct {
		name   string
		change func(*Result)
		fail   []int // indexes of the targets that must fail
	}{
		{"slow", func(r *Result) { r.Empty.Sustained.DeliveredPerSec = 1999 }, []int{0}},
		{"short window", func(r *Result) { r.Config.SustainedS = 10 }, []int{0}},
		{"lost events", func(r *Result) { r.Empty.Sustained.Undelivered = 1 }, []int{0}},
		{"p99 too high", func(r *Result) { r.Empty.Fixed.Latency.P99ms = 100.5 }, []int{1}},
		{"no latency at all", func(r *Result) { r.Empty.Fixed.Latency = Latency{} }, []int{1}},
		{"fixed lost events", func(r *Result) { r.Empty.Fixed.Undelivered = 3 }, []int{1}},
		{"history slows down", func(r *Result) { r.HistoryRatio = 0.79 }, []int{2}},
		{"history too small", func(r *Result) { r.History.StoredBefore = 99_999 }, []int{2}},
		{"too much CPU", func(r *Result) { r.Empty.Sustained.ServicesCPUPerEventUs = 301 }, []int{3}},
		{"nothing delivered", func(r *Result) { r.Empty.Sustained.Delivered = 0; r.Empty.Sustained.ServicesCPUPerEventUs = 0 }, []int{3}},
		{"healthy event lost", func(r *Result) {
			r.Isolation.Fixed.Delivered, r.Isolation.Fixed.Undelivered, r.Isolation.Fixed.Latency.Count = 1199, 1, 1199
		}, []int{4, 5}},
		{"healthy event not sent in time", func(r *Result) { r.Isolation.Fixed.Missed = 1 }, []int{4}},
		{"healthy p99 too high", func(r *Result) { r.Isolation.Fixed.Latency.P99ms = 2000.5 }, []int{5}},
		{"healthy endpoint starved", func(r *Result) {
			f := &r.Isolation.Fixed
			f.Delivered, f.Undelivered, f.Latency, f.DeliveredPerSec = 0, 1200, Latency{}, 0
		}, []int{4, 5}},
		{"saturation drops", func(r *Result) { r.Isolation.SaturationRatio = 0.79 }, []int{6}},
		{"nothing at saturation alone", func(r *Result) { r.Isolation.Alone = Phase{}; r.Isolation.SaturationRatio = 0 }, []int{6}},
		{"too few slow attempts", func(r *Result) { r.Isolation.SlowAttemptsDue = 2999 }, allIsolation},
		{"slow endpoints hang briefly", func(r *Result) { r.Isolation.HangS = 19 }, allIsolation},
		{"fewer slow endpoints", func(r *Result) { r.Isolation.SlowEndpoints = 9 }, allIsolation},
		{"short isolation window", func(r *Result) { r.Config.IsolationFixedS = 20 }, allIsolation},
		{"isolation did not finish", func(r *Result) { r.Isolation = nil }, allIsolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleResult()
			tt.change(r)
			r.Evaluate()
			if len(r.Targets) != 7 {
				t.Fatalf("%d targets", len(r.Targets))
			}
			for i, tg := range r.Targets {
				if want := !slices.Contains(tt.fail, i); tg.Pass != want {
					t.Errorf("target %d (%s): pass=%v, want %v (%s)", i, tg.Name, tg.Pass, want, tg.Note)
				}
				// An isolation target that fails for anything but its own measured value says why.
				if i >= 4 && !tg.Pass && tg.Note == "" && tt.name != "healthy p99 too high" {
					t.Errorf("target %d (%s) fails without saying why", i, tg.Name)
				}
			}
		})
	}
}

func TestEvaluateOnlyChosenPhases(t *testing.T) {
	tests := []struct {
		phases []string
		issues []int // of the targets, in order
		pass   bool  // whether they all pass
	}{
		{[]string{PhaseIsolation}, []int{11, 11, 11}, true},
		{[]string{PhaseRaw, PhaseAccept}, nil, true},
		{[]string{PhaseEmpty}, []int{6, 6, 6, 6}, false}, // the history target needs the history round
		{[]string{PhaseHistory}, []int{6, 6, 6, 6}, false},
		{PhaseNames, []int{6, 6, 6, 6, 11, 11, 11}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.phases, ","), func(t *testing.T) {
			r := sampleResult()
			r.Config.Phases = tt.phases
			r.Evaluate()
			var issues []int
			pass := true
			for _, tg := range r.Targets {
				issues = append(issues, tg.Issue)
				pass = pass && tg.Pass
			}
			if !slices.Equal(issues, tt.issues) || pass != tt.pass {
				t.Fatalf("issues %v pass %v, want %v %v: %+v", issues, pass, tt.issues, tt.pass, r.Targets)
			}
		})
	}
}

func TestResultJSON(t *testing.T) {
	r := sampleResult()
	r.Evaluate()
	b, err := r.JSON()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.ContainsRune(b, '\n') {
		t.Fatal("the result line must be one line")
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"time", "machine", "config", "raw_ceiling", "accept_http", "accept_grpc", "empty",
		"history", "history_ratio", "e2e_over_raw_ratio", "duplicate_deliveries", "targets", "isolation"} {
		if _, ok := back[key]; !ok {
			t.Errorf("key %q missing", key)
		}
	}
	sus := back["empty"].(map[string]any)["sustained"].(map[string]any)
	for _, key := range []string{"delivered_per_s", "latency", "cpu", "services_cpu_us_per_event"} {
		if _, ok := sus[key]; !ok {
			t.Errorf("empty.sustained.%s missing", key)
		}
	}
	iso := back["isolation"].(map[string]any)
	for _, key := range []string{"slow_attempts_due", "fixed_with_slow", "sustained_alone", "sustained_with_slow",
		"saturation_ratio", "slow_at_end"} {
		if _, ok := iso[key]; !ok {
			t.Errorf("isolation.%s missing", key)
		}
	}
	if tg := back["targets"].([]any)[4].(map[string]any); tg["issue"] != 11.0 {
		t.Errorf("isolation target: %v", tg)
	}
	var again Result
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if again.Empty.Sustained.Latency != r.Empty.Sustained.Latency || again.Targets[0] != r.Targets[0] ||
		again.Isolation.Fixed.Latency != r.Isolation.Fixed.Latency || again.Isolation.SlowAtEnd != r.Isolation.SlowAtEnd {
		t.Fatalf("round trip changed the result: %+v", again)
	}
}

func TestWriteFile(t *testing.T) {
	r := sampleResult()
	dir := filepath.Join(t.TempDir(), "bench-results")
	path, err := r.WriteFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "20260102T030405Z.json" {
		t.Fatalf("path %s", path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Machine != r.Machine {
		t.Fatalf("machine %+v", back.Machine)
	}
}

func TestWriteTable(t *testing.T) {
	r := sampleResult()
	r.Evaluate()
	r.Targets[2].Pass = false
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"Test CPU", "18,000", "2,500", "[PASS] sustained end-to-end deliveries", "[FAIL] throughput with",
		"api-gateway", devstackLabel, "0.92", "ISOLATION: 10 endpoints hang 20 s", "3,000 / 30,000", "1,200 / 1,200",
		"4.000 / 9.000 / 15.0", "hang/alone", "0.85", "TARGETS (issue 11)",
		"[PASS] isolation: healthy endpoint's p99 send->delivery at 20/s while 10 endpoints hang <= 2000 ms: measured 15.0"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestWriteTableOnlyIsolation(t *testing.T) {
	r := sampleResult()
	r.Config.Phases = []string{PhaseIsolation}
	r.Isolation.Fixed.Delivered, r.Isolation.Fixed.Undelivered, r.Isolation.Fixed.Latency = 0, 1200, Latency{}
	r.Evaluate()
	var b strings.Builder
	if err := r.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"ISOLATION", "1,200 / 0", "(nothing was delivered)",
		"[FAIL] isolation: healthy endpoint's events delivered at 20/s while 10 endpoints hang = 1,200 sent events: measured 0 ("} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, gone := range []string{"ACCEPT", "END TO END", "TARGETS (issue 6)"} {
		if strings.Contains(out, gone) {
			t.Errorf("table shows %q for a phase that did not run:\n%s", gone, out)
		}
	}
}

func TestCommas(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := commas(n); got != want {
			t.Errorf("commas(%d) = %q, want %q", n, got, want)
		}
	}
}
