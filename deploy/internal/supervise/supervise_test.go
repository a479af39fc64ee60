package supervise

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// childEnv makes the test binary act as a child process instead of running tests.
const childEnv = "SUPERVISE_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// child is the program the supervised test processes run.
func child(mode string) int {
	term := make(chan os.Signal, 1)
	switch mode {
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
	default:
		signal.Notify(term, syscall.SIGTERM)
	}
	if f := os.Getenv("CHILD_STARTS_FILE"); f != "" {
		fh, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err == nil {
			fmt.Fprintf(fh, "%d\n", os.Getpid())
			fh.Close()
		}
	}

	switch mode {
	case "print":
		for i := range 200 {
			fmt.Fprintf(os.Stdout, "out %d\n", i)
			fmt.Fprintf(os.Stderr, "err %d\n", i)
		}
		fmt.Fprint(os.Stdout, "partial")
		return 0
	case "crash":
		fmt.Println("crashing")
		return 3
	case "run-then-exit":
		time.Sleep(150 * time.Millisecond)
		return 1
	}
	fmt.Println("ready")
	select {
	case <-term:
		fmt.Println("got SIGTERM")
		return 0
	case <-time.After(time.Minute):
		return 2
	}
}

type harness struct {
	out  *syncBuffer
	logs *observer.ObservedLogs
	sup  *Supervisor
}

func newHarness(t *testing.T, opts Options) *harness {
	core, logs := observer.New(zapcore.DebugLevel)
	out := &syncBuffer{}
	return &harness{out: out, logs: logs, sup: New(NewOutput(out, 5), zap.New(core), opts)}
}

func childSpec(t *testing.T, name, mode string, extraEnv ...string) Spec {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), childEnv+"="+mode)
	return Spec{Name: name, Path: exe, Env: append(env, extraEnv...)}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOutputIsPrefixedPerLine(t *testing.T) {
	h := newHarness(t, Options{MinBackoff: time.Hour, MaxBackoff: time.Hour})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := h.sup.Start(ctx, childSpec(t, "print", "print")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child's last line", 10*time.Second, func() bool {
		return strings.Contains(h.out.String(), "print | partial\n")
	})
	cancel()
	h.sup.Wait()

	var outN, errN int
	for _, line := range strings.Split(strings.TrimSuffix(h.out.String(), "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "print | ")
		if !ok {
			t.Fatalf("line without prefix: %q", line)
		}
		switch {
		case rest == fmt.Sprintf("out %d", outN):
			outN++
		case rest == fmt.Sprintf("err %d", errN):
			errN++
		case rest == "partial":
		default:
			t.Fatalf("unexpected or out-of-order line %q", line)
		}
	}
	if outN != 200 || errN != 200 {
		t.Fatalf("got %d stdout and %d stderr lines, want 200 each", outN, errN)
	}
}

func TestRestartsWithBackoff(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	h := newHarness(t, Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 80 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := h.sup.Start(ctx, childSpec(t, "crash", "crash", "CHILD_STARTS_FILE="+starts)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "5 starts", 10*time.Second, func() bool { return countLines(starts) >= 5 })
	cancel()
	h.sup.Wait()

	var backoffs []time.Duration
	for _, e := range h.logs.FilterMessage("service exited; restarting").All() {
		fields := e.ContextMap()
		if fields["exit"] != "exit status 3" || fields["service"] != "crash" {
			t.Fatalf("restart log fields = %v", fields)
		}
		backoffs = append(backoffs, fields["backoff"].(time.Duration))
	}
	want := []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond, 80 * time.Millisecond}
	if len(backoffs) < len(want) {
		t.Fatalf("logged %d restarts, want at least %d", len(backoffs), len(want))
	}
	for i, w := range want {
		if backoffs[i] != w {
			t.Fatalf("backoffs = %v, want %v...", backoffs, want)
		}
	}
	if n := strings.Count(h.out.String(), "crash | crashing\n"); n < 5 {
		t.Fatalf("saw %d runs in the output, want at least 5", n)
	}
}

func TestBackoffResetsAfterUptime(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	h := newHarness(t, Options{
		MinBackoff: 10 * time.Millisecond, MaxBackoff: time.Second, ResetAfter: 100 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := h.sup.Start(ctx, childSpec(t, "up", "run-then-exit", "CHILD_STARTS_FILE="+starts)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "3 starts", 10*time.Second, func() bool { return countLines(starts) >= 3 })
	cancel()
	h.sup.Wait()
	for _, e := range h.logs.FilterMessage("service exited; restarting").All() {
		if b := e.ContextMap()["backoff"]; b != 10*time.Millisecond {
			t.Fatalf("backoff %v after a run longer than ResetAfter, want 10ms", b)
		}
	}
}

func TestShutdownSendsSIGTERM(t *testing.T) {
	h := newHarness(t, Options{ShutdownTimeout: 10 * time.Second})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	specs := []Spec{childSpec(t, "a", "wait"), childSpec(t, "b", "wait")}
	if err := h.sup.Start(ctx, specs...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "both children ready", 10*time.Second, func() bool {
		s := h.out.String()
		return strings.Contains(s, "a     | ready") && strings.Contains(s, "b     | ready")
	})
	start := time.Now()
	cancel()
	h.sup.Wait()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %s", d)
	}
	for _, name := range []string{"a", "b"} {
		if !strings.Contains(h.out.String(), fmt.Sprintf("%-5s | got SIGTERM", name)) {
			t.Errorf("%s did not get SIGTERM; output:\n%s", name, h.out.String())
		}
	}
	if n := h.logs.FilterMessage("service stopped").Len(); n != 2 {
		t.Errorf("logged %d clean stops, want 2", n)
	}
	if n := h.logs.FilterMessage("service exited; restarting").Len(); n != 0 {
		t.Errorf("a stopped child was restarted %d times", n)
	}
}

func TestShutdownKillsAfterTimeout(t *testing.T) {
	starts := filepath.Join(t.TempDir(), "starts")
	h := newHarness(t, Options{ShutdownTimeout: 300 * time.Millisecond})
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	if err := h.sup.Start(ctx, childSpec(t, "stuck", "ignore-term", "CHILD_STARTS_FILE="+starts)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "child ready", 10*time.Second, func() bool { return strings.Contains(h.out.String(), "| ready") })
	start := time.Now()
	cancel()
	h.sup.Wait()
	d := time.Since(start)
	if d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("shutdown took %s, want just over the 300ms timeout", d)
	}
	if h.logs.FilterMessage("service did not stop in time; killing").Len() != 1 {
		t.Fatal("no kill logged")
	}
	killed := h.logs.FilterMessage("service killed").All()
	if len(killed) != 1 || killed[0].ContextMap()["exit"] != "signal: killed" {
		t.Fatalf("kill logs = %v", killed)
	}
	var pid int
	if _, err := fmt.Sscanf(readFile(t, starts), "%d", &pid); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("child %d still exists: kill(0) = %v", pid, err)
	}
}

func TestStartFailureStopsStartedProcesses(t *testing.T) {
	h := newHarness(t, Options{ShutdownTimeout: 5 * time.Second})
	ok := childSpec(t, "ok", "wait")
	missing := Spec{Name: "gone", Path: filepath.Join(t.TempDir(), "no-such-binary")}
	err := h.sup.Start(t.Context(), ok, missing)
	if err == nil || !strings.Contains(err.Error(), "start gone") {
		t.Fatalf("Start = %v, want an error about gone", err)
	}
	if h.logs.FilterMessage("service stopped").Len() != 1 {
		t.Fatalf("the started process was not stopped; logs: %v", h.logs.All())
	}
}

func countLines(file string) int {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

func readFile(t *testing.T, file string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// syncBuffer is a bytes.Buffer safe for the supervisor's writes and the test's reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
