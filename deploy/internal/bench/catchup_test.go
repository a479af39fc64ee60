package bench

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"testing"
)

func TestParseListening(t *testing.T) {
	table := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 20 4 30 10 -1
`
	if got := parseListening(table, map[string]bool{"1111": true}); !slices.Equal(got, []int{8080}) {
		t.Errorf("ports %v, want [8080]: the listening socket of inode 1111 only", got)
	}
}

// This process's own listener is found among its sockets, and the metrics
// are read from the port that serves them.
func TestListeningPortsAndProgress(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("# HELP convoy_reconcile_lag_seconds ...\nconvoy_reconcile_examined_events_total 1234\nconvoy_reconcile_lag_seconds 2.5\n"))
	}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	ports, err := listeningPorts(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ports, func(p int) bool { return strconv.Itoa(p) == port }) {
		t.Fatalf("ports %v do not include the test server's %s", ports, port)
	}
	examined, lag, err := reconcileProgress(t.Context(), ports)
	if err != nil || examined != 1234 || lag != 2.5 {
		t.Errorf("progress = %v, %v, %v; want 1234, 2.5", examined, lag, err)
	}
}
