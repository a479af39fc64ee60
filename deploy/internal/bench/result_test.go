package bench

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sampleResult is a result whose figures meet every target.
func sampleResult() *Result {
	cpu := []ProcCPU{{Process: "api-gateway", Seconds: 1, PerKEvents: 0.01, Utilization: 0.1}}
	return &Result{
		Time:       "2026-01-02T03:04:05Z",
		Machine:    Machine{NProc: 2, CPUModel: "Test CPU", GoVersion: "go1.26.8"},
		Config:     Settings{Producers: 32, SustainedS: 60, FixedS: 30, FixedRate: 500, History: 100_000, MaxBacklog: 2000},
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
	}
}

func TestEvaluateAllPass(t *testing.T) {
	r := sampleResult()
	r.Evaluate()
	if len(r.Targets) != 4 {
		t.Fatalf("targets: %+v", r.Targets)
	}
	for _, tg := range r.Targets {
		if !tg.Pass {
			t.Errorf("%s: fail (%v %s, %s)", tg.Name, tg.Value, tg.Unit, tg.Note)
		}
	}
}

func TestEvaluateFailures(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Result)
		target int // index of the target that must fail
	}{
		{"slow", func(r *Result) { r.Empty.Sustained.DeliveredPerSec = 1999 }, 0},
		{"short window", func(r *Result) { r.Config.SustainedS = 10 }, 0},
		{"lost events", func(r *Result) { r.Empty.Sustained.Undelivered = 1 }, 0},
		{"p99 too high", func(r *Result) { r.Empty.Fixed.Latency.P99ms = 100.5 }, 1},
		{"no latency at all", func(r *Result) { r.Empty.Fixed.Latency = Latency{} }, 1},
		{"fixed lost events", func(r *Result) { r.Empty.Fixed.Undelivered = 3 }, 1},
		{"history slows down", func(r *Result) { r.HistoryRatio = 0.79 }, 2},
		{"history too small", func(r *Result) { r.History.StoredBefore = 99_999 }, 2},
		{"too much CPU", func(r *Result) { r.Empty.Sustained.ServicesCPUPerEventUs = 301 }, 3},
		{"nothing delivered", func(r *Result) { r.Empty.Sustained.Delivered = 0; r.Empty.Sustained.ServicesCPUPerEventUs = 0 }, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := sampleResult()
			tt.change(r)
			r.Evaluate()
			for i, tg := range r.Targets {
				if want := i != tt.target; tg.Pass != want {
					t.Errorf("target %d (%s): pass=%v, want %v", i, tg.Name, tg.Pass, want)
				}
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
		"history", "history_ratio", "e2e_over_raw_ratio", "duplicate_deliveries", "targets"} {
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
	var again Result
	if err := json.Unmarshal(b, &again); err != nil {
		t.Fatal(err)
	}
	if again.Empty.Sustained.Latency != r.Empty.Sustained.Latency || again.Targets[0] != r.Targets[0] {
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
		"api-gateway", devstackLabel, "0.92"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
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
