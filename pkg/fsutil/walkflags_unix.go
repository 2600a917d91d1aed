//go:build unix && !linux

package fsutil

import "golang.org/x/sys/unix"

// walkFlags opens a directory on the way to another (see walkDir): to
// read it, where O_PATH is not Linux's.
const walkFlags = unix.O_RDONLY
