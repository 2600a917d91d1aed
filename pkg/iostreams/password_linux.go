package iostreams

import (
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// readPassword reads a line from the terminal fd with echo off, as
// golang.org/x/term's ReadPassword does — except that the end of input
// (Ctrl-D at the start of a line) ends it with io.EOF. x/term reads with
// unix.Read, which tells the end of input as 0 bytes and no error, so its
// ReadPassword went on reading after Ctrl-D: the prompt stayed, with echo
// off, and the next Enter was taken as an answer (tester).
//
// The read goes through interruptible (IOStreams.Interruptible): the first
// Ctrl-C ends it, and the terminal gets its echo back before the command
// stops (review: the second Ctrl-C that ended it left echo off).
func readPassword(fd int, interruptible func(func() ([]byte, error)) ([]byte, error)) ([]byte, error) {
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, err
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON | unix.ISIG
	quiet.Iflag |= unix.ICRNL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return nil, err
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old) //nolint:errcheck // the terminal as it was, best effort
	return interruptible(func() ([]byte, error) { return ReadLine(eofReader(fd), 0) })
}

// eofReader reads fd, telling 0 bytes read as io.EOF.
type eofReader int

func (r eofReader) Read(b []byte) (int, error) {
	n, err := unix.Read(int(r), b)
	if n < 0 {
		n = 0
	}
	if err != nil {
		return n, &os.PathError{Op: "read", Path: "/dev/stdin", Err: err}
	}
	if n == 0 && len(b) > 0 {
		return 0, io.EOF
	}
	return n, nil
}
