package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

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
	m, err := h.readTargets()
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
