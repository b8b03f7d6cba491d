package testenv

import "syscall"

// A redis-server outlives a test process that dies without running its cleanups, unless
// the kernel kills it with its parent.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
