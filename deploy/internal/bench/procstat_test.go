package bench

import (
	"os"
	"testing"
	"time"
)

func TestParseProcStat(t *testing.T) {
	// A real line from /proc/<pid>/stat (52 fields), and variants with awkward command names.
	const tail = " S 1234 5678 5678 0 -1 4194560 14570 0 12 0 873 129 0 0 20 0 9 0 40123 1432352768 9000 " +
		"18446744073709551615 4194304 11245512 140726000000000 0 0 0 0 0 2143420159 0 0 0 17 1 0 0 0 0 0 " +
		"12000000 12300000 13000000 140726000001000 140726000001100 140726000001100 140726000002000 0\n"
	tests := []struct {
		name    string
		in      string
		want    ProcStat
		wantErr bool
	}{
		{"plain", "4321 (dispatcher-serv)" + tail, ProcStat{PID: 4321, Comm: "dispatcher-serv", PPID: 1234, UTime: 873, STime: 129}, false},
		{"spaces and parens in comm", "77 (a (b) c)" + tail, ProcStat{PID: 77, Comm: "a (b) c", PPID: 1234, UTime: 873, STime: 129}, false},
		{"empty comm", "8 ()" + tail, ProcStat{PID: 8, Comm: "", PPID: 1234, UTime: 873, STime: 129}, false},
		{"truncated", "9 (x) S 1 2 3", ProcStat{}, true},
		{"no comm", "9 x S 1 2 3 4 5 6 7 8 9 10 11 12 13", ProcStat{}, true},
		{"bad pid", "x9 (x)" + tail, ProcStat{}, true},
		{"bad utime", "9 (x) S 1 2 3 4 5 6 7 8 9 10 11 -12 13 14", ProcStat{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseProcStat([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got := (ProcStat{UTime: 3, STime: 4}).Ticks(); got != 7 {
		t.Fatalf("Ticks = %d", got)
	}
}

func TestReadProcStatSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	s, err := ReadProcStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != os.Getpid() || s.PPID != os.Getppid() {
		t.Fatalf("got %+v, want pid %d ppid %d", s, os.Getpid(), os.Getppid())
	}
}

func TestCommOf(t *testing.T) {
	for name, want := range map[string]string{
		"api-gateway": "api-gateway", "dispatcher-service": "dispatcher-serv", "scheduler-service": "scheduler-servi",
	} {
		if got := commOf(name); got != want {
			t.Errorf("commOf(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestCPUDelta(t *testing.T) {
	start := CPUSample{At: 10 * time.Second,
		Ticks: map[string]uint64{"a": 100, "b": 50, "c": 10},
		PIDs:  map[string]int{"a": 1, "b": 2, "c": 3}}
	end := CPUSample{At: 20 * time.Second,
		Ticks: map[string]uint64{"a": 600, "b": 70, "c": 5},
		PIDs:  map[string]int{"a": 1, "b": 9, "c": 3}}
	got := CPUDelta([]string{"a", "b", "c", "missing"}, start, end, 100, 2000)
	want := []ProcCPU{
		{Process: "a", Seconds: 5, PerKEvents: 2.5, Utilization: 0.5},
		{Process: "b", Restarted: true}, // pid changed
		{Process: "c", Restarted: true}, // counter went backwards: not the same process
		{Process: "missing", Restarted: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("[%d] got %+v, want %+v", i, got[i], want[i])
		}
	}
	if got := CPUDelta([]string{"a"}, start, end, 100, 0); got[0].PerKEvents != 0 || got[0].Seconds != 5 {
		t.Fatalf("no deliveries: %+v", got[0])
	}
}

func TestParseMachineBusy(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    uint64
		wantErr bool
	}{
		{"kernel 6", "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n", 161, false},
		{"older kernel, 8 fields", "cpu  100 5 50 1000 20 3 2 1\n", 161, false},
		{"per-cpu line first", "cpu0 1 2 3 4 5 6 7 8\n", 0, true},
		{"short", "cpu  1 2 3\n", 0, true},
		{"garbage", "cpu  1 2 x 4 5 6 7 8\n", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMachineBusy([]byte(tt.in))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Fatalf("got %d, %v; want %d, err %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestMachineDelta(t *testing.T) {
	start := CPUSample{At: 0, MachineBusy: 1000}
	end := CPUSample{At: 10 * time.Second, MachineBusy: 2500} // 15 s of CPU in 10 s: 1.5 cores
	got := MachineDelta(start, end, 100, []ProcCPU{{Utilization: 0.9}, {Utilization: 0.2}})
	if got != (MachineCPU{BusyCores: 1.5, OtherCores: 0.4}) {
		t.Fatalf("got %+v", got)
	}
	if got := MachineDelta(CPUSample{}, end, 100, nil); got != (MachineCPU{}) {
		t.Fatalf("unreadable start: %+v", got)
	}
}
