//go:build windows

package job

import "syscall"

// detached starts the broker in a process group of its own, without a
// console, so that the step's end does not end it.
func detached() *syscall.SysProcAttr {
	const detachedProcess = 0x00000008
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP | detachedProcess, HideWindow: true}
}
