package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
)

// TargetsFile is this host's own record, in the vault directory, of the
// targets it recorded: the seal and the installed version of each, as it
// last wrote them. The store's copy of a target is what any of its users
// can write; this file is what the host decided. A sealed record of the
// store that differs from it (an older one put back: a command the
// operator removed) is refused, and the version installed is the host's,
// not the store's (which could otherwise make the host reinstall and run
// its command at every pass).
const TargetsFile = "host.targets"

// recorded is what the host last wrote of one target.
type recorded struct {
	Seal    string `json:"seal"`
	Version int    `json:"version"`
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

// Remember notes t, a target of certID this host just recorded or
// installed (its seal and version), in the host's record.
func (h Host) Remember(certID string, t Target) error {
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
	r := recorded{Seal: t.Seal, Version: t.Version}
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

// lockTargets takes the lock of dir's TargetsFile (a lock file created
// exclusively, portable to every system certctl builds for), so that two
// processes of one host recording targets at once lose neither's entry.
// A lock older than staleLock is a killed process's, and is taken over.
func lockTargets(dir string) (unlock func(), err error) {
	path := filepath.Join(dir, TargetsFile+".lock")
	deadline := time.Now().Add(staleLock)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			f.Close()
			return func() { _ = os.Remove(path) }, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if fi, serr := os.Stat(path); serr == nil && time.Since(fi.ModTime()) > staleLock {
			_ = os.Remove(path)
			continue
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: held by another certctl process for %s", path, staleLock)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// staleLock is how long a TargetsFile lock may be held (a write takes
// milliseconds).
const staleLock = 10 * time.Second

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

// checkRecorded refuses a sealed target of this host that differs from
// the host's own record of it. A target it has no record of (recorded
// before the record was kept) passes.
func (h Host) checkRecorded(certID string, t Target) string {
	m, err := h.recordedTargets()
	if err != nil {
		return fmt.Sprintf("%s: this host's record of its targets cannot be read (%v); not installed", t.Label(), err)
	}
	if r, ok := m[targetKey(certID, t)]; ok && r.Seal != t.Seal {
		return fmt.Sprintf("%s is not the target this host last recorded (an older record put back into the database?); not installed, its command not run (run `certctl deploy` again here to record it)", t.Label())
	}
	return ""
}
