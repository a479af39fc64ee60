package devstack_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"convoy/deploy/internal/devstack"
)

// TestMain doubles as the fake service: the test links this binary under the services' names
// into a bin dir, and the dev stack starts it from there.
func TestMain(m *testing.M) {
	if name := filepath.Base(os.Args[0]); slices.Contains(devstack.Services, name) {
		os.Exit(fakeService(name))
	}
	os.Exit(m.Run())
}

// fakeService connects to the stores the dev stack hands it, records itself in MongoDB, checks
// that JetStream answers, reports what it was given, and waits for SIGTERM.
func fakeService(name string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fail := func(what string, err error) int {
		fmt.Printf("fake %s: %s: %v\n", name, what, err)
		return 1
	}
	startCtx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()

	mc, err := mongo.Connect(options.Client().ApplyURI(os.Getenv("MONGODB_URI")))
	if err != nil {
		return fail("connect mongo", err)
	}
	defer mc.Disconnect(context.Background())
	doc := bson.D{{Key: "_id", Value: fmt.Sprintf("%s-%d", name, os.Getpid())}, {Key: "service", Value: name}}
	if _, err := mc.Database("devstack_test").Collection("starts").InsertOne(startCtx, doc); err != nil {
		return fail("insert", err)
	}

	nc, err := nats.Connect(os.Getenv("NATS_URL"))
	if err != nil {
		return fail("connect nats", err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return fail("jetstream", err)
	}
	if _, err := js.AccountInfo(startCtx); err != nil {
		return fail("jetstream account info", err)
	}

	fmt.Printf("fake %s ready pid=%d key=%s log_format=%s cidrs=%q\n", name, os.Getpid(),
		os.Getenv("CONVOY_ADMIN_API_KEY"), os.Getenv("CONVOY_LOG_FORMAT"), os.Getenv("CONVOY_DISPATCH_ALLOW_CIDRS"))
	<-ctx.Done()
	fmt.Printf("fake %s stopping\n", name)
	return 0
}

// buildDevstack builds the real command, so that the test covers main's signal handling too.
func buildDevstack(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "devstack")
	out, err := exec.Command(gobin, "build", "-o", bin, "convoy/deploy/cmd/devstack").CombinedOutput()
	if err != nil {
		t.Fatalf("build devstack: %v\n%s", err, out)
	}
	return bin
}

// fakeBinDir links the test binary under each service name.
func fakeBinDir(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range devstack.Services {
		if err := os.Symlink(exe, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// stack is a running dev stack process whose output the test reads line by line.
type stack struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  []string
	done chan struct{}
}

func startStack(t *testing.T, bin string, env ...string) *stack {
	t.Helper()
	base := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "CONVOY_") || strings.HasPrefix(kv, "MONGODB_URI=") ||
			strings.HasPrefix(kv, "NATS_URL=")
	})
	cmd := exec.Command(bin)
	cmd.Env = append(base, env...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &stack{cmd: cmd, done: make(chan struct{})}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			s.mu.Lock()
			s.out = append(s.out, sc.Text())
			s.mu.Unlock()
		}
		_ = cmd.Wait()
		close(s.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-s.done
		if t.Failed() {
			t.Logf("dev stack output:\n%s", s.output())
		}
	})
	return s
}

func (s *stack) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.out, "\n")
}

// waitLine waits for an output line matching re and returns its submatches.
func (s *stack) waitLine(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, line := range s.out {
			if m := rx.FindStringSubmatch(line); m != nil {
				s.mu.Unlock()
				return m
			}
		}
		s.mu.Unlock()
		select {
		case <-s.done:
			t.Fatalf("dev stack exited before printing a line matching %q", re)
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no output line matching %q", re)
	return nil
}

// waitExit waits for the process and returns its exit code.
func (s *stack) waitExit(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-s.done:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		t.Fatalf("dev stack still running after %s", timeout)
		return -1
	}
}

// alive reports whether pid is a live process (a zombie counts as dead).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	rest := string(b[strings.LastIndexByte(string(b), ')')+1:])
	return !strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

func waitDead(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d is still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestDevstack(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("uses /proc and the parent-death signal")
	}
	bin := buildDevstack(t)
	binDir, dataDir := fakeBinDir(t), t.TempDir()
	env := []string{
		"CONVOY_DATA_DIR=" + dataDir,
		"CONVOY_BIN_DIR=" + binDir,
		"CONVOY_EMBEDDED_MONGO_ADDR=127.0.0.1:0",
		"CONVOY_EMBEDDED_NATS_ADDR=127.0.0.1:0",
		"CONVOY_SHUTDOWN_TIMEOUT=10s",
	}
	ctx := t.Context()
	const readyLine = `^%-18s \| fake %[1]s ready pid=(\d+) key=(\S+) log_format=(\S+) cidrs="(.*)"$`

	// First start: embedded servers, a generated key, two services; then SIGTERM.
	s := startStack(t, bin, append(env, "CONVOY_DEVSTACK_SERVICES=api-gateway,dispatcher-service")...)
	gw := s.waitLine(t, fmt.Sprintf(readyLine, "api-gateway"))
	disp := s.waitLine(t, fmt.Sprintf(readyLine, "dispatcher-service"))
	key := s.waitLine(t, `^devstack +\| admin API key: (convoy_admin_\S+)  \(set CONVOY_ADMIN_API_KEY to choose your own\)$`)[1]
	mongoURI := s.waitLine(t, `^devstack +\|   MongoDB +(mongodb://\S+)  \(embedded FerretDB\)$`)[1]
	natsURL := s.waitLine(t, `^devstack +\|   NATS +(nats://\S+)  \(embedded, JetStream\)$`)[1]
	s.waitLine(t, `^devstack +\|   gateway +http://localhost:5005$`)

	saved, err := os.ReadFile(filepath.Join(dataDir, "admin-api-key"))
	if err != nil || strings.TrimSpace(string(saved)) != key {
		t.Fatalf("saved key %q (%v), printed %q", saved, err, key)
	}
	if fi, _ := os.Stat(filepath.Join(dataDir, "admin-api-key")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if gw[2] != key || disp[2] != key {
		t.Fatalf("services got keys %q and %q, want %q", gw[2], disp[2], key)
	}
	if gw[3] != "console" || gw[4] != "" || disp[4] != "127.0.0.0/8,::1/128" {
		t.Fatalf("service env: gateway log_format=%q cidrs=%q, dispatcher cidrs=%q", gw[3], gw[4], disp[4])
	}

	// The embedded servers answer, and hold what the services wrote.
	mc, err := mongo.Connect(options.Client().ApplyURI(mongoURI))
	if err != nil {
		t.Fatal(err)
	}
	starts := mc.Database("devstack_test").Collection("starts")
	if n, err := starts.CountDocuments(ctx, bson.D{}); err != nil || n != 2 {
		t.Fatalf("documents written by the services: %d, %v", n, err)
	}
	_ = mc.Disconnect(ctx)
	nc, err := nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "KEEP", Subjects: []string{"keep"}}); err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if _, err := js.Publish(ctx, "keep", []byte("x")); err != nil {
		t.Fatalf("publish: %v", err)
	}
	nc.Close()

	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := s.waitExit(t, 20*time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0", code)
	}
	s.waitLine(t, `^api-gateway +\| fake api-gateway stopping$`)
	s.waitLine(t, `^dispatcher-service +\| fake dispatcher-service stopping$`)
	s.waitLine(t, `embedded FerretDB stopped`)
	s.waitLine(t, `embedded NATS stopped`)
	for _, m := range [][]string{gw, disp} {
		var pid int
		fmt.Sscan(m[1], &pid)
		if alive(pid) {
			t.Errorf("service pid %d survived the dev stack", pid)
		}
	}

	// Second start on the same data dir: same key, data kept. Then SIGKILL: the service dies too.
	s2 := startStack(t, bin, append(env, "CONVOY_DEVSTACK_SERVICES=ingest-service")...)
	ing := s2.waitLine(t, fmt.Sprintf(readyLine, "ingest-service"))
	if ing[2] != key {
		t.Fatalf("after restart the key is %q, want %q", ing[2], key)
	}
	mongoURI = s2.waitLine(t, `^devstack +\|   MongoDB +(mongodb://\S+)`)[1]
	natsURL = s2.waitLine(t, `^devstack +\|   NATS +(nats://\S+)`)[1]
	mc, err = mongo.Connect(options.Client().ApplyURI(mongoURI))
	if err != nil {
		t.Fatal(err)
	}
	defer mc.Disconnect(context.Background())
	if n, err := mc.Database("devstack_test").Collection("starts").CountDocuments(ctx, bson.D{}); err != nil || n != 3 {
		t.Fatalf("documents after restart: %d, %v; want 2 kept + 1 new", n, err)
	}
	nc, err = nats.Connect(natsURL)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ = jetstream.New(nc)
	if st, err := js.Stream(ctx, "KEEP"); err != nil || st.CachedInfo().State.Msgs != 1 {
		t.Fatalf("stream after restart: %v", err)
	}

	var pid int
	fmt.Sscan(ing[1], &pid)
	if err := s2.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s2.waitExit(t, 10*time.Second)
	waitDead(t, pid)
}
