//go:build !linux

package iostreams

import "golang.org/x/term"

// readPassword reads a line from the terminal fd with echo off
// (golang.org/x/term; on Linux, password_linux.go).
func readPassword(fd int) ([]byte, error) { return term.ReadPassword(fd) }
