//go:build unix

package fsutil

import (
	"errors"
	"syscall"
)

// ProcessGone reports whether no process pid runs on this host (signal 0
// finds none). A process of another user counts as running.
func ProcessGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
