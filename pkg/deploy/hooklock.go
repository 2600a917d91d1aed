package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
)

// HookState is whether a target's command is pending for an install, and
// who runs it (see ClaimHook).
type HookState int

const (
	// HookNone: no command is pending for the install (none was ever,
	// it ran, or the record names another install now): nothing to run.
	HookNone HookState = iota
	// HookRunning: the command is pending and another certctl process
	// of this host is running it; it is not run a second time.
	HookRunning
	// HookClaimed: the command is pending and this process holds its
	// lock: it runs the command, notes how it ended (HookDone or
	// HookFailed, under the install lock), then releases the claim.
	HookClaimed
)

// hookLockWait bounds AwaitHook's wait for another process's run of a
// target's command: a run takes up to HookTimeout, and its end is noted
// under the install lock.
const hookLockWait = HookTimeout + time.Minute

// hookLockPath is the lock, in the vault directory, that the process
// running the command of t, a target of certID, holds while it runs:
// one file per target, named from a hash of the certificate and the
// target's path (which may hold anything a file name may not).
func (h Host) hookLockPath(certID string, t Target) string {
	sum := sha256.Sum256([]byte(targetKey(certID, t)))
	return filepath.Join(h.dir, "host.hook-"+hex.EncodeToString(sum[:8])+".lock")
}

// ClaimHook says, under the host's install lock (after Decide, or after
// Remember), whether the command of t, a target of certID, is pending
// for the install of in, and who runs it. The process that runs a command
// holds its lock (fsutil.TryLock, no wait) from this claim until the end
// of the run is noted, so that the lock tells a command another process
// is running (HookRunning: not run twice) from one whose process was
// killed while it ran (the system released its lock: HookClaimed, run
// now). The claim is taken under the install lock, where the pending
// record was read, so two processes never both claim one run.
//
// Of a target the host keeps no record of (a host without a vault
// directory; a target recorded before targets had hosts, which Decide
// always installs), the writer runs the command itself: HookClaimed when
// t has one.
func (h Host) ClaimHook(certID string, t Target, in Identity) (release func(), st HookState, err error) {
	none := func() {}
	if h.dir == "" || t.HostID != h.ID {
		if t.Exec == "" {
			return none, HookNone, nil
		}
		return none, HookClaimed, nil
	}
	r, ok, err := h.names(certID, t, in)
	if err != nil || !ok || !r.HookPending {
		return none, HookNone, err
	}
	unlock, err := fsutil.TryLock(h.hookLockPath(certID, t))
	if errors.Is(err, fsutil.ErrLocked) {
		return none, HookRunning, nil
	}
	if err != nil {
		return none, HookNone, err
	}
	return unlock, HookClaimed, nil
}

// AwaitHook is ClaimHook for the process that installed in and found the
// command's lock held (HookRunning: another process is still running the
// command of an earlier install of t): without the install lock, it waits
// for that run to end (up to HookTimeout and a minute), then takes the
// install lock and claims the command if it is still pending for in.
// Another process may have run it meanwhile (HookNone).
func (h Host) AwaitHook(ctx context.Context, certID string, t Target, in Identity) (release func(), st HookState, err error) {
	if h.dir == "" || t.HostID != h.ID {
		return h.ClaimHook(certID, t, in)
	}
	none := func() {}
	unlockHook, err := fsutil.Lock(ctx, h.hookLockPath(certID, t), hookLockWait)
	if err != nil {
		return none, HookNone, err
	}
	unlock, err := h.LockInstalls(ctx)
	if err != nil {
		unlockHook()
		return none, HookNone, err
	}
	defer unlock()
	r, ok, err := h.names(certID, t, in)
	if err != nil || !ok || !r.HookPending {
		unlockHook()
		return none, HookNone, err
	}
	return unlockHook, HookClaimed, nil
}
