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
	"time"

	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/hookenv"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
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

// Label is how the target appears in InUseBy: "file:PATH (host NAME)".
func (t Target) Label() string {
	if t.HostID == "" {
		return "file:" + t.CertFile
	}
	return "file:" + t.CertFile + " (host " + t.HostName() + ")"
}

// Normalize makes the target's paths absolute and checks that each names a
// file of its own (see checkFiles).
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
	return t, t.checkFiles()
}

// checkFiles refuses a target two of whose files are one: the one written
// last would replace the other — a certificate where the server reads its
// key, and no key written anywhere. The same path twice, or two paths of
// one existing file (a link).
func (t Target) checkFiles() error {
	files := []struct{ role, path string }{
		{"certificate", t.CertFile}, {"key", t.KeyFile}, {"chain", t.ChainFile}, {"fullchain", t.FullchainFile},
	}
	for i, a := range files {
		for _, b := range files[i+1:] {
			if a.path == "" || b.path == "" {
				continue
			}
			same := filepath.Clean(a.path) == filepath.Clean(b.path)
			if !same {
				fa, errA := os.Stat(a.path)
				fb, errB := os.Stat(b.path)
				same = errA == nil && errB == nil && os.SameFile(fa, fb)
			}
			if same {
				return fmt.Errorf("the %s file and the %s file are one file (%s): each must be a file of its own", a.role, b.role, b.path)
			}
		}
	}
	return nil
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
	var ts []Target
	return ts, json.Unmarshal(o.Data, &ts)
}

// RemoveTargets removes the deploy targets of a deleted certificate (their
// paths, hosts and commands leave the store with it).
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
		var ts []Target
		if err := json.Unmarshal(o.Data, &ts); err != nil {
			return nil, err
		}
		out[o.ID] = ts
	}
	return out, nil
}

// Stale returns the targets that do not hold version (or whose command
// failed the last time).
func Stale(ts []Target, version int) []Target {
	var out []Target
	for _, t := range ts {
		if t.Version != version || t.LastError != "" {
			out = append(out, t)
		}
	}
	return out
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
	data, err := json.Marshal(ts)
	if err != nil {
		return false, err
	}
	return newFailure, tx.PutObject(&localstore.Object{Kind: ObjectKind, ID: certID, Data: data, UpdatedAt: now})
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
	data, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	if err := tx.PutObject(&localstore.Object{Kind: ObjectKind, ID: certID, Data: data, UpdatedAt: now}); err != nil {
		return nil, err
	}
	labels := make([]string, len(out))
	for i, x := range out {
		labels[i] = x.Label()
	}
	return labels, nil
}

// Material is what gets installed.
type Material struct {
	CertificateARN string
	// Version is the certificate version the material is of.
	Version        int
	CertificatePEM []byte
	ChainPEM       []byte
	Key            crypto.Signer
}

// Install writes the material to t's files atomically (temp file in the
// same directory, fsync, rename, fsync of the directory; key 0600, others
// 0644) and then runs t.Exec with the paths in its environment — when
// allowExec (this host's hooks.allow_exec); otherwise the command is not
// run and Install returns a *HookError saying so (the files are written).
// When a file cannot be written, the files already written get their old
// content back (or are removed when they did not exist), so that no new
// plaintext key stays behind, and no temp file either.
func Install(ctx context.Context, t Target, m Material, hooks Hooks) error {
	if err := t.checkFiles(); err != nil {
		// A target recorded before the files were checked.
		return err
	}
	keyPEM, err := pemio.EncodePKCS8(m.Key)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{t.KeyFile, keyPEM, 0o600},
		{t.CertFile, m.CertificatePEM, 0o644},
		{t.ChainFile, m.ChainPEM, 0o644},
		{t.FullchainFile, append(append([]byte{}, m.CertificatePEM...), m.ChainPEM...), 0o644},
	}
	// What each file held before, to put back if a later file cannot be
	// written: a failed install leaves neither a new key without its
	// certificate nor a plaintext key at a path that had none.
	type previous struct {
		path   string
		data   []byte
		mode   os.FileMode
		absent bool
	}
	var done []previous
	undo := func() {
		for i := len(done) - 1; i >= 0; i-- {
			p := done[i]
			if p.absent {
				_ = os.Remove(p.path)
				continue
			}
			_ = fsutil.WriteFileAtomic(p.path, p.data, p.mode)
		}
	}
	for _, f := range files {
		if f.path == "" {
			continue
		}
		prev := previous{path: f.path, mode: f.mode}
		known := true
		if fi, err := os.Stat(f.path); err == nil && fi.Mode().IsRegular() {
			if prev.data, err = os.ReadFile(f.path); err != nil {
				undo()
				return fmt.Errorf("reading %s: %w", f.path, err)
			}
			if f.mode != 0o600 {
				prev.mode = fi.Mode().Perm()
			}
		} else if errors.Is(err, fs.ErrNotExist) {
			prev.absent = true
		} else {
			known = false // not a regular file: nothing to put back
		}
		// (WriteFileAtomic removes its temp file on every failure; the
		// temp file is created 0600, so the key is never readable by others.)
		if err := fsutil.WriteFileAtomic(f.path, f.data, f.mode); err != nil {
			undo()
			return err
		}
		if known {
			done = append(done, prev)
		}
	}
	if t.Exec != "" && !hooks.Allow {
		return &HookError{Msg: fmt.Sprintf("deploy hook of %s not run: %v", t.Label(), ErrHooksOff), Skipped: true,
			Summary: "deploy hook not run: deploy hooks are off on this host (hooks.allow_exec)"}
	}
	return RunHook(ctx, t, m.CertificateARN, hooks.Output)
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
}

// HookError is the failure of a target's command (the files were written).
type HookError struct {
	Msg string
	// Summary is Msg without the command or its output.
	Summary string
	// Skipped: the command was not run, hooks being off on this host.
	Skipped bool
}

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
	if t.Exec == "" {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, HookTimeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, "/bin/sh", "-c", t.Exec)
	cmd.Env = hookenv.Environ(
		"CERTCTL_CERTIFICATE_ARN="+arn,
		"CERTCTL_CERT_FILE="+t.CertFile,
		"CERTCTL_KEY_FILE="+t.KeyFile,
		"CERTCTL_CHAIN_FILE="+t.ChainFile,
		"CERTCTL_FULLCHAIN_FILE="+t.FullchainFile,
	)
	shown := ""
	if out == nil {
		out, shown = io.Discard, " (its output is shown only when certctl runs on a terminal)"
	}
	cmd.Stdout, cmd.Stderr = out, out
	// A command that starts a daemon leaves it holding the output: when
	// out is not a file (a pipe is copied), Run would wait for the daemon.
	cmd.WaitDelay = hookOutputGrace
	if err := cmd.Run(); err != nil && !errors.Is(err, exec.ErrWaitDelay) { // ErrWaitDelay: it exited 0
		if cctx.Err() == context.DeadlineExceeded {
			return &HookError{Msg: fmt.Sprintf("deploy hook %q timed out after %s", t.Exec, HookTimeout),
				Summary: fmt.Sprintf("deploy hook timed out after %s", HookTimeout)}
		}
		summary := "deploy hook failed"
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			summary += ": " + exitErr.ProcessState.String() // "exit status 3", "signal: killed"
		}
		return &HookError{Msg: fmt.Sprintf("deploy hook %q failed: %v%s", t.Exec, err, shown), Summary: summary}
	}
	return nil
}
