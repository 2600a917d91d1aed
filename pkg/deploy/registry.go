package deploy

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

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
	m[targetKey(certID, t)] = recorded{Seal: t.Seal, Version: t.Version}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return fsutil.WriteFileAtomic(filepath.Join(h.dir, TargetsFile), b, 0o600)
}

// Local is t as this host last recorded it: a target of this host whose
// seal is the one it recorded gets the version it installed.
func (h Host) Local(certID string, t Target) Target {
	if t.HostID != h.ID {
		return t
	}
	m, err := h.readTargets()
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
	m, err := h.readTargets()
	if err != nil {
		return fmt.Sprintf("%s: this host's record of its targets cannot be read (%v); not installed", t.Label(), err)
	}
	if r, ok := m[targetKey(certID, t)]; ok && r.Seal != t.Seal {
		return fmt.Sprintf("%s is not the target this host last recorded (an older record put back into the database?); not installed, its command not run (run `certctl deploy` again here to record it)", t.Label())
	}
	return ""
}
