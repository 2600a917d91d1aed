//go:build !linux

package iostreams

import "golang.org/x/term"

// readPassword reads a line from the terminal fd with echo off
// (golang.org/x/term; on Linux, password_linux.go), through
// interruptible.
func readPassword(fd int, interruptible func(func() ([]byte, error)) ([]byte, error)) ([]byte, error) {
	return interruptible(func() ([]byte, error) { return term.ReadPassword(fd) })
}
