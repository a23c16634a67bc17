//go:build !windows

package job

import "syscall"

// detached puts the broker in a session of its own, so that the step's end
// (and a signal to its process group) does not end it.
func detached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
