//go:build unix && !linux

package supervise

import "syscall"

// sysProcAttr puts the child in its own process group, so a Ctrl-C in the terminal reaches only
// the supervisor. Only Linux can also have children killed when the supervisor dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
