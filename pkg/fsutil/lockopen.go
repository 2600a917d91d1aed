package fsutil

import "os"

// LockOpen takes an exclusive lock on the open file f, waiting while
// another process (or another open of the file in this one) holds it,
// and returns what releases it. It is the lock Lock takes, on a file the
// caller has opened to read and write under it; closing f releases it
// too, as does the holder's death. Hold it for a few system calls only:
// there is no timeout.
func LockOpen(f *os.File) (unlock func(), err error) {
	if err := lockWait(f); err != nil {
		return nil, &os.PathError{Op: "lock", Path: f.Name(), Err: err}
	}
	return func() { _ = unlockFile(f) }, nil
}
