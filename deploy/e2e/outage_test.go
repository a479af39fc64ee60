package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"convoy/core/embedded"
)

// offered is a producer that keeps offering events and remembers what the
// gateway answered.
type offered struct {
	mu       sync.Mutex
	accepted []string
	codes    map[int]int
	stop     chan struct{}
	done     sync.WaitGroup
}

// offer starts producers that each post an event, pause, and repeat.
func offer(s *stack, groupID, appID string, producers int, pause time.Duration) *offered {
	o := &offered{codes: map[int]int{}, stop: make(chan struct{})}
	client := &http.Client{Timeout: 20 * time.Second}
	for p := range producers {
		o.done.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-o.stop:
					return
				default:
				}
				body, _ := json.Marshal(map[string]any{"app_id": appID, "event_type": "invoice.paid", "data": map[string]int{"p": p, "i": i}})
				req, _ := http.NewRequest("POST", s.Gateway+"/api/v1/groups/"+groupID+"/events", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+adminKey)
				resp, err := client.Do(req)
				if err != nil {
					time.Sleep(20 * time.Millisecond)
					continue
				}
				var env struct {
					Data struct {
						UID string `json:"uid"`
					} `json:"data"`
				}
				json.NewDecoder(resp.Body).Decode(&env)
				resp.Body.Close()
				o.mu.Lock()
				o.codes[resp.StatusCode]++
				if resp.StatusCode == 201 {
					o.accepted = append(o.accepted, env.Data.UID)
				}
				o.mu.Unlock()
				time.Sleep(pause)
			}
		})
	}
	return o
}

// total returns every answer so far without resetting.
func (o *offered) total() map[int]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[int]int{}
	for k, v := range o.codes {
		out[k] = v
	}
	return out
}

// snapshot returns the answers so far and resets the counts.
func (o *offered) snapshot() map[int]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := o.codes
	o.codes = map[int]int{}
	return out
}

func (o *offered) finish() []string {
	close(o.stop)
	o.done.Wait()
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.accepted...)
}

func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(freeAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// The store, then NATS, stop for 10 s while events are offered: the gateway
// answers 503 (never 2xx for what it could not store and queue), and the
// system recovers by itself when they return.
func TestOutageOfStoreOrQueueAnswers503AndRecovers(t *testing.T) {
	if testing.Short() {
		t.Skip("outage test takes about a minute")
	}
	dir := t.TempDir()
	natsPort := freePort(t)
	mongoAddr := freeAddr(t)
	startNATS := func() *embedded.NATS {
		n, err := embedded.StartNATS(embedded.NATSOptions{Dir: dir + "/nats", Port: natsPort})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	startStore := func() *embedded.FerretDB {
		f, err := embedded.StartFerretDB(context.Background(), embedded.FerretOptions{Dir: dir + "/ferretdb", Addr: mongoAddr})
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	natsSrv, storeSrv := startNATS(), startStore()
	t.Cleanup(func() { natsSrv.Shutdown(); storeSrv.Close() })

	s := startStackOn(t, storeSrv.URI(), natsSrv.URL(), "CONVOY_SWEEP_INTERVAL=1s", "CONVOY_SWEEP_GRACE=3s")
	var mu sync.Mutex
	arrived := map[string]bool{}
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		arrived[r.Header.Get("X-Convoy-Event-ID")] = true
		mu.Unlock()
	}))
	t.Cleanup(recv.Close)
	group, app, _ := setup(s, map[string]any{"strategy": map[string]any{"type": "default", "duration": 1, "retry_count": 30}}, recv.URL)

	o := offer(s, group.UID, app.UID, 2, 20*time.Millisecond)
	outage := func(name string, stop, start func()) {
		time.Sleep(2 * time.Second)
		if got := o.snapshot(); got[201] == 0 {
			t.Fatalf("before the %s outage no event was accepted: %v", name, got)
		}
		stop()
		time.Sleep(2 * time.Second) // let in-flight requests finish
		o.snapshot()
		time.Sleep(8 * time.Second)
		during := o.snapshot()
		if during[201] != 0 || during[503] == 0 {
			t.Fatalf("during the %s outage the gateway answered %v; want only 503s", name, during)
		}
		t.Logf("%s down: gateway answered %v", name, during)
		start()
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) {
			time.Sleep(500 * time.Millisecond)
			if o.snapshot()[201] > 0 {
				return
			}
		}
		t.Fatalf("events were not accepted again within 30 s of %s coming back", name)
	}
	outage("the store", storeSrv.Close, func() { storeSrv = startStore() })
	outage("NATS", natsSrv.Shutdown, func() { natsSrv = startNATS() })
	time.Sleep(2 * time.Second)
	accepted := o.finish()

	missing := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, id := range accepted {
			if !arrived[id] {
				out = append(out, id)
			}
		}
		return out
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(missing()) > 0 && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("%d of %d accepted events never arrived, e.g. %v", len(m), len(accepted), m[:min(3, len(m))])
	}
	t.Log(fmt.Sprintf("all %d accepted events delivered after both outages", len(accepted)))
}
