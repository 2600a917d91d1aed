package fsutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrLocked is TryLock's answer (and tryLock's) when another process
// holds the lock.
var ErrLocked = errors.New("lock held by another process")

// lockPoll is how often Lock tries again while another process holds
// the lock.
const lockPoll = 20 * time.Millisecond

// Lock takes an exclusive lock on the file at path (created 0600 when
// missing, and left in place), waiting while another process holds it,
// until ctx is done or wait has passed. The lock is the system's own on
// an open file (flock, LockFileEx), so a process killed while holding it
// releases it with its descriptors: no stale lock outlives its holder. It
// serialises processes, not goroutines of one process that lock twice
// (each call opens the file anew, so on Unix two calls of one process
// exclude each other as two processes would).
func Lock(ctx context.Context, path string, wait time.Duration) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		err := tryLock(f)
		if err == nil {
			return func() { _ = unlockFile(f); f.Close() }, nil
		}
		if !errors.Is(err, ErrLocked) {
			f.Close()
			return nil, &os.PathError{Op: "lock", Path: path, Err: err}
		}
		if time.Now().After(deadline) {
			f.Close()
			return nil, fmt.Errorf("%s: held by another certctl process for %s", path, wait)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}

// TryLock is Lock without the wait: it takes the lock on the file at path
// when no other process holds it, and answers ErrLocked (wrapped, naming
// the file) when one does. It tells a lock held by a live process from
// one whose holder died, which the system released.
func TryLock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err != nil {
		f.Close()
		return nil, &os.PathError{Op: "lock", Path: path, Err: err}
	}
	return func() { _ = unlockFile(f); f.Close() }, nil
}
