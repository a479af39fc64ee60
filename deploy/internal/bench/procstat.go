package bench

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ProcStat is what the bench reads from /proc/<pid>/stat.
type ProcStat struct {
	PID  int
	Comm string // at most 15 bytes: the kernel truncates it
	PPID int
	// UTime and STime are CPU time in user and kernel mode, in clock ticks.
	UTime, STime uint64
}

// Ticks is the process's CPU time in clock ticks.
func (s ProcStat) Ticks() uint64 { return s.UTime + s.STime }

// ParseProcStat parses the content of /proc/<pid>/stat. The command name is in parentheses and
// may itself contain spaces and parentheses, so the fields are counted from the last ')'.
func ParseProcStat(b []byte) (ProcStat, error) {
	open, closing := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return ProcStat{}, errors.New("proc stat: no (comm)")
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b[:open])))
	if err != nil {
		return ProcStat{}, fmt.Errorf("proc stat: pid: %w", err)
	}
	// After the comm: state(3) ppid(4) pgrp session tty_nr tpgid flags minflt cminflt majflt
	// cmajflt utime(14) stime(15) …; rest[0] is field 3.
	rest := strings.Fields(string(b[closing+1:]))
	if len(rest) < 13 {
		return ProcStat{}, fmt.Errorf("proc stat: %d fields after comm, want at least 13", len(rest))
	}
	s := ProcStat{PID: pid, Comm: string(b[open+1 : closing])}
	if s.PPID, err = strconv.Atoi(rest[1]); err != nil {
		return ProcStat{}, fmt.Errorf("proc stat: ppid: %w", err)
	}
	if s.UTime, err = strconv.ParseUint(rest[11], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("proc stat: utime: %w", err)
	}
	if s.STime, err = strconv.ParseUint(rest[12], 10, 64); err != nil {
		return ProcStat{}, fmt.Errorf("proc stat: stime: %w", err)
	}
	return s, nil
}

// ReadProcStat reads /proc/<pid>/stat.
func ReadProcStat(pid int) (ProcStat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return ProcStat{}, err
	}
	return ParseProcStat(b)
}

// children returns the live processes whose parent is ppid, by comm.
func children(ppid int) (map[string]ProcStat, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	out := map[string]ProcStat{}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // exited since the glob
		}
		s, err := ParseProcStat(b)
		if err != nil || s.PPID != ppid {
			continue
		}
		out[s.Comm] = s
	}
	return out, nil
}

// commOf is the name the kernel shows for an executable: truncated to 15 bytes.
func commOf(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}

// ClockTicks returns the kernel's clock ticks per second (USER_HZ) from `getconf CLK_TCK`.
// If getconf is missing it assumes 100, which is what Linux reports to user space on every
// mainstream architecture regardless of the kernel's internal HZ.
func ClockTicks() (float64, bool) {
	out, err := exec.Command("getconf", "CLK_TCK").Output()
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil && n > 0 {
			return float64(n), true
		}
	}
	return 100, false
}

// CPUSample is the CPU time of the measured processes at one instant.
type CPUSample struct {
	At    time.Duration     // on the bench clock
	Ticks map[string]uint64 // by process label
	PIDs  map[string]int    // by process label, to notice a restart between samples
	// MachineBusy is the whole machine's non-idle CPU time in clock ticks (all CPUs), so that
	// load from processes outside the bench is visible.
	MachineBusy uint64
}

// ParseMachineBusy returns the non-idle CPU time, in clock ticks summed over all CPUs, from
// the aggregate "cpu" line of /proc/stat: user nice system idle iowait irq softirq steal …
// Idle and iowait are not busy; guest time is already counted in user and nice.
func ParseMachineBusy(procStat []byte) (uint64, error) {
	line, _, _ := bytes.Cut(procStat, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("/proc/stat: first line %q is not the cpu total", line)
	}
	var busy uint64
	for i, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("/proc/stat: field %d: %w", i+1, err)
		}
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy, nil
}

// readMachineBusy reads ParseMachineBusy from /proc/stat; 0 if it cannot.
func readMachineBusy() uint64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	n, _ := ParseMachineBusy(b)
	return n
}

// MachineCPU is how busy the whole machine was over a phase, in cores.
type MachineCPU struct {
	BusyCores float64 `json:"busy_cores"`
	// OtherCores is what processes outside the stack and the bench used: other work on the
	// machine that distorts the figures.
	OtherCores float64 `json:"other_cores"`
}

// MachineDelta is the machine's use between two samples, given the measured processes' use.
func MachineDelta(start, end CPUSample, clk float64, measured []ProcCPU) MachineCPU {
	wall := (end.At - start.At).Seconds()
	if wall <= 0 || end.MachineBusy < start.MachineBusy || start.MachineBusy == 0 {
		return MachineCPU{}
	}
	busy := float64(end.MachineBusy-start.MachineBusy) / clk / wall
	var ours float64
	for _, p := range measured {
		ours += p.Utilization
	}
	return MachineCPU{BusyCores: round(busy, 3), OtherCores: round(max(busy-ours, 0), 3)}
}

// ProcCPU is one process's CPU use over a phase.
type ProcCPU struct {
	Process string  `json:"process"`
	Seconds float64 `json:"cpu_s"`
	// PerKEvents is CPU seconds per 1,000 delivered events.
	PerKEvents float64 `json:"cpu_s_per_1k_events"`
	// Utilization is CPU seconds per wall-clock second (1.0 = one core busy).
	Utilization float64 `json:"cores"`
	// Restarted is set when the process's pid changed during the phase: its figure is then
	// meaningless.
	Restarted bool `json:"restarted,omitempty"`
}

// CPUDelta computes each process's CPU use between two samples for delivered events.
// Labels keep the order given.
func CPUDelta(labels []string, start, end CPUSample, clk float64, delivered int) []ProcCPU {
	wall := (end.At - start.At).Seconds()
	out := make([]ProcCPU, 0, len(labels))
	for _, l := range labels {
		s0, ok0 := start.Ticks[l]
		s1, ok1 := end.Ticks[l]
		p := ProcCPU{Process: l}
		if !ok0 || !ok1 || start.PIDs[l] != end.PIDs[l] || s1 < s0 {
			p.Restarted = true
			out = append(out, p)
			continue
		}
		sec := float64(s1-s0) / clk
		p.Seconds = round(sec, 3)
		if delivered > 0 {
			p.PerKEvents = round(sec*1000/float64(delivered), 4)
		}
		if wall > 0 {
			p.Utilization = round(sec/wall, 3)
		}
		out = append(out, p)
	}
	return out
}
