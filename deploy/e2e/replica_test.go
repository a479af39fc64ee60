package e2e

import (
	"bytes"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// startReplica starts one more process of service name, with the service's
// environment and an ops address of its own, and waits until it is ready.
// Stop and the failure log know it as "name#instance", the key returned.
func (s *stack) startReplica(name, instance string) string {
	s.t.Helper()
	key := name + "#" + instance
	env := make([]string, 0, len(s.env[name])+1)
	for _, kv := range s.env[name] {
		if !strings.HasPrefix(kv, "CONVOY_OPS_ADDR=") {
			env = append(env, kv)
		}
	}
	opsAddr := freeAddr(s.t)
	s.env[key] = append(env, "CONVOY_OPS_ADDR="+opsAddr)

	cmd := exec.Command(filepath.Join(binDir, name))
	cmd.Env = s.env[key]
	if s.logs[key] == nil {
		s.logs[key] = &bytes.Buffer{}
	}
	w := lockedWriter{&s.mu, s.logs[key]}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		s.t.Fatalf("start %s: %v", key, err)
	}
	s.procs[key] = cmd

	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + opsAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return key
			}
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("%s never became ready", key)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logOf returns what a process (or replica, by its key) has logged so far.
func (s *stack) logOf(key string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.logs[key]; b != nil {
		return b.String()
	}
	return ""
}
