package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Reconciliation follows every load. The scheduler checks each accepted
// event once it is older than the grace period (CONVOY_RECONCILE_GRACE, two
// minutes by default): that its planned deliveries are stored, or still
// queued. For that long after a load stops, the stack still works through
// the load's events, work that follows what was accepted, not what is
// stored. The idle figure after history is measured once that is done, and
// Catchup says what it cost.
type Catchup struct {
	// Events the reconciler examined while the bench waited.
	Events int64 `json:"events"`
	// WaitS is from the end of the load until every stored event had been
	// examined.
	WaitS float64 `json:"wait_s"`
	// SchedulerCPUS is the scheduler's CPU over the wait (reconciliation
	// reads the store's rows in that process), and PerKEvents the same per
	// 1,000 events examined.
	SchedulerCPUS float64 `json:"scheduler_cpu_s"`
	PerKEvents    float64 `json:"scheduler_cpu_s_per_1k_events"`
	Error         string  `json:"error,omitempty"`
}

// catchupTimeout bounds the wait: the default grace and a margin.
const catchupTimeout = 4 * time.Minute

// catchupReserve is what the wait may take out of the budget.
func catchupReserve(c Config) time.Duration {
	if !c.Runs(PhaseHistory) {
		return 0
	}
	return 2*time.Minute + 30*time.Second
}

// catchup waits until the scheduler's reconciliation has examined as many
// events as are stored and reports no lag, reading its metrics.
func (r *runner) catchup(ctx context.Context, stored int64) Catchup {
	var out Catchup
	pids, err := r.st.processes()
	if err != nil {
		out.Error = err.Error()
		return out
	}
	ports, err := listeningPorts(pids["scheduler-service"])
	if err != nil {
		out.Error = err.Error()
		return out
	}
	began := time.Now()
	start := r.st.sampleCPU(r.clk)
	first, _, err := reconcileProgress(ctx, ports)
	if err != nil {
		out.Error = err.Error()
		return out
	}
	r.log.Info("waiting for reconciliation to examine every event", zap.Int64("stored_events", stored))
	for {
		examined, lag, err := reconcileProgress(ctx, ports)
		if err == nil && examined >= float64(stored) && lag == 0 {
			out.Events = int64(examined - first)
			break
		}
		if time.Since(began) > catchupTimeout || ctx.Err() != nil {
			out.Events = int64(examined - first)
			out.Error = fmt.Sprintf("reconciliation had examined %.0f of %d events after %s (lag %.0f s, %v)", examined, stored, catchupTimeout, lag, err)
			break
		}
		select {
		case <-ctx.Done():
		case <-time.After(2 * time.Second):
		}
	}
	end := r.st.sampleCPU(r.clk)
	out.WaitS = round(time.Since(began).Seconds(), 1)
	for _, p := range CPUDelta([]string{"scheduler-service"}, start, end, r.clkTck, 0) {
		out.SchedulerCPUS = round(p.Seconds, 2)
	}
	if out.Events > 0 {
		out.PerKEvents = round(out.SchedulerCPUS*1000/float64(out.Events), 3)
	}
	r.log.Info("reconciliation caught up", zap.Int64("events", out.Events), zap.Float64("wait_s", out.WaitS),
		zap.Float64("scheduler_cpu_s", out.SchedulerCPUS), zap.String("error", out.Error))
	return out
}

// reconcileProgress reads the reconciler's examined-events counter and lag
// from whichever of ports serves the scheduler's metrics.
func reconcileProgress(ctx context.Context, ports []int) (examined, lag float64, err error) {
	for _, port := range ports {
		examined, lag, found, err := readReconcileMetrics(ctx, fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
		if err == nil && found {
			return examined, lag, nil
		}
	}
	return 0, 0, fmt.Errorf("no reconciliation metrics on the scheduler's ports %v", ports)
}

func readReconcileMetrics(ctx context.Context, url string) (examined, lag float64, found bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, 0, false, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, false, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		switch name {
		case "convoy_reconcile_examined_events_total":
			examined, err = strconv.ParseFloat(value, 64)
			found = err == nil
		case "convoy_reconcile_lag_seconds":
			lag, _ = strconv.ParseFloat(value, 64)
		}
	}
	return examined, lag, found, sc.Err()
}

// listeningPorts returns the TCP ports process pid listens on: its socket
// inodes (what its file descriptors point to) found among the listening
// sockets of the kernel's tables.
func listeningPorts(pid int) ([]int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list the scheduler's sockets: %w", err)
	}
	inodes := map[string]bool{}
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join(dir, fd.Name()))
		if inode, ok := strings.CutPrefix(target, "socket:["); ok && err == nil {
			inodes[strings.TrimSuffix(inode, "]")] = true
		}
	}
	var ports []int
	for _, table := range []string{"tcp", "tcp6"} {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/%s", pid, table))
		if err != nil {
			continue
		}
		ports = append(ports, parseListening(string(b), inodes)...)
	}
	if len(ports) == 0 {
		return nil, fmt.Errorf("the scheduler (pid %d) listens on no TCP port", pid)
	}
	return ports, nil
}

// parseListening reads a /proc/net/tcp table: the local ports of the
// sockets in state LISTEN (0A) whose inode is one of inodes.
func parseListening(table string, inodes map[string]bool) []int {
	var ports []int
	for line := range strings.Lines(table) {
		f := strings.Fields(line)
		if len(f) < 10 || f[3] != "0A" || !inodes[f[9]] {
			continue
		}
		_, hexPort, _ := strings.Cut(f[1], ":")
		if port, err := strconv.ParseUint(hexPort, 16, 16); err == nil {
			ports = append(ports, int(port))
		}
	}
	return ports
}
