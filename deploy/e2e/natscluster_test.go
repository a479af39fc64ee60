package e2e

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"convoy/core/embedded"
)

// On a three-node JetStream cluster with every stream at three replicas, the
// pipeline keeps delivering when one node goes away mid-run, and nothing
// acknowledged is lost.
func TestNATSNodeLossKeepsDelivering(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test takes about half a minute")
	}
	dir := t.TempDir()
	cluster, err := embedded.StartNATSCluster(dir+"/nats", 3)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Shutdown)
	store, err := embedded.StartFerretDB(context.Background(), embedded.FerretOptions{Dir: dir + "/ferretdb"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(store.Close)

	s := startStackOn(t, store.URI(), cluster.URLs(), "CONVOY_NATS_REPLICAS=3", "CONVOY_SWEEP_INTERVAL=1s", "CONVOY_SWEEP_GRACE=5s")
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
	time.Sleep(3 * time.Second)
	before := o.snapshot()[201]
	t.Logf("shutting down NATS node 0 after %d accepted events", before)
	cluster.Node(0).Shutdown()
	time.Sleep(5 * time.Second)
	after := o.snapshot()
	accepted := o.finish()
	if after[201] == 0 {
		t.Fatalf("no event accepted after the node went away: %v", after)
	}
	t.Logf("after the loss the gateway answered %v", after)

	deadline := time.Now().Add(60 * time.Second)
	var missing []string
	for time.Now().Before(deadline) {
		missing = missing[:0]
		mu.Lock()
		for _, id := range accepted {
			if !arrived[id] {
				missing = append(missing, id)
			}
		}
		mu.Unlock()
		if len(missing) == 0 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d accepted events never arrived", len(missing), len(accepted))
	}
	t.Logf("all %d accepted events delivered", len(accepted))
}
