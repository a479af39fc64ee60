package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"convoy/core/verify"
)

// localProcess is the developer's local server behind convoy listen: it
// checks every request's signature with the receivers' package, counts the
// requests per event, and answers 500 to the first request of an event of
// type invoice.flaky.
type localProcess struct {
	*httptest.Server
	mu     sync.Mutex
	secret string
	got    map[string]int // event id -> requests
	bad    []string
}

func newLocalProcess(t *testing.T) *localProcess {
	l := &localProcess{got: map[string]int{}}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		defer l.mu.Unlock()
		id := r.Header.Get("X-Convoy-Event-ID")
		if err := verify.Verify(verify.Options{Format: "simple", Hash: "SHA256", ReplayAttacks: true}, []string{l.secret}, r.Header, body); err != nil {
			l.bad = append(l.bad, id+": "+err.Error())
		}
		l.got[id]++
		w.Header().Set("X-Local", "yes")
		if r.Header.Get("X-Convoy-Event-Type") == "invoice.slow" {
			// Long enough for the CLI to be killed while forwarding it.
			l.mu.Unlock()
			time.Sleep(500 * time.Millisecond)
			l.mu.Lock()
		}
		if r.Header.Get("X-Convoy-Event-Type") == "invoice.flaky" && l.got[id] == 1 {
			w.WriteHeader(500)
			io.WriteString(w, "local failure")
			return
		}
		io.WriteString(w, "local ok")
	}))
	t.Cleanup(l.Close)
	return l
}

func (l *localProcess) count(eventID string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.got[eventID]
}

func (l *localProcess) badSignatures() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.bad...)
}

// listenProc is a running `convoy listen`.
type listenProc struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	out  bytes.Buffer
	done chan struct{}
}

func startListen(t *testing.T, s *stack, group, endpoint, forwardTo string, extra ...string) *listenProc {
	t.Helper()
	args := append([]string{"listen", "--endpoint", endpoint, "--forward-to", forwardTo}, extra...)
	p := &listenProc{cmd: exec.Command(filepath.Join(binaries(t), "convoy"), args...), done: make(chan struct{})}
	// Configured by the environment, as a developer's shell would.
	p.cmd.Env = []string{"CONVOY_GRPC_ADDR=" + s.Ingest, "CONVOY_API_KEY=" + adminKey, "CONVOY_GROUP_ID=" + group}
	w := lockedWriter{&p.mu, &p.out}
	p.cmd.Stdout, p.cmd.Stderr = w, w
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- convoy listen output ----\n%s", p.output())
		}
	})
	return p
}

func (p *listenProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *listenProc) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}

var readyLine = regexp.MustCompile(`listening on endpoint \S+, forwarding to \S+ \(cursor (\S+), (\d+) sent again\)`)

// waitReady waits for the n-th stream to be attached and returns its cursor
// and how many deliveries it sent again.
func (p *listenProc) waitReady(t *testing.T, n int) (string, int) {
	t.Helper()
	var m [][]string
	eventually(t, 30*time.Second, "convoy listen to attach", func() bool {
		m = readyLine.FindAllStringSubmatch(p.output(), -1)
		return len(m) >= n
	})
	resent, _ := strconv.Atoi(m[n-1][2])
	return m[n-1][1], resent
}

// The local-development path: deliveries reach the local process through
// convoy listen, signed as the dispatcher signs them; the local answer is
// the recorded attempt (a 500 is a failed attempt, retried by the group's
// strategy); and across a killed CLI and a restarted ingest-service every
// delivery still arrives.
func TestListen(t *testing.T) {
	top := t
	s := startStack(t)
	local := newLocalProcess(t)
	// Nothing answers at the endpoint's own URL: what is attempted while no
	// listener is attached fails there and ends as Failure. Two attempts a
	// second apart, and neither endpoint disabling nor the circuit breaker
	// (which would hold the URL's attempts back) getting in the way, keep
	// the test short.
	group, app, endpoint := setup(s, map[string]any{
		"strategy":         map[string]any{"type": "default", "duration": 1, "retry_count": 2},
		"disable_endpoint": false,
		"circuit_breaker":  map[string]any{"failure_threshold": 100, "min_requests": 100000},
	}, "http://127.0.0.1:1/nothing-listens-here")
	local.mu.Lock()
	local.secret = endpoint.Secret
	local.mu.Unlock()

	send := func(eventType string) string {
		var ev resource
		s.must(201, "POST", "/api/v1/groups/"+group.UID+"/events",
			map[string]any{"app_id": app.UID, "event_type": eventType, "data": map[string]any{"n": 1}}, &ev)
		return ev.UID
	}
	attemptsOf := func(eventID string) (delivery, []attempt) {
		ds := deliveriesOf(s, group.UID, eventID)
		if len(ds) == 0 {
			return delivery{}, nil
		}
		var as []attempt
		s.must(200, "GET", "/api/v1/groups/"+group.UID+"/eventdeliveries/"+ds[0].UID+"/deliveryattempts", nil, &as)
		return ds[0], as
	}
	waitSuccess := func(t *testing.T, eventID string) []attempt {
		t.Helper()
		var as []attempt
		eventually(t, 45*time.Second, "delivery of "+eventID+" to be Success", func() bool {
			var d delivery
			d, as = attemptsOf(eventID)
			return d.Status == "Success"
		})
		return as
	}

	statusOf := func(eventID string) string {
		d, _ := attemptsOf(eventID)
		return d.Status
	}

	l := startListen(top, s, group.UID, endpoint.UID, local.URL)
	cursor, _ := l.waitReady(t, 1)

	t.Run("the local answer is the attempt", func(t *testing.T) {
		ev := send("invoice.paid")
		as := waitSuccess(t, ev)
		if local.count(ev) != 1 {
			t.Fatalf("local process got %d requests, want 1", local.count(ev))
		}
		last := as[len(as)-1]
		if last.HTTPStatus != 200 || !last.Status || last.IPAddress != "listener" {
			t.Fatalf("attempt %+v, want the listener's 200", last)
		}
	})

	t.Run("a local 500 fails the attempt, which is retried", func(t *testing.T) {
		ev := send("invoice.flaky")
		as := waitSuccess(t, ev)
		if len(as) != 2 || as[0].HTTPStatus != 500 || as[0].Status || as[0].Error == "" || as[1].HTTPStatus != 200 {
			t.Fatalf("attempts %+v, want a failed 500 then a 200", as)
		}
		if local.count(ev) != 2 {
			t.Fatalf("local process got %d requests, want 2", local.count(ev))
		}
	})

	t.Run("a killed CLI resumes from its cursor and loses nothing", func(t *testing.T) {
		var before, during []string
		for range 5 {
			before = append(before, send("invoice.slow"))
		}
		eventually(t, 30*time.Second, "the first delivery to reach the local process", func() bool { return local.count(before[0]) > 0 })
		l.kill() // mid-stream: the local process is still answering
		for range 5 {
			during = append(during, send("invoice.paid"))
		}
		// With no listener the attempts fail (the listener went away, or the
		// endpoint's URL refuses) and, the budget spent, end as Failure.
		failed := 0
		for _, ev := range append(before, during...) {
			eventually(t, 30*time.Second, "the delivery of "+ev+" to settle", func() bool {
				st := statusOf(ev)
				return st == "Failure" || st == "Success"
			})
			if statusOf(ev) == "Failure" {
				failed++
			}
		}
		if failed < len(during) {
			t.Fatalf("%d deliveries failed while disconnected, want at least %d", failed, len(during))
		}
		l = startListen(top, s, group.UID, endpoint.UID, local.URL, "--cursor", cursor)
		got, resent := l.waitReady(t, 1)
		if got != cursor || resent != failed {
			t.Fatalf("resumed with cursor %s sending %d again, want %s and %d", got, resent, cursor, failed)
		}
		for _, ev := range append(before, during...) {
			waitSuccess(t, ev)
			if local.count(ev) == 0 {
				t.Fatalf("event %s was recorded Success but never reached the local process", ev)
			}
		}
	})

	t.Run("a CLI reconnects by itself after ingest-service restarts", func(t *testing.T) {
		s.restart("ingest-service", syscall.SIGKILL)
		s.waitHealthy()
		var evs []string
		for range 3 {
			evs = append(evs, send("invoice.paid"))
		}
		l.waitReady(t, 2)
		if !strings.Contains(l.output(), "disconnected") {
			t.Fatalf("the CLI did not notice the disconnect:\n%s", l.output())
		}
		for _, ev := range evs {
			waitSuccess(t, ev)
			if local.count(ev) == 0 {
				t.Fatalf("event %s never reached the local process", ev)
			}
		}
	})

	t.Run("a graceful ingest-service stop ends the stream and the CLI moves on", func(t *testing.T) {
		s.restart("ingest-service", syscall.SIGTERM)
		s.waitHealthy()
		l.waitReady(t, 3)
		if !strings.Contains(l.output(), "ingest-service is stopping") {
			t.Fatalf("the stream did not end with the stop:\n%s", l.output())
		}
		ev := send("invoice.paid")
		waitSuccess(t, ev)
		if local.count(ev) == 0 {
			t.Fatalf("event %s never reached the local process", ev)
		}
	})

	if bad := local.badSignatures(); len(bad) > 0 {
		t.Fatalf("requests with a bad signature: %v", bad)
	}
}
