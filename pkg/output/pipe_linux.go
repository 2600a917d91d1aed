package output

import (
	"io"
	"os"
	"syscall"
)

// fSetPipeSize is Linux's F_SETPIPE_SZ (F_LINUX_SPECIFIC_BASE + 7), which
// package syscall does not name.
const fSetPipeSize = 1031

// pipeSize is the pipe buffer a large document asks for: the most an
// unprivileged process may (/proc/sys/fs/pipe-max-size, 1 MiB by default).
const pipeSize = 1 << 20

// growPipe enlarges the buffer of w's pipe when w is one, so that a large
// document is written with sixteen times fewer waits for its reader than
// through the default 64 KiB. A refusal changes nothing: the pipe works
// as it is, only slower.
func growPipe(w io.Writer) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Control(func(fd uintptr) {
		_, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, fSetPipeSize, pipeSize)
	})
}
