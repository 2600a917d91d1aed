package fsutil

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxInputFile bounds what an input file may hold: certificates, keys and
// bundles are small, and a bound keeps a mistaken file from eating memory.
const MaxInputFile = 16 << 20

// ErrTooLarge is a file ReadRegular refused for its size.
var ErrTooLarge = errors.New("file too large")

// ErrNotRegular is a path ReadRegular refused for not naming a regular
// file (a named pipe, a device, a socket).
var ErrNotRegular = errors.New("not a regular file")

// ReadRegular reads the regular file at path, up to max bytes: a named
// pipe is not waited on (opened without blocking, then refused), a device
// such as /dev/zero is not read without end, and a file larger than max is
// refused (ErrTooLarge) having read max+1 bytes — for the files a command
// finds by itself in a directory, where anything may lie.
func ReadRegular(path string, max int64) ([]byte, error) {
	// Not opened unless regular: opening a device can act (a tape
	// rewinds); what is opened is checked again, should it have changed.
	before, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, ErrNotRegular, KindOf(before.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|oNonBlock, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() || !os.SameFile(before, fi) {
		return nil, fmt.Errorf("%s: %w (it changed while being opened)", path, ErrNotRegular)
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: %w: larger than %d MiB", path, ErrTooLarge, max>>20)
	}
	return data, nil
}

// KindOf names the kind of a file that is not a regular one, for a
// message that refuses it.
func KindOf(m os.FileMode) string {
	switch {
	case m&os.ModeDir != 0:
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeDevice != 0:
		return "a device" // /dev/null, a terminal too
	}
	return "not a plain file"
}
