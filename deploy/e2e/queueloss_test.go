package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"convoy/core/embedded"
	"convoy/core/queue"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// reconcileEnv makes reconciliation quick enough for a test.
var reconcileEnv = []string{
	"CONVOY_RECONCILE_INTERVAL=1s", "CONVOY_RECONCILE_GRACE=3s", "CONVOY_RECONCILE_LOOKBACK=10m",
	"CONVOY_SWEEP_INTERVAL=1s", "CONVOY_SWEEP_GRACE=3s",
}

// While events flow, with the dispatcher paused so that its stream holds
// a backlog, the dispatch stream is purged and the paused dispatcher killed
// (the failure issue 15 reproduced by hand): every event answered 201 is
// still delivered, found again from the store.
func TestPurgedDispatchStreamLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("queue loss test takes about half a minute")
	}
	t.Parallel()
	dir := t.TempDir()
	natsSrv, err := embedded.StartNATS(embedded.NATSOptions{Dir: dir + "/nats", Port: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(natsSrv.Shutdown)
	storeSrv, err := embedded.StartFerretDB(context.Background(), embedded.FerretOptions{Dir: dir + "/ferretdb"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(storeSrv.Close)
	// A task handed to the paused dispatcher after the purge dies with it,
	// and JetStream gives it to the next one after the ack wait: keep that
	// short.
	s := startStackOn(t, storeSrv.URI(), natsSrv.URL(), append(reconcileEnv, "CONVOY_DISPATCH_ACK_WAIT=10s")...)
	js := jetStream(t, natsSrv.URL())

	run := startLossRun(t, s)
	run.withDispatcherPaused(true, func() {
		n := waitBacklog(t, js, 100)
		stream, err := js.Stream(t.Context(), queue.StreamDispatch)
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Purge(t.Context()); err != nil {
			t.Fatalf("purge: %v", err)
		}
		t.Logf("purged the dispatch stream holding about %d tasks", n)
	})
	run.finish()
}

// While events flow, the embedded NATS stops, its store directory is
// deleted and it starts again empty: the services create their streams,
// consumers and buckets again by themselves, and every event answered 201
// is still delivered.
func TestLostNATSStoreLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("queue loss test takes about half a minute")
	}
	t.Parallel()
	dir := t.TempDir()
	natsDir, natsPort := dir+"/nats", freePort(t)
	startNATS := func() *embedded.NATS {
		n, err := embedded.StartNATS(embedded.NATSOptions{Dir: natsDir, Port: natsPort})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	natsSrv := startNATS()
	t.Cleanup(func() { natsSrv.Shutdown() })
	storeSrv, err := embedded.StartFerretDB(context.Background(), embedded.FerretOptions{Dir: dir + "/ferretdb"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(storeSrv.Close)
	s := startStackOn(t, storeSrv.URI(), natsSrv.URL(), reconcileEnv...)
	js := jetStream(t, natsSrv.URL())

	run := startLossRun(t, s)
	run.withDispatcherPaused(false, func() {
		n := waitBacklog(t, js, 100)
		natsSrv.Shutdown()
		if err := os.RemoveAll(natsDir); err != nil {
			t.Fatal(err)
		}
		natsSrv = startNATS()
		t.Logf("NATS restarted without its store, which held about %d dispatch tasks", n)
	})
	// The services notice the missing streams and make them again; until
	// then ingest answers 503.
	eventually(t, 30*time.Second, "the streams to be created again", func() bool {
		_, missing, err := queue.StreamsCreated(t.Context(), js)
		return err == nil && missing == ""
	})
	run.finish()
}

// lossRun offers events to one endpoint and counts what its receiver gets.
type lossRun struct {
	t        *testing.T
	s        *stack
	o        *offered
	mu       sync.Mutex
	arrivals map[string]int // event id → deliveries received
}

func startLossRun(t *testing.T, s *stack) *lossRun {
	r := &lossRun{t: t, s: s, arrivals: map[string]int{}}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		io.Copy(io.Discard, req.Body)
		r.mu.Lock()
		r.arrivals[req.Header.Get("X-Convoy-Event-ID")]++
		r.mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 30}}, recv.URL)
	r.o = offer(s, group.UID, app.UID, 2, 10*time.Millisecond)
	r.waitAccepted(50)
	return r
}

// waitAccepted waits until n more events were answered 201.
func (r *lossRun) waitAccepted(n int) {
	r.t.Helper()
	start := r.o.total()[201]
	eventually(r.t, 60*time.Second, "events to be accepted", func() bool { return r.o.total()[201] >= start+n })
}

// withDispatcherPaused stops the dispatcher (SIGSTOP: it keeps what it
// holds, as a hung process would), runs disaster, and then lets it go on,
// or, with kill, kills it (losing the tasks JetStream had handed it) and
// starts another.
func (r *lossRun) withDispatcherPaused(kill bool, disaster func()) {
	r.t.Helper()
	d := r.s.procs["dispatcher-service"]
	if err := d.Process.Signal(syscall.SIGSTOP); err != nil {
		r.t.Fatal(err)
	}
	disaster()
	if kill {
		r.s.restart("dispatcher-service", syscall.SIGKILL)
		return
	}
	if err := d.Process.Signal(syscall.SIGCONT); err != nil {
		r.t.Fatal(err)
	}
}

// finish keeps offering until more events were accepted after the loss,
// then waits for every accepted event to arrive and reports duplicates.
func (r *lossRun) finish() {
	t := r.t
	t.Helper()
	r.waitAccepted(50)
	accepted := r.o.finish()
	t.Logf("%d events accepted; answers %v", len(accepted), r.o.total())
	missing := func() []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		var out []string
		for _, id := range accepted {
			if r.arrivals[id] == 0 {
				out = append(out, id)
			}
		}
		return out
	}
	start := time.Now()
	deadline := start.Add(90 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	m := missing()
	requeued := scrape(t, r.s.opsURL("scheduler-service"))["convoy_reconcile_requeued_total"]
	swept := scrape(t, r.s.opsURL("scheduler-service"))["convoy_scheduler_swept_deliveries_total"]
	if len(m) > 0 {
		t.Fatalf("%d of %d acknowledged events never reached the receiver (reconciliation re-queued %v, the sweep %v), e.g. %v",
			len(m), len(accepted), requeued, swept, m[:min(5, len(m))])
	}
	dups := 0
	r.mu.Lock()
	for _, id := range accepted {
		dups += r.arrivals[id] - 1
	}
	r.mu.Unlock()
	t.Logf("all %d acknowledged events delivered %v after the last was accepted; %d duplicate deliveries; reconciliation re-queued %v, the sweep %v",
		len(accepted), time.Since(start).Round(time.Millisecond), dups, requeued, swept)
	if requeued == 0 {
		t.Fatalf("reconciliation re-queued nothing: the loss lost nothing, so the test proved nothing")
	}
}

func jetStream(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// waitBacklog waits until the dispatch stream holds at least n tasks and
// returns how many it holds.
func waitBacklog(t *testing.T, js jetstream.JetStream, n uint64) uint64 {
	t.Helper()
	var msgs uint64
	eventually(t, 60*time.Second, "a backlog on the dispatch stream", func() bool {
		stream, err := js.Stream(t.Context(), queue.StreamDispatch)
		if err != nil {
			return false
		}
		info, err := stream.Info(t.Context())
		if err != nil {
			return false
		}
		msgs = info.State.Msgs
		return msgs >= n
	})
	return msgs
}
