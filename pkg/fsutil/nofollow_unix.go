//go:build unix

package fsutil

import "syscall"

const oNoFollow = syscall.O_NOFOLLOW

// oNonBlock opens a named pipe without waiting for a writer.
const oNonBlock = syscall.O_NONBLOCK
