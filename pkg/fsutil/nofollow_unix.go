//go:build unix

package fsutil

import "syscall"

const oNoFollow = syscall.O_NOFOLLOW
