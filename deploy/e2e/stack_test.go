package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"convoy/core/embedded/embeddedtest"
	"convoy/core/freeport"
)

const adminKey = "e2e-admin-key-0123456789"

// encryptionKey is the key every stack seals the stored secrets with, unless
// a test passes CONVOY_ENCRYPTION_KEYS of its own (32 bytes, base64).
const encryptionKey = "e2e1:ZTJlLWVuY3J5cHRpb24ta2V5LTAxMjM0NTY3ODlhYmM="

var services = []string{"api-gateway", "ingest-service", "dispatcher-service", "scheduler-service"}

// tools are the other binaries the tests run: the convoy CLI.
var tools = []string{"convoy/cli/cmd/convoy"}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// binaries builds the four service binaries and the CLI once per test run.
func binaries(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "convoy-e2e-bin")
		if buildErr != nil {
			return
		}
		args := []string{"build", "-o", binDir + "/"}
		for _, s := range services {
			args = append(args, "convoy/"+s+"/cmd/"+s)
		}
		args = append(args, tools...)
		cmd := exec.Command("go", args...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// freeAddr is a loopback address for a service to bind, one that no other
// test or outgoing connection takes in the meantime.
func freeAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Addr()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// stack is the four real service binaries over embedded NATS and FerretDB.
type stack struct {
	t       *testing.T
	Gateway string // base URL
	Ingest  string // ingest-service's gRPC address
	procs   map[string]*exec.Cmd
	env     map[string][]string
	logs    map[string]*bytes.Buffer
	mu      sync.Mutex
}

// startStack starts every service; extra env applies to all of them.
func startStack(t *testing.T, extra ...string) *stack {
	t.Helper()
	mongoURI, natsURL := embeddedtest.ForTest(t)
	return startStackOn(t, mongoURI, natsURL, extra...)
}

// startStackOn starts every service against the given servers.
func startStackOn(t *testing.T, mongoURI, natsURL string, extra ...string) *stack {
	t.Helper()
	binaries(t)
	httpAddr, grpcAddr := freeAddr(t), freeAddr(t)
	common := []string{
		"MONGODB_URI=" + mongoURI, "NATS_URL=" + natsURL, "CONVOY_ADMIN_API_KEY=" + adminKey,
		"CONVOY_LOG_FORMAT=console", "CONVOY_LOG_LEVEL=info",
		"CONVOY_HTTP_ADDR=" + httpAddr, "CONVOY_INGEST_ADDR=" + grpcAddr, "CONVOY_GRPC_ADDR=" + grpcAddr,
		"CONVOY_DISPATCH_ALLOW_CIDRS=127.0.0.0/8,::1/128",
		"CONVOY_SWEEP_INTERVAL=1s", "CONVOY_SWEEP_GRACE=5s", "CONVOY_SHUTDOWN_TIMEOUT=5s",
		"CONVOY_ENCRYPTION_KEYS=" + encryptionKey, "CONVOY_ROTATION_INTERVAL=200ms",
		"PATH=" + os.Getenv("PATH"),
	}
	common = append(common, extra...)
	s := &stack{t: t, Gateway: "http://" + httpAddr, Ingest: grpcAddr, procs: map[string]*exec.Cmd{}, env: map[string][]string{}, logs: map[string]*bytes.Buffer{}}
	for _, name := range services {
		s.env[name] = append(append([]string{}, common...), "CONVOY_OPS_ADDR="+freeAddr(t))
		s.start(name)
	}
	t.Cleanup(func() {
		for name := range s.procs {
			s.stop(name, syscall.SIGTERM)
		}
		if t.Failed() {
			for name, buf := range s.logs {
				s.mu.Lock()
				t.Logf("---- %s log ----\n%s", name, lastLines(buf.String(), 60))
				s.mu.Unlock()
			}
		}
	})
	s.waitHealthy()
	return s
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(p)
}

func (s *stack) start(name string) {
	s.t.Helper()
	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = s.env[name]
	if s.logs[name] == nil {
		s.logs[name] = &bytes.Buffer{}
	}
	w := lockedWriter{&s.mu, s.logs[name]}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", name, err)
	}
	s.procs[name] = cmd
}

// stop signals a service and waits for it to exit.
func (s *stack) stop(name string, sig syscall.Signal) {
	cmd := s.procs[name]
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(sig)
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
	delete(s.procs, name)
}

// restart kills a service with sig and starts it again.
func (s *stack) restart(name string, sig syscall.Signal) {
	s.stop(name, sig)
	s.start(name)
}

func (s *stack) waitHealthy() {
	s.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(s.Gateway + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatal("gateway /health never answered 200")
}

// envelope is the API's response shape.
type envelope struct {
	Status  bool            `json:"status"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// call makes an API request with key and decodes data into out; it returns
// the HTTP status and the envelope.
func (s *stack) call(method, path, key string, body any, out any) (int, envelope) {
	s.t.Helper()
	var rd io.Reader
	if raw, ok := body.(rawBody); ok {
		rd = strings.NewReader(string(raw))
	} else if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.Gateway+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var env envelope
	if err := json.Unmarshal(raw, &env); err != nil {
		s.t.Fatalf("%s %s: status %d, body not an envelope: %s", method, path, resp.StatusCode, raw)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(env.Data, out); err != nil {
			s.t.Fatalf("%s %s: decode data: %v: %s", method, path, err, env.Data)
		}
	}
	return resp.StatusCode, env
}

// rawBody is a request body sent exactly as written.
type rawBody string

// must is call that fails the test unless the status is want.
func (s *stack) must(want int, method, path string, body any, out any) envelope {
	s.t.Helper()
	code, env := s.call(method, path, adminKey, body, out)
	if code != want {
		s.t.Fatalf("%s %s: status %d (%s), want %d", method, path, code, env.Message, want)
	}
	return env
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("timed out after %v waiting for %s", timeout, what)
}
