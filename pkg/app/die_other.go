//go:build !unix

package app

import "syscall"

// dieOf does nothing where a process cannot signal itself so: the exit
// code (128 + the signal's number) says it.
func dieOf(syscall.Signal) {}
