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
// the process.
func dieOf(sig syscall.Signal) {
	signal.Reset(sig)
	if err := syscall.Kill(syscall.Getpid(), sig); err != nil {
		return
	}
	// Delivery is asynchronous to the thread that sent it.
	time.Sleep(time.Second)
}
