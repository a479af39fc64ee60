package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"go.uber.org/zap"
)

// services are the four Convoy services the devstack runs as its children.
var services = []string{"api-gateway", "ingest-service", "dispatcher-service", "scheduler-service"}

// devstackLabel names the devstack process in CPU figures: it hosts the embedded NATS and
// FerretDB, whose costs /proc cannot tell apart.
const devstackLabel = "devstack (NATS+FerretDB)"

// benchLabel names this process: the load generator and the receiver.
const benchLabel = "bench (load+receiver)"

// stack is a running bin/devstack on a fresh data folder and free ports.
type stack struct {
	log      *zap.Logger
	cmd      *exec.Cmd
	exited   chan struct{}
	exitErr  error
	dir      string // the temp folder: data/ and devstack.log
	logPath  string
	gateway  string // http://127.0.0.1:port
	grpcAddr string // 127.0.0.1:port
	adminKey string
}

// freeAddr returns a loopback address whose port was free a moment ago. The devstack takes
// port 0 for its embedded servers itself; the gateway and ingest addresses must be known in
// advance because the gateway is told where ingest is.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startStack starts binDir/devstack under dir, with extra in its environment, and waits until
// the gateway reports ingest as serving.
func startStack(ctx context.Context, binDir, dir string, log *zap.Logger, extra map[string]string) (*stack, error) {
	exe := filepath.Join(binDir, "devstack")
	if _, err := os.Stat(exe); err != nil {
		return nil, fmt.Errorf("devstack binary: %w (run `make build`)", err)
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	grpcAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	s := &stack{
		log: log, dir: dir, logPath: filepath.Join(dir, "devstack.log"), exited: make(chan struct{}),
		gateway: "http://" + httpAddr, grpcAddr: grpcAddr, adminKey: "bench_" + hex.EncodeToString(key),
	}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	s.cmd = exec.Command(exe)
	set := map[string]string{
		"CONVOY_DATA_DIR":            filepath.Join(dir, "data"),
		"CONVOY_EMBEDDED_MONGO_ADDR": "127.0.0.1:0",
		"CONVOY_EMBEDDED_NATS_ADDR":  "127.0.0.1:0",
		"CONVOY_HTTP_ADDR":           httpAddr,
		"CONVOY_GRPC_ADDR":           grpcAddr,
		"CONVOY_INGEST_ADDR":         grpcAddr,
		// Every child gets the same environment; port 0 gives each service its own free ops
		// port instead of a collision on one fixed address.
		"CONVOY_OPS_ADDR":         "127.0.0.1:0",
		"CONVOY_ADMIN_API_KEY":    s.adminKey,
		"CONVOY_LOG_LEVEL":        "warn",
		"CONVOY_SHUTDOWN_TIMEOUT": "10s",
	}
	for k, v := range extra {
		set[k] = v
	}
	s.cmd.Env = stackEnv(os.Environ(), set)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	// Own process group: a Ctrl-C reaches only the bench, which then stops the stack in order.
	// If the bench dies, the kernel sends the devstack SIGTERM and it stops its services.
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start devstack: %w", err)
	}
	go func() {
		s.exitErr = s.cmd.Wait()
		logFile.Close()
		close(s.exited)
	}()
	log.Info("devstack started", zap.Int("pid", s.cmd.Process.Pid), zap.String("dir", dir),
		zap.String("gateway", s.gateway), zap.String("grpc", grpcAddr))

	if err := s.waitReady(ctx, 90*time.Second); err != nil {
		s.stop(15 * time.Second)
		return nil, err
	}
	return s, nil
}

// stackEnv is base without the variables that would point the devstack at other servers or
// other services, plus set.
func stackEnv(base []string, set map[string]string) []string {
	drop := []string{"MONGODB_URI", "NATS_URL", "CONVOY_DEVSTACK_SERVICES", "CONVOY_BIN_DIR"}
	for k := range set {
		drop = append(drop, k)
	}
	env := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(drop, k)
	})
	for k, v := range set {
		env = append(env, k+"="+v)
	}
	slices.Sort(env)
	return env
}

func (s *stack) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("devstack exited during start (%v):\n%s", s.exitErr, s.logTail(30))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := http.Get(s.gateway + "/health")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("gateway /health not 200 after %s:\n%s", timeout, s.logTail(30))
}

// stop sends the devstack SIGTERM (it stops its services the same way) and waits; after
// timeout it kills the process group.
func (s *stack) stop(timeout time.Duration) error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
		return nil
	case <-time.After(timeout):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.exited
		return fmt.Errorf("devstack did not stop within %s after SIGTERM; killed", timeout)
	}
}

// logTail returns the last n lines the devstack and its services wrote.
func (s *stack) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// processes returns the pids of the devstack and of each service (found as its children by
// name), by label.
func (s *stack) processes() (map[string]int, error) {
	pid := s.cmd.Process.Pid
	kids, err := children(pid)
	if err != nil {
		return nil, err
	}
	out := map[string]int{devstackLabel: pid}
	var missing []string
	for _, name := range services {
		st, ok := kids[commOf(name)]
		if !ok {
			missing = append(missing, name)
			continue
		}
		out[name] = st.PID
	}
	if len(missing) > 0 {
		return out, fmt.Errorf("services not running under devstack pid %d: %s", pid, strings.Join(missing, ", "))
	}
	return out, nil
}

// sampleCPU reads the CPU time of the devstack, its services and this process.
func (s *stack) sampleCPU(clk clock) CPUSample {
	pids, err := s.processes()
	if err != nil {
		s.log.Warn("cpu sample incomplete", zap.Error(err))
	}
	pids[benchLabel] = os.Getpid()
	smp := CPUSample{At: clk.now(), Ticks: map[string]uint64{}, PIDs: map[string]int{}, MachineBusy: readMachineBusy()}
	for label, pid := range pids {
		st, err := ReadProcStat(pid)
		if err != nil {
			continue
		}
		smp.Ticks[label], smp.PIDs[label] = st.Ticks(), pid
	}
	return smp
}

// cpuLabels is the order processes appear in the results.
var cpuLabels = append(slices.Clone(services), devstackLabel, benchLabel)

// api is a small client of the gateway's HTTP API for setting up the bench's resources.
type api struct {
	base, key string
	client    *http.Client
}

// create posts body to path and returns data.uid of the 201 answer.
func (a api) create(ctx context.Context, path string, body any) (string, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return "", err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+path, bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+a.key)
	resp, err := a.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("POST %s: %w", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env struct {
		Message string `json:"message"`
		Data    struct {
			UID string `json:"uid"`
		} `json:"data"`
	}
	_ = json.Unmarshal(raw, &env)
	if resp.StatusCode != http.StatusCreated || env.Data.UID == "" {
		return "", fmt.Errorf("POST %s: status %d: %.300s", path, resp.StatusCode, raw)
	}
	return env.Data.UID, nil
}

// resources are what the bench posts events to.
type resources struct {
	groupID, appID, endpointID string
}

// benchGroup is the body creating one of the bench's groups.
func benchGroup(name string) map[string]any {
	return map[string]any{
		"name": name,
		"config": map[string]any{
			"strategy":  map[string]any{"type": "default", "duration": 10, "retry_count": 3},
			"signature": map[string]any{"header": "X-Convoy-Signature", "hash": "SHA256", "format": "simple"},
		},
	}
}

// setup creates a group, an application and one endpoint pointing at the receiver, with a
// rate limit high enough never to throttle the bench.
func (a api) setup(ctx context.Context, receiverURL string) (resources, error) {
	var r resources
	var err error
	r.groupID, err = a.create(ctx, "/api/v1/groups", benchGroup("bench"))
	if err != nil {
		return r, err
	}
	r.appID, err = a.create(ctx, "/api/v1/groups/"+r.groupID+"/applications", map[string]any{"name": "bench-app"})
	if err != nil {
		return r, err
	}
	r.endpointID, err = a.create(ctx, "/api/v1/groups/"+r.groupID+"/applications/"+r.appID+"/endpoints",
		map[string]any{"url": receiverURL, "rate_limit": 1_000_000, "rate_limit_duration": "1s"})
	if err != nil {
		return r, err
	}
	if r.groupID == "" || r.appID == "" || r.endpointID == "" {
		return r, errors.New("setup: empty uid in an answer")
	}
	return r, nil
}
