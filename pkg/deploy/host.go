package deploy

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/localstore"
)

// Files of the vault directory that make up this host's deploy identity.
// They are local to the directory and never stored in the database: a
// PostgreSQL store shared by many hosts holds every host's targets, and
// each host installs only its own.
const (
	// HostIDFile holds the host's UUID, created on first use (0600).
	HostIDFile = "host.id"
	// HostKeyFile holds the secret with which the host seals the targets
	// it records (0600), so that a target written straight into the
	// database is not taken for one of this host's.
	HostKeyFile = "host.key"
)

// Host is the machine that records and installs deploy targets.
type Host struct {
	// ID is the UUID of host.id; Name is for display (host.name, or the
	// system's host name).
	ID, Name string
	key      []byte
	dir      string        // the vault directory, which holds TargetsFile
	cache    *targetsCache // TargetsFile as read (shared by copies of h)
}

// LocalHost reads the identity kept in the vault directory dir, creating
// it on first use; name is the host's display name.
func LocalHost(dir, name string) (Host, error) {
	h, _, err := loadHost(dir, name, true)
	return h, err
}

// ExistingHost reads the identity kept in the vault directory dir as
// LocalHost does, but never creates it: ok is false when the directory
// has no host.id yet (this host never recorded a target from it), and a
// read-only command (vault verify) then has none of its targets to judge.
// A host.id without its host.key is a damaged identity (exit 6).
func ExistingHost(dir, name string) (h Host, ok bool, err error) {
	return loadHost(dir, name, false)
}

// loadHost reads the identity of dir, creating what is missing when
// create is set; ok is false when create is not set and a file is missing.
func loadHost(dir, name string, create bool) (h Host, ok bool, err error) {
	read := func(path string, gen func() string) (string, error) {
		if create {
			return readOrCreate(path, gen)
		}
		b, err := os.ReadFile(path)
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return strings.TrimSpace(string(b)), err
	}
	id, err := read(filepath.Join(dir, HostIDFile), func() string { return uuid.NewString() })
	if err != nil || id == "" && !create {
		return Host{}, false, err
	}
	if _, err := uuid.Parse(id); err != nil {
		return Host{}, false, damagedIdentity(fmt.Sprintf("%s: not a UUID", filepath.Join(dir, HostIDFile)))
	}
	k, err := read(filepath.Join(dir, HostKeyFile), func() string {
		var b [32]byte
		_, _ = rand.Read(b[:])
		return hex.EncodeToString(b[:])
	})
	if err != nil {
		return Host{}, false, err
	}
	if k == "" && !create {
		// host.id without host.key: a process making the identity
		// would make a new key, under which every target of this host
		// is refused (its seals made with the lost one).
		return Host{}, false, damagedIdentity(fmt.Sprintf("%s: missing, while %s is there", filepath.Join(dir, HostKeyFile), HostIDFile))
	}
	key, err := hex.DecodeString(k)
	if err != nil || len(key) < 16 {
		return Host{}, false, damagedIdentity(fmt.Sprintf("%s: not a host key", filepath.Join(dir, HostKeyFile)))
	}
	return Host{ID: id, Name: name, key: key, dir: dir, cache: &targetsCache{}}, true, nil
}

// damagedIdentity is the error of a host.id or host.key that is not one:
// the vault directory is damaged (exit 6), with how to recover (tester:
// exit 1, "InternalFailure", and no hint).
func damagedIdentity(msg string) error {
	return (&errs.Error{Exit: errs.ExitVaultUnavailable,
		Msg: msg + ": this host's deploy identity is damaged"}).
		WithHint("put back %s and %s from a copy of this vault directory (a backup does not hold them); without one, remove both: a new identity is made, this host's old targets are then another host's (deploy them again here, and remove the old ones with certctl deploy ARN --remove --cert-file PATH --host OLD-ID)", HostIDFile, HostKeyFile)
}

// readOrCreate returns the trimmed content of path, first writing gen()
// there (0600) when it does not exist; of two processes creating it at
// once, both read the one that won (link is atomic and never replaces).
func readOrCreate(path string, gen func() string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	tmp, err := fsutil.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.WriteString(gen() + "\n")
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", err
		}
	} else {
		tmp.Close()
		return "", err
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, os.ErrExist) {
		return "", err
	}
	b, err = os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(string(b)), nil
}

// Bind makes t a target of host h for certificate certID: it records the
// host and seals the target with h's key.
func (h Host) Bind(certID string, t Target) Target {
	t.HostID, t.Host = h.ID, h.Name
	t.Seal = h.seal(certID, t)
	return t
}

// seal is the MAC of what a target makes its host do: write these files
// and run this command, for this certificate.
func (h Host) seal(certID string, t Target) string {
	data, _ := json.Marshal([]string{certID, t.HostID, t.CertFile, t.KeyFile, t.ChainFile, t.FullchainFile, t.Exec})
	return h.mac(data)
}

// mac is the HMAC-SHA256, in hex, of parts under the host's key (host.key):
// what this host writes for itself alone (a target's seal, a deploy
// journal) and must not take from anyone else.
func (h Host) mac(parts ...[]byte) string {
	m := hmac.New(sha256.New, h.key)
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// Owns decides whether host h installs target t of certificate certID.
// A target of another host is left to that host; one that names h but
// does not carry h's seal (written into the database by someone else) is
// refused. A target recorded before targets had hosts is installed only
// from a store where it can only be this host's: not a shared one
// (shared: a PostgreSQL database of many hosts), nor one copied from
// another store (CopiedStore: vault migrate or restore), whose unbound
// targets may have been written into that store by anyone. why says
// what h does not do and why.
func (h Host) Owns(certID string, t Target, shared, copied bool) (ok bool, why string) {
	switch {
	case t.HostID == "" && !shared && !copied:
		return true, ""
	case t.HostID == "" && shared:
		return false, fmt.Sprintf("%s was recorded without a host; not installed from this shared store (run `certctl deploy` again on the host it belongs to)", t.Label())
	case t.HostID == "":
		return false, fmt.Sprintf("%s was recorded without a host in the store this vault was copied from (vault migrate or restore); not installed, its command not run (run `certctl deploy` again here to record it)", t.Label())
	case t.HostID != h.ID:
		// The path alone: the host, named next, is the label's other part
		// (which may carry a part of its ID beside the name, Labels).
		return false, fmt.Sprintf("file:%s belongs to host %s (%s); left for that host", t.CertFile, t.HostName(), t.HostID)
	}
	if why := h.refusal(certID, t); why != "" {
		return false, why
	}
	return true, ""
}

// refusal says why h refuses t, a target of certID that names h: it is
// not sealed by h's key (written or changed in the database by someone
// else: another host, or by hand), or not the target h last recorded
// (see checkRecorded); "" when h installs it. It names the target by its
// cert file, never by its command (which may hold a secret).
func (h Host) refusal(certID string, t Target) string {
	if !hmac.Equal([]byte(t.Seal), []byte(h.seal(certID, t))) {
		return fmt.Sprintf("%s names this host but is not sealed by its %s (written straight into the database?); not installed, its command not run (run `certctl deploy` again here to record it)", t.Label(), HostKeyFile)
	}
	return h.checkRecorded(certID, t)
}

// Refused is a target of this host's that its installs refuse (see
// RefusedTargets).
type Refused struct {
	CertID string
	Target Target
	// Why is Owns' reason, which names the target by its cert file, never
	// by its command.
	Why string
}

// RefusedTargets judges, as Owns does at every install, each target of
// tx's store that names h, and returns those h refuses (not sealed by h,
// or not as h last recorded them), by certificate and cert file. Targets
// of other hosts, whose keys h does not hold, and targets recorded
// without a host are not judged; records that do not decode are skipped
// (vault verify names them).
func (h Host) RefusedTargets(tx localstore.Tx) ([]Refused, error) {
	if h.ID == "" {
		return nil, nil // no identity: no target names it
	}
	objs, err := tx.ListObjects(ObjectKind)
	if err != nil {
		return nil, err
	}
	var refused []Refused
	for _, o := range objs {
		ts, err := DecodeTargets(o)
		if err != nil {
			continue
		}
		for _, t := range ts {
			if t.HostID != h.ID {
				continue
			}
			if why := h.refusal(o.ID, t); why != "" {
				refused = append(refused, Refused{CertID: o.ID, Target: t, Why: why})
			}
		}
	}
	slices.SortStableFunc(refused, func(a, b Refused) int {
		return strings.Compare(a.CertID+" "+a.Target.CertFile, b.CertID+" "+b.Target.CertFile)
	})
	return refused, nil
}

// SameTarget reports whether a and b are the same target: the same cert
// file on the same host (two hosts may use the same path).
func SameTarget(a, b Target) bool { return a.CertFile == b.CertFile && a.HostID == b.HostID }

// HostName is the display name of t's host.
func (t Target) HostName() string {
	if t.Host != "" {
		return t.Host
	}
	return t.HostID
}

// ErrHooksOff is the refusal of a command where hooks.allow_exec is off.
var ErrHooksOff = errors.New("deploy hooks are off on this host (hooks.allow_exec is false; it defaults to false on a shared PostgreSQL store): " +
	"enable them in this host's configuration with `certctl config set hooks.allow_exec true` or CERTCTL_HOOKS_ALLOW_EXEC=true")

// metaCopied marks a store made by copying another (vault migrate, vault
// restore): see Owns.
const metaCopied = "deploy-copied-store"

// MarkCopiedStore records in tx's store that it was copied from another,
// so that its targets recorded without a host are installed nowhere.
func MarkCopiedStore(tx localstore.Tx) error { return tx.PutMeta(metaCopied, []byte("1")) }

// CopiedStore reports whether tx's store was copied from another.
func CopiedStore(tx localstore.Tx) (bool, error) {
	_, err := tx.GetMeta(metaCopied)
	if errors.Is(err, localstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// RecordedHostID is the host ID kept in the vault directory dir, "" when
// it has none yet (the first deploy makes one): read without creating it.
func RecordedHostID(dir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, HostIDFile))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// OtherHostTargets counts the targets of tx's store recorded by a host
// other than hostID ("" when the vault directory has no identity yet) —
// when named is set, only those of a host of that name (FormerSelf: this
// host's name under another identity, on a store other hosts share) — and
// names those hosts as Owns does ("web1 (ID)"), sorted. Targets recorded
// without a host are not counted, nor records that do not decode (vault
// verify names them).
func OtherHostTargets(tx localstore.Tx, hostID, named string) (n int, hosts []string, err error) {
	objs, err := tx.ListObjects(ObjectKind)
	if err != nil {
		return 0, nil, err
	}
	seen := map[string]bool{}
	for _, o := range objs {
		ts, err := DecodeTargets(o)
		if err != nil {
			continue
		}
		for _, t := range ts {
			if t.HostID == "" || t.HostID == hostID || (named != "" && t.Host != named) {
				continue
			}
			n++
			if h := fmt.Sprintf("%s (%s)", t.HostName(), t.HostID); !seen[h] {
				seen[h] = true
				hosts = append(hosts, h)
			}
		}
	}
	slices.Sort(hosts)
	return n, hosts, nil
}
