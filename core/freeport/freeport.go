// Package freeport hands tests loopback ports for processes they start, which
// bind the port themselves later.
//
// Asking the kernel for port 0 and closing the listener leaves a window in
// which any outgoing connection on the machine, or another test process, may
// be given the same port. The ports handed out here lie below the kernel's
// ephemeral range, so neither outgoing connections nor port-0 listeners ever
// get them, and each is reserved across processes by an advisory lock held
// until the test binary exits.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// lowest is where the search range starts; it ends below the ephemeral range.
const lowest = 20000

var (
	mu sync.Mutex
	// held keeps the lock files open: closing one, even by the garbage
	// collector, would release its port.
	held []*os.File
)

// Addr returns "127.0.0.1:port" for a port no other caller of this package,
// in this process or another, will be given while this process runs.
func Addr() (string, error) {
	port, err := Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), nil
}

// Port is Addr's port alone.
func Port() (int, error) {
	mu.Lock()
	defer mu.Unlock()
	highest := ephemeralStart() - 1
	span := highest - lowest + 1
	if span <= 0 {
		return 0, fmt.Errorf("freeport: no ports below the ephemeral range (starts at %d)", highest+1)
	}
	dir := filepath.Join(os.TempDir(), "convoy-freeport")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return 0, fmt.Errorf("freeport: %w", err)
	}
	start := rand.IntN(span)
	for i := range span {
		port := lowest + (start+i)%span
		lock, ok := reserve(dir, port)
		if !ok {
			continue
		}
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port))); err == nil {
			_ = l.Close()
			held = append(held, lock)
			return port, nil
		}
		_ = lock.Close()
	}
	return 0, fmt.Errorf("freeport: every port from %d to %d is taken", lowest, highest)
}

// reserve takes the port's lock file without waiting.
func reserve(dir string, port int) (*os.File, bool) {
	f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(port)), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, false
	}
	return f, true
}

// ephemeralStart is the first port the kernel hands out on its own.
func ephemeralStart() int {
	const linuxDefault = 32768
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return linuxDefault
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return linuxDefault
	}
	n, err := strconv.Atoi(fields[0])
	if err != nil {
		return linuxDefault
	}
	return n
}
