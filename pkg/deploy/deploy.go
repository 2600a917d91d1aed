// Package deploy installs a certificate's current version into files where a
// server reads it, atomically, and runs the target's reload command. Targets
// are recorded in the vault so that every renewal redeploys them.
package deploy

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/hookenv"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/shellarg"
)

// ObjectKind is the store kind of a certificate's deploy targets.
const ObjectKind = "deploy"

// HookTimeout bounds one run of a target's --exec command.
const HookTimeout = 2 * time.Minute

// hookOutputGrace is how long a command's output is still copied after
// the command exits (see exec.Cmd.WaitDelay).
const hookOutputGrace = 2 * time.Second

// Target is where one copy of a certificate is installed.
type Target struct {
	CertFile      string `json:"certFile"`
	KeyFile       string `json:"keyFile"`
	ChainFile     string `json:"chainFile,omitempty"`
	FullchainFile string `json:"fullchainFile,omitempty"`
	Exec          string `json:"exec,omitempty"`
	// Version is the certificate version last installed here with its
	// command succeeding; a target behind the current version is installed
	// again by the next `renew --due` (so a failed reload is retried).
	Version int `json:"version,omitempty"`
	// LastError is the failure of the last attempt, if it failed. It may
	// quote the command and its output, which may hold anything.
	LastError string `json:"lastError,omitempty"`
	// Failure is LastError without the command or its output (see
	// FailureSummary), what the dashboard shows; FailedAt is when the last
	// attempt failed. Targets that failed before these were kept have
	// neither.
	Failure  string     `json:"failure,omitempty"`
	FailedAt *time.Time `json:"failedAt,omitempty"`
	// HostID and Host are the identity and name of the host that recorded
	// the target, the only one that installs it (see Host.Owns); Seal is
	// that host's MAC of the target. Targets recorded before hosts were
	// bound have none.
	HostID string `json:"hostId,omitempty"`
	Host   string `json:"host,omitempty"`
	Seal   string `json:"seal,omitempty"`
}

// Label is how the target appears in InUseBy: "file:PATH (host NAME)"
// (with the host's ID beside two targets that render alike: see Labels).
func (t Target) Label() string {
	if t.HostID == "" {
		return "file:" + t.CertFile
	}
	return "file:" + t.CertFile + " (host " + t.HostName() + ")"
}

// Normalize makes the target's paths absolute and checks that each names a
// file of its own (see checkFiles), and refuses a command whose program is
// named by a relative path (shellarg.RelativeProgram).
func (t Target) Normalize() (Target, error) {
	abs := func(p string) (string, error) {
		if p == "" {
			return "", nil
		}
		return filepath.Abs(p)
	}
	var err error
	for _, p := range []*string{&t.CertFile, &t.KeyFile, &t.ChainFile, &t.FullchainFile} {
		if *p, err = abs(*p); err != nil {
			return t, err
		}
	}
	var rel *shellarg.RelativeProgramError
	if err := shellarg.CheckHookCommand(t.Exec); errors.As(err, &rel) {
		return t, fmt.Errorf("--exec: %v: %s", rel, rel.Fix())
	}
	return t, t.checkFiles()
}

// checkFiles refuses a target two of whose files are one: the one written
// last would replace the other — a certificate where the server reads its
// key, and no key written anywhere. The same path twice, or two paths of
// one existing file (a link). It refuses too a file that is there and is
// not a regular file (notRegular).
func (t Target) checkFiles() error {
	files := []struct{ role, path string }{
		{"certificate", t.CertFile}, {"key", t.KeyFile}, {"chain", t.ChainFile}, {"fullchain", t.FullchainFile},
	}
	for _, f := range files {
		if err := notRegular(f.role, f.path); err != nil {
			return err
		}
	}
	for i, a := range files {
		for _, b := range files[i+1:] {
			if a.path == "" || b.path == "" {
				continue
			}
			if samePath(a.path, b.path) {
				return fmt.Errorf("the %s file and the %s file are one file (%s): each must be a file of its own", a.role, b.role, b.path)
			}
		}
	}
	return nil
}

// ErrNotRegular is the cause of the refusal of a target file that is
// there and is neither a regular file nor a directory, or that is a
// descriptor of the process (see notRegular).
var ErrNotRegular = fsutil.ErrNotRegular

// notRegular refuses path, the role file of a target, when it names (its
// links followed) a device, a named pipe or a socket — /dev/null, a FIFO,
// a terminal — or one of the process's own descriptors (/dev/stdout,
// /dev/stderr, /dev/fd/N, /proc/self/fd/N, whatever they lead to): an
// install stages a new file beside the path and renames it over the path,
// which replaced the FIFO, or the link /dev/stdout, with a regular file
// (tester: deploy --cert-file /dev/stdout, run as root, left /dev/stdout a
// file holding the certificate, and every renewal would again); a target
// is a file that every renewal replaces, which these are not. A directory
// is refused when its file is staged ("it is a directory").
func notRegular(role, path string) error {
	if path == "" {
		return nil
	}
	if descriptorLink(path) {
		return fmt.Errorf("the %s file %s is %w but one of this process's descriptors (a link into /proc): a deploy target is a file that every renewal replaces (to print a certificate or its key, use certctl export)",
			role, path, ErrNotRegular)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().IsRegular() || fi.IsDir() {
		return nil
	}
	return fmt.Errorf("the %s file %s is %w but %s: a deploy target is a file that every renewal replaces (to print a certificate or its key, use certctl export)",
		role, path, ErrNotRegular, fsutil.KindOf(fi.Mode()))
}

// descriptorLink reports whether path, or a link it leads through, is
// under /proc (where /dev/stdout, /dev/stderr and /dev/fd lead): one of
// the process's descriptors, whatever file it has open.
func descriptorLink(path string) bool {
	p := filepath.Clean(path)
	for range 40 {
		dir, err := filepath.EvalSymlinks(filepath.Dir(p))
		if err != nil {
			return false
		}
		p = filepath.Join(dir, filepath.Base(p))
		if p == "/proc" || strings.HasPrefix(p, "/proc/") {
			return true
		}
		to, err := os.Readlink(p)
		if err != nil {
			return false
		}
		if !filepath.IsAbs(to) {
			to = filepath.Join(dir, to)
		}
		p = filepath.Clean(to)
	}
	return false
}

// SamePath reports whether a and b name one file (see samePath).
func SamePath(a, b string) bool { return samePath(a, b) }

// samePath reports whether a and b name one file: the same path once
// cleaned, two names (a link) of one existing file, or — a file not
// written yet — one name in one directory reached by two paths (a linked
// directory), which is one file once written.
func samePath(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	if filepath.Base(a) != filepath.Base(b) {
		return false
	}
	da, errA := os.Stat(filepath.Dir(a))
	db, errB := os.Stat(filepath.Dir(b))
	return errA == nil && errB == nil && os.SameFile(da, db)
}

// Shared returns a file t writes that o writes too (its path as t names
// it), "" when none: two targets that share a file would replace each
// other's.
func (t Target) Shared(o Target) string {
	for _, a := range []string{t.CertFile, t.KeyFile, t.ChainFile, t.FullchainFile} {
		for _, b := range []string{o.CertFile, o.KeyFile, o.ChainFile, o.FullchainFile} {
			if a != "" && b != "" && samePath(a, b) {
				return a
			}
		}
	}
	return ""
}

// Targets reads the deploy targets of a certificate.
func Targets(tx localstore.Tx, certID string) ([]Target, error) {
	o, err := tx.GetObject(ObjectKind, certID)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return DecodeTargets(o)
}

// DecodeTargets decodes a deploy record; a damaged one is corrupt
// (localstore.ErrCorrupt).
func DecodeTargets(o *localstore.Object) ([]Target, error) {
	var ts []Target
	if err := json.Unmarshal(o.Data, &ts); err != nil {
		return nil, fmt.Errorf("%w: deploy targets of %s: %v", localstore.ErrCorrupt, o.ID, err)
	}
	return ts, nil
}

// RemoveTargets removes the deploy targets of a deleted certificate (their
// paths, hosts and commands leave the store with it), or the last ones
// `certctl deploy --remove` removes (see DropTargets).
func RemoveTargets(tx localstore.Tx, certID string) error {
	if err := tx.DeleteObject(ObjectKind, certID); err != nil && !errors.Is(err, localstore.ErrNotFound) {
		return err
	}
	return nil
}

// AllTargets reads the deploy targets of every certificate, by certificate ID.
func AllTargets(tx localstore.Tx) (map[string][]Target, error) {
	objs, err := tx.ListObjects(ObjectKind)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]Target, len(objs))
	for _, o := range objs {
		ts, err := DecodeTargets(o)
		if err != nil {
			return nil, err
		}
		out[o.ID] = ts
	}
	return out, nil
}

// RecordAttempt stores the outcome of installing version to the target t
// of certID (the one with t's cert file and host). It reports whether this is a new
// failure (the previous attempt succeeded), which deserves an event; a
// failure repeated at every pass does not.
func RecordAttempt(tx localstore.Tx, certID string, t Target, version int, installErr error, now time.Time) (bool, error) {
	ts, err := Targets(tx, certID)
	if err != nil {
		return false, err
	}
	newFailure := false
	found := false
	for i := range ts {
		if !SameTarget(ts[i], t) {
			continue
		}
		found = true
		if installErr == nil {
			ts[i].Version, ts[i].LastError = version, ""
			ts[i].Failure, ts[i].FailedAt = "", nil
			continue
		}
		newFailure = ts[i].LastError == ""
		ts[i].LastError = installErr.Error()
		ts[i].Failure, ts[i].FailedAt = FailureSummary(installErr), &now
	}
	if !found {
		return installErr != nil, nil
	}
	return newFailure, putTargets(tx, certID, ts, now)
}

// putTargets stores ts as the deploy targets of certID.
func putTargets(tx localstore.Tx, certID string, ts []Target, now time.Time) error {
	data, err := json.Marshal(ts)
	if err != nil {
		return err
	}
	return tx.PutObject(&localstore.Object{Kind: ObjectKind, ID: certID, Data: data, UpdatedAt: now})
}

// AddTarget records t for certID (replacing the target with the same cert
// file on the same host) and returns the InUseBy labels.
func AddTarget(tx localstore.Tx, certID string, t Target, now time.Time) ([]string, error) {
	ts, err := Targets(tx, certID)
	if err != nil {
		return nil, err
	}
	out := []Target{t}
	for _, x := range ts {
		if !SameTarget(x, t) {
			out = append(out, x)
		}
	}
	if err := putTargets(tx, certID, out, now); err != nil {
		return nil, err
	}
	return Labels(out), nil
}

// Material is what gets installed.
type Material struct {
	CertificateARN string
	// Version is the certificate version the material is of.
	Version        int
	CertificatePEM []byte
	ChainPEM       []byte
	Key            crypto.Signer
	// Now is the clock by which a certificate valid only from the future
	// is refused (see ClockSkew); zero: the system's.
	Now time.Time
	// Export is set when the material is checked to be exported, not
	// installed (certctl export): a certificate valid only from later is
	// not refused then, and a refusal says "not exported".
	Export bool
}

// Install is Host.Install by a host without a vault directory, which
// keeps no journal of its installs.
func Install(ctx context.Context, t Target, m Material, hooks Hooks) error {
	return Host{}.Install(ctx, t, m, hooks)
}

// Install writes the material to t's files and then runs t.Exec with the
// paths in its environment — when allowExec (this host's
// hooks.allow_exec); otherwise the command is not run and Install returns
// a *HookError saying so (the files are written). Key 0600, others 0644.
// Material that Material.Identify refuses writes nothing and runs nothing.
//
// The files change together: each new file is first written and synced to
// a temporary file beside it (fsutil.Stage); only when all of them are
// there are they renamed into place, one after another, and their
// directories synced. So a server restarting during an install reads the
// old set or the new one except in the moment of those few renames, whose
// order keeps that moment harmless for the usual readers (see
// renameOrder). A host with a vault directory also journals the renames
// first (see journal), so that an install killed among them (kill -9, a
// power loss) is completed by the next install of this host, before it
// writes anything.
//
// When a file cannot be staged, nothing was changed and no temporary
// file stays; when a rename fails, the files already renamed get their
// old content back (or are removed when they did not exist), so that no
// new plaintext key stays behind beside an old certificate. A temporary
// file of an install killed before its journal was written (the key's
// holds a plaintext key, 0600) stays until an install of that file an
// hour later (fsutil.StaleTemp) removes it.
func (h Host) Install(ctx context.Context, t Target, m Material, hooks Hooks) error {
	if err := h.Write(t, m); err != nil {
		return err
	}
	return t.Hook(ctx, m.CertificateARN, hooks)
}

// Write is Install without the command: it writes the material to t's
// files, or refuses it and writes nothing. A caller that installs under
// the host's install lock writes and records the install (Remember, its
// command pending) under it, claims the command (ClaimHook), and runs it
// (Hook) after unlocking: a command may take up to HookTimeout, and may
// itself run certctl deploy on this vault, which takes the lock. How it
// ended is noted under the lock again (HookDone, HookFailed).
func (h Host) Write(t Target, m Material) error {
	_, err := h.WriteNoting(t, m)
	return err
}

// WriteNoting is Write, also returning what the user should know of what
// it did: a file whose owner was not kept (see fsutil.KeepsOwner), which
// the service reading it as that owner may no longer open (review: it
// changed without a word).
func (h Host) WriteNoting(t Target, m Material) (notices []string, err error) {
	return h.write(t, m)
}

func (h Host) write(t Target, m Material) ([]string, error) {
	if err := t.checkFiles(); err != nil {
		// A target recorded before the files were checked.
		return nil, err
	}
	// The material is checked before anything is written (see
	// Material.check): what is written is the certificates that parsed,
	// re-encoded, and only with the key they match.
	c, err := m.check()
	if err != nil {
		return nil, err
	}
	if err := h.completeInterrupted(); err != nil {
		return nil, err
	}
	keyPEM, err := pemio.EncodePKCS8(m.Key)
	if err != nil {
		return nil, err
	}
	byRole := map[string]installFile{
		"chain":     {t.ChainFile, c.chainPEM, 0o644},
		"fullchain": {t.FullchainFile, append(append([]byte{}, c.certPEM...), c.chainPEM...), 0o644},
		"key":       {t.KeyFile, keyPEM, 0o600},
		"cert":      {t.CertFile, c.certPEM, 0o644},
	}
	var files []installFile
	for _, role := range renameOrder {
		if f := byRole[role]; f.path != "" {
			files = append(files, f)
		}
	}
	return h.installFiles(files)
}

// Hook runs t's command after its files were written (Write), for the
// certificate arn — when hooks.Allow (this host's hooks.allow_exec);
// otherwise the command is not run and Hook returns a *HookError saying
// so.
func (t Target) Hook(ctx context.Context, arn string, hooks Hooks) error {
	if t.Exec != "" && !hooks.Allow {
		return &HookError{Msg: fmt.Sprintf("deploy hook of %s not run: %v", t.Label(), ErrHooksOff), Skipped: true,
			Summary: "deploy hook not run: deploy hooks are off on this host (hooks.allow_exec)"}
	}
	return runHook(ctx, t, arn, hooks.Output, hooks.Env)
}

// renameOrder is the order in which an install renames a target's files
// into place. The key sits between the fullchain and the certificate: a
// server that reads the fullchain and the key (nginx, and most others) and
// one that reads the certificate and the key (Apache's older
// SSLCertificateFile) each see a key that does not match its certificate
// for the time of one rename only, the shortest possible. The chain comes
// first: the issuer's certificate, the same across a renewal by the same
// CA, is the file whose being ahead of the others matters least.
var renameOrder = []string{"chain", "fullchain", "key", "cert"}

// installFile is one file of an install: its path, new content and mode.
type installFile struct {
	path string
	data []byte
	mode os.FileMode
}

// crashHook, when set (by tests), is called at the named points of an
// install; a test makes it exit the process, as kill -9 would stop it.
var crashHook func(point string)

func crashPoint(point string) {
	if crashHook != nil {
		crashHook(point)
	}
}

// installFiles stages every file, journals the renames (when h has a
// vault directory), renames them in the order given, syncs their
// directories and drops the journal; see Install.
func (h Host) installFiles(files []installFile) ([]string, error) {
	var notes []string
	err := h.installFilesNoting(files, &notes)
	return notes, err
}

// installFilesNoting is installFiles, adding to *notes what the user
// should know.
func (h Host) installFilesNoting(files []installFile, notes *[]string) error {
	// What each file held before, to put back if a later rename fails: a
	// failed install leaves neither a new key without its certificate nor
	// a plaintext key at a path that had none.
	type previous struct {
		data   []byte
		mode   os.FileMode
		owner  *fsutil.Owner
		absent bool
		known  bool // false: not a regular file, nothing to put back
	}
	prev := make([]previous, len(files))
	staged := make([]*fsutil.Staged, len(files))
	discard := func() {
		for _, s := range staged {
			if s != nil {
				s.Discard()
			}
		}
	}
	for i, f := range files {
		// Not through a link another user could have made lead to a
		// file of their choosing (tester).
		if err := fsutil.CheckLinks(f.path); err != nil {
			discard()
			return err
		}
		p := previous{mode: f.mode, known: true}
		// A file replaced keeps its owner, group and mode, as certbot's
		// do: a service that reads its key as its own user, or through a
		// group (ssl-cert), still can. A key is never made readable by
		// others, nor unreadable by its owner; one that others could read
		// was not shared with its group on purpose, and becomes 0600.
		mode, own := f.mode, (*fsutil.Owner)(nil)
		if fi, err := os.Stat(f.path); err == nil && fi.Mode().IsRegular() {
			if p.data, err = os.ReadFile(f.path); err != nil {
				discard()
				return fmt.Errorf("reading %s: %w", f.path, err)
			}
			p.mode, p.owner = fi.Mode().Perm(), fsutil.OwnerOf(fi)
			if lfi, err := os.Lstat(f.path); err == nil && fsutil.KeepsOwner(f.path, lfi) {
				mode, own = p.mode, p.owner
			} else if p.owner != nil && !fsutil.TrustedOwner(p.owner.UID) {
				*notes = append(*notes, fmt.Sprintf("%s was another user's (uid %d); its directory may be written by others, so it is now this user's, mode %04o: give it back if a service reads it as that user (chown)",
					f.path, p.owner.UID, f.mode))
			}
			if f.mode == 0o600 {
				if mode&0o004 != 0 {
					mode = 0o600
				} else {
					mode = mode&0o640 | 0o600
				}
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			p.absent = true
		} else {
			p.known = false
		}
		prev[i] = p
		// (Stage removes its temp file on every failure; the temp file
		// is created 0600, so the key is never readable by others.)
		s, err := fsutil.StageOwned(f.path, f.data, mode, own)
		if err != nil {
			discard()
			return err
		}
		staged[i] = s
	}
	// The staged files' directory entries are synced before the journal
	// names them: after a power loss the journal never names a temp file
	// that is gone (which recovery would take for one renamed before).
	for _, dir := range dirsOf(staged) {
		if err := fsutil.SyncDir(dir); err != nil {
			discard()
			return fmt.Errorf("syncing directory %s: %w", dir, err)
		}
	}
	crashPoint("staged")
	j, err := h.writeJournal(staged)
	if err != nil {
		discard()
		return err
	}
	undo := func(n int) {
		for i := n - 1; i >= 0; i-- {
			p := prev[i]
			switch {
			case !p.known:
			case p.absent:
				_ = os.Remove(files[i].path)
			default:
				// Put back as it was, its owner and group too.
				if s, err := fsutil.StageOwned(files[i].path, p.data, p.mode, p.owner); err == nil {
					if s.Commit() != nil {
						s.Discard()
					}
				}
			}
		}
	}
	for i, s := range staged {
		if err := s.Commit(); err != nil && !renamedByRecovery(s) {
			// The temp files and the journal go first: were the
			// process killed while putting the old files back, no
			// recovery would rename the rest of the new ones after
			// them.
			discard()
			j.drop()
			undo(i)
			return err
		}
		crashPoint(fmt.Sprintf("renamed %d", i+1))
	}
	for _, dir := range dirsOf(staged) {
		if err := fsutil.SyncDir(dir); err != nil {
			j.drop()
			undo(len(staged))
			return fmt.Errorf("syncing directory %s: %w", dir, err)
		}
	}
	j.drop()
	return nil
}

// renamedByRecovery reports whether s's temporary file is gone because
// another process's completeInterrupted, which took this install's
// journal for a killed one's, renamed it into place already.
func renamedByRecovery(s *fsutil.Staged) bool {
	_, terr := os.Lstat(s.Temp())
	_, perr := os.Lstat(s.Path)
	return errors.Is(terr, fs.ErrNotExist) && perr == nil
}

// dirsOf returns the directories of the staged files, once each.
func dirsOf(staged []*fsutil.Staged) []string {
	var dirs []string
	seen := map[string]bool{}
	for _, s := range staged {
		if d := filepath.Dir(s.Path); !seen[d] {
			seen[d] = true
			dirs = append(dirs, d)
		}
	}
	return dirs
}

// Hooks is how this host runs targets' commands.
type Hooks struct {
	// Allow is this host's hooks.allow_exec: whether it runs them.
	Allow bool
	// Output receives what a command prints, as it prints it (nil:
	// discarded). It is this host's own terminal, never a log: what a
	// command prints may be anything, the key it was handed among it, so it
	// goes nowhere else — not into the error, the vault, an event or
	// another host.
	Output io.Writer
	// Env is added to the command's environment: the vault's
	// (localstore.Vault.HookEnv), for a certctl it runs.
	Env []string
}

// HookError is the failure of a target's command (the files were written).
type HookError struct {
	Msg string
	// Summary is Msg without the command or its output.
	Summary string
	// Skipped: the command was not run, hooks being off on this host.
	Skipped bool
	// OutputHidden: the command's output went nowhere (not a terminal,
	// hooks.output terminal), which a message may say how to change.
	OutputHidden bool
	// Interrupted: an interruption (Ctrl-C, SIGTERM) stopped the command,
	// or came before it started — not the command's failure.
	Interrupted bool
}

// HookOutputHint says where a command's hidden output can be seen.
const HookOutputHint = "a deploy command's output is shown only on a terminal, or everywhere with: certctl config set hooks.output stderr"

func (e *HookError) Error() string { return e.Msg }

// FailureSummary describes a failed install without quoting the target's
// command or its output, either of which may hold anything (a token on
// the command line, a secret a reload script prints): "deploy hook failed:
// exit status 3", "deploy hook timed out after 2m0s", or the error of a
// file that could not be written.
func FailureSummary(err error) string {
	var hookErr *HookError
	if errors.As(err, &hookErr) {
		if hookErr.Summary != "" {
			return hookErr.Summary
		}
		return "deploy hook failed"
	}
	return err.Error()
}

// RunHook runs t.Exec (sh -c) with CERTCTL_CERTIFICATE_ARN, CERTCTL_CERT_FILE,
// CERTCTL_KEY_FILE, CERTCTL_CHAIN_FILE and CERTCTL_FULLCHAIN_FILE set, within
// HookTimeout, its standard output and error going to out (see
// Hooks.Output). Its failure is a *HookError, which holds none of what
// the command printed.
func RunHook(ctx context.Context, t Target, arn string, out io.Writer) error {
	return runHook(ctx, t, arn, out, nil)
}

// runHook is RunHook with env added to the command's environment.
func runHook(ctx context.Context, t Target, arn string, out io.Writer, env []string) error {
	if t.Exec == "" {
		return nil
	}
	if ctx.Err() != nil {
		return &HookError{Msg: "deploy hook of " + t.Label() + " not run: the command was interrupted",
			Summary: "deploy hook not run: the command was interrupted", Interrupted: true}
	}
	if err := shellarg.CheckHookCommand(t.Exec); err != nil {
		// A target recorded before hooks ran in / (deploy refuses it
		// now): run there, it would be another program, or none
		// (review: "exit status 127" at every renewal, unexplained).
		return &HookError{Msg: "deploy hook of " + t.Label() + " not run: " + err.Error() + ": deploy again with its absolute path",
			Summary: "deploy hook not run: " + err.Error() + ": deploy again with its absolute path"}
	}
	cctx, cancel := context.WithTimeout(ctx, HookTimeout)
	defer cancel()
	cmd := hookenv.Command(cctx, t.Exec, append(env[:len(env):len(env)],
		"CERTCTL_CERTIFICATE_ARN="+arn,
		"CERTCTL_CERT_FILE="+t.CertFile,
		"CERTCTL_KEY_FILE="+t.KeyFile,
		"CERTCTL_CHAIN_FILE="+t.ChainFile,
		"CERTCTL_FULLCHAIN_FILE="+t.FullchainFile)...,
	)
	shown := ""
	if out == nil {
		out, shown = io.Discard, " (its output is shown only on a terminal, or everywhere with: certctl config set hooks.output stderr)"
	}
	cmd.Stdout = hookenv.Output(out)
	cmd.Stderr = cmd.Stdout
	// A command that starts a daemon leaves it holding the output: when
	// out is not a file (a pipe is copied), Run would wait for the daemon.
	cmd.WaitDelay = hookOutputGrace
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) { // ErrWaitDelay: it exited 0
		if ctx.Err() != nil {
			// Killed by the interruption, not failed (review): the
			// next pass runs it again.
			return &HookError{Msg: "deploy hook of " + t.Label() + " stopped: the command was interrupted",
				Summary: "deploy hook stopped: the command was interrupted", Interrupted: true}
		}
		if cctx.Err() == context.DeadlineExceeded {
			return &HookError{Msg: fmt.Sprintf("deploy hook %q timed out after %s", t.Exec, HookTimeout),
				Summary: fmt.Sprintf("deploy hook timed out after %s", HookTimeout)}
		}
		summary := "deploy hook failed"
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			summary += ": " + exitErr.ProcessState.String() // "exit status 3", "signal: killed"
		}
		return &HookError{Msg: fmt.Sprintf("deploy hook %q failed: %v%s", t.Exec, err, shown), Summary: summary, OutputHidden: shown != ""}
	}
	return nil
}
