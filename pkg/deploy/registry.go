package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
)

// TargetsFile is this host's own record, in the vault directory, of the
// targets it recorded: the seal of each and what it installed there (its
// Identity: version, fingerprint, serial, NotBefore), as it last wrote
// them. The store's copy of a target is what any of its users
// can write; this file is what the host decided. A sealed record of the
// store that differs from it (an older one put back: a command the
// operator removed) is refused, and the version installed is the host's,
// not the store's (which could otherwise make the host reinstall and run
// its command at every pass).
const TargetsFile = "host.targets"

// recorded is what the host last wrote of one target: its seal and what
// it installed there. Records written before the certificate was
// identified hold the version alone.
type recorded struct {
	Seal string `json:"seal"`
	Identity
	// Removed: the host removed the target (`certctl deploy --remove`);
	// the same record put back into the store is refused (see
	// checkRecorded) until a deploy of this host records it again.
	Removed bool `json:"removed,omitempty"`
	// HookPending: the target's command has not yet succeeded for the
	// install recorded. The install is remembered before its command
	// runs (outside the install lock, see Host.Write), so a certctl
	// killed while the command ran (kill -9, a reboot) leaves it set, and
	// the next pass runs the command (see ClaimHook); HookDone clears it,
	// and HookFailed records the install as not done.
	HookPending bool `json:"hookPending,omitempty"`
}

func targetKey(certID string, t Target) string { return certID + " " + t.CertFile }

// targetsCache is the host's record as this process read it: read once
// (a renew pass asks about every target of every certificate), updated by
// this process's Remember. Another process's change is seen by the next
// process.
type targetsCache struct {
	mu     sync.Mutex
	loaded bool
	m      map[string]recorded
	err    error
	// completed: this process completed the interrupted installs of
	// the host (see completeInterrupted).
	completed bool
}

// recordedTargets returns the host's record, read on first use.
func (h Host) recordedTargets() (map[string]recorded, error) {
	if h.cache == nil {
		return h.readTargets()
	}
	h.cache.mu.Lock()
	defer h.cache.mu.Unlock()
	if !h.cache.loaded {
		h.cache.m, h.cache.err = h.readTargets()
		h.cache.loaded = true
	}
	return h.cache.m, h.cache.err
}

// readTargets reads the host's record of its targets (empty when none).
func (h Host) readTargets() (map[string]recorded, error) {
	out := map[string]recorded{}
	if h.dir == "" {
		return out, nil
	}
	b, err := os.ReadFile(filepath.Join(h.dir, TargetsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(h.dir, TargetsFile), err)
	}
	return out, nil
}

// OtherCertificates returns the certificates other than certID that this
// host has targets of in its record (not removed): candidates the store's
// targets confirm or not (see renewals' Deploy).
func (h Host) OtherCertificates(certID string) ([]string, error) {
	m, err := h.recordedTargets()
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for k, r := range m {
		id, _, ok := strings.Cut(k, " ")
		if ok && id != certID && !r.Removed && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out, nil
}

// Remember notes t, a target of certID this host just recorded or
// installed, in the host's record: its seal, and in, what it installed
// there. An install of a target with a command is remembered with that
// command pending, until HookDone or HookFailed notes how it ended: a
// certctl killed while it ran leaves it pending, for the next pass to run
// (see ClaimHook).
func (h Host) Remember(certID string, t Target, in Identity) error {
	return h.record(certID, t, recorded{Seal: t.Seal, Identity: in, HookPending: t.Exec != "" && in.Fingerprint != ""})
}

// HookFailed notes, under the host's install lock, that the command of
// t, a target of certID whose install of in was remembered (Remember)
// before the command ran, failed or was not run: the record keeps in's
// NotBefore alone, as for an install whose command failed, so that the
// next pass installs it again and retries the command. A record that no
// longer names in (another certctl of this host installed another
// version, or recorded the target anew, while the command ran) is left as
// it is.
func (h Host) HookFailed(certID string, t Target, in Identity) error {
	if _, ok, err := h.names(certID, t, in); err != nil || !ok {
		return err
	}
	return h.record(certID, t, recorded{Seal: t.Seal, Identity: Identity{NotBefore: in.NotBefore}})
}

// HookDone notes, under the host's install lock, that the command of t,
// a target of certID whose install of in was remembered with its command
// pending, succeeded: the next pass has nothing left to do there. A
// record that no longer names in is left as it is (see HookFailed).
func (h Host) HookDone(certID string, t Target, in Identity) error {
	r, ok, err := h.names(certID, t, in)
	if err != nil || !ok || !r.HookPending {
		return err
	}
	r.HookPending = false
	return h.record(certID, t, r)
}

// names reads the host's record of t, a target of certID, afresh, and
// reports whether it names the install of in.
func (h Host) names(certID string, t Target, in Identity) (recorded, bool, error) {
	if h.dir == "" || t.HostID != h.ID {
		return recorded{}, false, nil
	}
	m, err := h.readTargets()
	if err != nil {
		return recorded{}, false, err
	}
	r, ok := m[targetKey(certID, t)]
	return r, ok && !r.Removed && r.Seal == t.Seal && in.Fingerprint != "" && r.Fingerprint == in.Fingerprint, nil
}

// Forget notes in the host's record that it removed t, a target of certID
// (see Removal): that the store holds it no more, so that the same sealed
// record put back there is not installed again, nor its command run. A
// target of another host is that host's to note, when it has one left.
//
// Call it under the host's install lock (LockInstalls): the target's
// command lock (hookLockPath) is then removed too, unless a run of the
// command holds it — a process waiting for it (AwaitHook) reads the
// record again under the install lock, finds the target removed, and runs
// nothing, so no lock file is left behind for a target that is gone.
func (h Host) Forget(certID string, t Target) error {
	if err := h.record(certID, t, recorded{Seal: t.Seal, Removed: true}); err != nil || h.dir == "" || t.HostID != h.ID {
		return err
	}
	path := h.hookLockPath(certID, t)
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	if unlock, err := fsutil.TryLock(path); err == nil {
		_ = os.Remove(path)
		unlock()
	}
	return nil
}

// record writes r as the host's record of its target t of certID.
func (h Host) record(certID string, t Target, r recorded) error {
	if h.dir == "" || t.HostID != h.ID {
		return nil
	}
	unlock, err := lockTargets(h.dir)
	if err != nil {
		return err
	}
	defer unlock()
	m, err := h.readTargets()
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	if errors.As(err, &syntax) || errors.As(err, &typ) {
		// A damaged record is started again (this target first): every
		// target it held is refused until recorded again, so the
		// deploy the refusal advises has to be able to write it.
		m, err = map[string]recorded{}, nil
	}
	if err != nil {
		return err
	}
	m[targetKey(certID, t)] = r
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := fsutil.WriteFileAtomic(filepath.Join(h.dir, TargetsFile), b, 0o600); err != nil {
		return err
	}
	if h.cache != nil {
		h.cache.mu.Lock()
		if h.cache.loaded && h.cache.err == nil {
			h.cache.m[targetKey(certID, t)] = r
		}
		h.cache.mu.Unlock()
	}
	return nil
}

// lockTargets takes the lock of dir's TargetsFile (fsutil.Lock, which
// dies with its holder), so that two processes of one host recording
// targets at once lose neither's entry. A write takes milliseconds: a
// wait of targetsLockWait means something is wrong.
func lockTargets(dir string) (unlock func(), err error) {
	return fsutil.Lock(context.Background(), filepath.Join(dir, TargetsFile+".lock"), targetsLockWait)
}

// targetsLockWait bounds the wait for the TargetsFile lock.
const targetsLockWait = 10 * time.Second

// Local is t as this host last recorded it: a target of this host whose
// seal is the one it recorded gets the version it installed.
func (h Host) Local(certID string, t Target) Target {
	if t.HostID != h.ID {
		return t
	}
	m, err := h.recordedTargets()
	if err != nil {
		return t
	}
	if r, ok := m[targetKey(certID, t)]; ok && r.Seal == t.Seal {
		t.Version = r.Version
	}
	return t
}

// Stale reports whether target t of certID may not hold the certificate's
// current version, which the certificate's record describes as cur (its
// version, serial and NotBefore; not its fingerprint, which takes reading
// the version): whether that version is worth reading and Decide asking.
// It reads nothing but this host's record, once a process, since a due
// pass asks it of every target.
//
// A target this host installed with its certificate identified is stale
// when the record names another certificate, or its command is still
// pending (see Remember), whatever the store says of the target (its
// version, a failure): only this host installs it, and it records only
// what it installed, its command pending until it succeeds. Any
// other target is stale, as before certificates were identified, when
// its version (this host's, for its own) is not the current one or its
// last attempt failed.
func (h Host) Stale(certID string, t Target, cur Identity) bool {
	if t.HostID == h.ID {
		if m, err := h.recordedTargets(); err == nil {
			if r, ok := m[targetKey(certID, t)]; ok && r.Seal == t.Seal && r.Fingerprint != "" {
				// A command left pending (its certctl was killed
				// while it ran) is work too: the pass runs it.
				return r.Version != cur.Version || r.Serial != cur.Serial || !r.NotBefore.Equal(cur.NotBefore) || r.HookPending
			}
		}
		t = h.Local(certID, t)
	}
	return t.Version != cur.Version || t.LastError != ""
}

// Decide says whether this host installs the certificate in, a version of
// certID, to its target t, against what it last installed there: its
// record read afresh, so call it under LockInstalls, with the record then
// written (Remember) under the same lock. install is false with why empty
// when t holds in already (another certctl of this host installed it
// meanwhile: nothing to write, no command to run again), and with why
// saying so when in is refused; installed is the version the record
// says is installed there (0: none recorded, or none read):
//
//   - a certificate whose NotBefore is older than the one installed there
//     is never installed over it (a version put back into the database,
//     or a store restored from an older backup);
//   - a version whose number is the installed one's, or lower, is
//     installed only when its certificate is newer (NotBefore later):
//     after a store was restored from a backup, its next renewal takes a
//     number this host may have installed already, with another
//     certificate, which it must not keep serving; the same number with a
//     certificate no newer is one the store was made to hold;
//   - a record written before certificates were identified holds the
//     version alone: the same version is installed already, a lower one
//     is refused.
//
// A refused version stays refused at every pass until the store's
// current version is newer than what the host installed (the certificate
// renewed), or the operator installs it here with `certctl deploy`.
//
// The recorded NotBefore is a floor only while it is not ahead of now (by
// more than ClockSkew): no certificate valid only from the future is
// installed any more (Material.check), so one recorded there is a
// certificate made elsewhere that an older certctl installed, and holding
// to it would refuse every genuine renewal until then. Such a record is
// compared by version number alone, as one written before certificates
// were identified. (Capping the floor at now would not do: a renewal is
// valid from a minute before it was issued, older than now.)
func (h Host) Decide(certID string, t Target, in Identity, now time.Time) (install bool, why string, installed int) {
	if h.dir == "" || t.HostID != h.ID {
		return true, "", 0
	}
	m, err := h.readTargets()
	if err != nil {
		return false, fmt.Sprintf("%s: this host's record of its targets cannot be read (%v); not installed", t.Label(), err), 0
	}
	r, ok := m[targetKey(certID, t)]
	switch {
	case !ok:
		return true, "", 0
	case r.Seal != t.Seal:
		// Recorded anew by `certctl deploy` of this host since this
		// process read the store: that deploy installed it.
		return false, "", r.Version
	case r.Issuer != "" && in.Issuer != "" && r.Issuer != in.Issuer:
		return false, fmt.Sprintf("%s: version %d of the certificate says it was issued otherwise (%s) than the certificate this host installed there (%s, version %d); "+
			"not installed, its command not run (its record changed in the database? run `certctl deploy` here to install it anyway)",
			t.Label(), in.Version, in.Issuer, r.Issuer, r.Version), r.Version
	case r.Fingerprint != "" && r.Fingerprint == in.Fingerprint,
		r.Fingerprint == "" && r.Version != 0 && r.Version == in.Version:
		return false, "", r.Version
	}
	refuse := func(what string) (bool, string, int) {
		installed := fmt.Sprintf("version %d", r.Version)
		if !r.NotBefore.IsZero() {
			installed += ", NotBefore " + r.NotBefore.UTC().Format(time.RFC3339)
		}
		return false, fmt.Sprintf("%s: version %d of the certificate (NotBefore %s) is %s the certificate this host installed there (%s); "+
			"not installed, its command not run (a store restored from an older backup, or a version put into the database? "+
			"renew the certificate to install a new one, or run `certctl deploy` here to install this one)",
			t.Label(), in.Version, in.NotBefore.UTC().Format(time.RFC3339), what, installed), r.Version
	}
	floor := r.NotBefore
	if floor.After(now.Add(ClockSkew)) {
		floor = time.Time{}
	}
	switch {
	case !floor.IsZero() && in.NotBefore.Before(floor):
		return refuse("older than")
	case in.Version > r.Version:
		return true, "", r.Version
	case floor.IsZero():
		return refuse("an older version than")
	case in.NotBefore.After(floor):
		return true, "", r.Version
	}
	return refuse("another certificate, no newer than")
}

// InstallsLockFile is the lock, in the vault directory, under which this
// host compares a target with its record, installs it and records the
// install (see LockInstalls).
const InstallsLockFile = "host.deploy.lock"

// installsLockWait bounds the wait for another certctl's installs: a
// certificate's targets, each with a command of up to HookTimeout.
const installsLockWait = 10 * time.Minute

// LockInstalls takes this host's install lock (fsutil.Lock on
// InstallsLockFile), so that two certctl processes of one host — two
// `renew --due` at once, a deploy during a pass — do not both install the
// same version to a target and run its command twice (a command need not
// be idempotent): the second one, deciding under the lock (Decide), finds
// the first one's install recorded. A host without a vault directory
// locks nothing.
func (h Host) LockInstalls(ctx context.Context) (unlock func(), err error) {
	if h.dir == "" {
		return func() {}, nil
	}
	return fsutil.Lock(ctx, filepath.Join(h.dir, InstallsLockFile), installsLockWait)
}

// checkRecorded refuses a sealed target of this host that differs from
// the host's own record of it. A target it has no record of (recorded
// before the record was kept) passes.
func (h Host) checkRecorded(certID string, t Target) string {
	m, err := h.recordedTargets()
	if err != nil {
		return fmt.Sprintf("%s: this host's record of its targets cannot be read (%v); not installed", t.Label(), err)
	}
	r, ok := m[targetKey(certID, t)]
	if ok && r.Removed && r.Seal == t.Seal {
		return fmt.Sprintf("%s was removed from this host's deploy targets (`certctl deploy --remove`) and is in the store again (an older record put back into the database?); not installed, its command not run (run `certctl deploy` again here to record it)", t.Label())
	}
	if ok && r.Seal != t.Seal {
		return fmt.Sprintf("%s is not the target this host last recorded (an older record put back into the database?); not installed, its command not run (run `certctl deploy` again here to record it)", t.Label())
	}
	return ""
}
