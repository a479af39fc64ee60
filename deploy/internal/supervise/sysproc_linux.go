package supervise

import "syscall"

// sysProcAttr puts the child in its own process group, so a Ctrl-C in the terminal reaches only
// the supervisor, which then stops children in order; and makes the kernel kill the child if the
// supervisor dies without stopping it (even by SIGKILL).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
