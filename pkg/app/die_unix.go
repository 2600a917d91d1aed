//go:build unix

package app

import (
	"os/signal"
	"syscall"
	"time"
)

// dieOf ends the process by sig: its handler back to the runtime's (which
// dies of the signal, the default action, when the program did not ask
// for it), then sig sent to itself. It returns only if that did not end
// the process, and at once where it cannot (mayDieOf).
func dieOf(sig syscall.Signal) {
	if !mayDieOf(syscall.Getpid()) {
		return
	}
	signal.Reset(sig)
	if signal.Ignored(sig) {
		// Ignored when certctl started (nohup, a background job of sh):
		// the signal sent would be ignored too; the exit code says it.
		return
	}
	if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
		return
	}
	// Delivery is asynchronous to the thread that sent it.
	time.Sleep(time.Second)
}

// mayDieOf reports whether the process pid can die of a signal it sends
// itself: not as PID 1 (a container without an init), which the kernel
// spares the default action of its own signals — the runtime would then
// exit 2, a usage error's code, instead of 130/143 (review).
func mayDieOf(pid int) bool { return pid != 1 }
