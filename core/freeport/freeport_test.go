package freeport

import (
	"net"
	"os"
	"os/exec"
	"strconv"
	"testing"
)

func TestPortsAreDistinctFreeAndBelowTheEphemeralRange(t *testing.T) {
	seen := map[int]bool{}
	for range 20 {
		port, err := Port()
		if err != nil {
			t.Fatal(err)
		}
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		if port < lowest || port >= ephemeralStart() {
			t.Errorf("port %d outside [%d, %d)", port, lowest, ephemeralStart())
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		l.Close()
	}
}

// A second process is never given a port this one holds.
func TestAnotherProcessSkipsHeldPorts(t *testing.T) {
	if os.Getenv("FREEPORT_CHILD") != "" {
		port, _ := strconv.Atoi(os.Getenv("FREEPORT_CHILD"))
		if f, ok := reserve(os.TempDir()+"/convoy-freeport", port); ok {
			f.Close()
			os.Exit(3) // took the parent's port
		}
		// Reserving works: another port is handed out.
		if other, err := Port(); err != nil || other == port {
			os.Exit(4)
		}
		os.Exit(0)
	}
	port, err := Port()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^TestAnotherProcessSkipsHeldPorts$")
	cmd.Env = append(os.Environ(), "FREEPORT_CHILD="+strconv.Itoa(port))
	if err := cmd.Run(); err != nil {
		t.Fatalf("the child could reserve port %d, which this process holds: %v", port, err)
	}
}
