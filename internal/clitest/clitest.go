// Package clitest runs certctl in-process for tests: a private vault and
// home, a fake clock the test moves, and helpers that parse what commands
// print. Each Run builds a new factory, as a new process would.
package clitest

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the vault's database driver, for Dump

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/localstore"
)

// Env is one test's certctl world.
type Env struct {
	T     testing.TB
	Dir   string // the test's private directory
	Vault string // the vault directory
	// Vars are the environment variables certctl sees.
	Vars map[string]string
	now  time.Time
	// TTY makes the commands' streams terminals (colour stays off).
	TTY bool
	// Step is how far the clock moves after each Run (default 1s), so
	// that successive commands have distinct times.
	Step time.Duration
}

// New makes an Env whose clock starts at the current time (whole seconds).
func New(t testing.TB) *Env {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	e := &Env{T: t, Dir: dir, Vault: filepath.Join(dir, "vault"), now: time.Now().UTC().Truncate(time.Second), Step: time.Second}
	e.Vars = map[string]string{
		"HOME":            home,
		"XDG_CONFIG_HOME": filepath.Join(home, ".config"),
		"XDG_DATA_HOME":   filepath.Join(home, ".local", "share"),
		"CERTCTL_VAULT":   e.Vault,
		"NO_COLOR":        "1",
		// No DNS query leaves the machine: validation checks fail fast.
		"CERTCTL_VALIDATION_RESOLVERS": "127.0.0.1:9",
	}
	return e
}

// Now is the fake clock's time.
func (e *Env) Now() time.Time { return e.now }

// SetNow sets the fake clock.
func (e *Env) SetNow(t time.Time) { e.now = t.UTC() }

// Advance moves the fake clock.
func (e *Env) Advance(d time.Duration) { e.now = e.now.Add(d) }

// Result is what one command did.
type Result struct {
	Args           []string
	Code           errs.ExitCode
	Stdout, Stderr string
}

func (r Result) String() string {
	return fmt.Sprintf("certctl %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// Factory builds the factory a command of this Env runs with.
func (e *Env) Factory() (*cmdutil.Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	ios.SetTTY(e.TTY)
	f := cmdutil.New(ios, "test")
	now := e.now
	f.Now = func() time.Time { return now }
	vars := make(map[string]string, len(e.Vars))
	for k, v := range e.Vars {
		vars[k] = v
	}
	f.Getenv = func(k string) string { return vars[k] }
	return f, out, errOut
}

// Run runs certctl with args at the clock's time, then moves the clock by
// Step.
func (e *Env) Run(args ...string) Result {
	e.T.Helper()
	f, out, errOut := e.Factory()
	code := app.Run(context.Background(), f, args)
	e.now = e.now.Add(e.Step)
	return Result{Args: args, Code: code, Stdout: out.String(), Stderr: errOut.String()}
}

// MustRun runs certctl and fails the test unless it exits 0.
func (e *Env) MustRun(args ...string) Result {
	e.T.Helper()
	r := e.Run(args...)
	if r.Code != 0 {
		e.T.Fatalf("%v", r)
	}
	return r
}

// JSON runs certctl with -o json, requires exit 0 and decodes stdout into v.
func (e *Env) JSON(v any, args ...string) {
	e.T.Helper()
	r := e.MustRun(append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(r.Stdout), v); err != nil {
		e.T.Fatalf("%v\nnot JSON: %v", r, err)
	}
}

// RequestPrivate requests a PRIVATE certificate from the default CA and
// returns its ARN.
func (e *Env) RequestPrivate(domain string, extra ...string) string {
	e.T.Helper()
	var out struct{ CertificateArn string }
	e.JSON(&out, append([]string{"request", "--domain-name", domain, "--certificate-authority-arn", "default"}, extra...)...)
	return out.CertificateArn
}

// ImportNamed imports a certificate for name (a leaf of a throwaway
// root, with its key) and returns its ARN: name may hold anything a test
// needs to see shown safely.
func (e *Env) ImportNamed(name string) string {
	e.T.Helper()
	return e.ImportLeaf(testpki.LeafOptions{Names: []string{name}})
}

// ImportLeaf imports a leaf of o (names, validity) of a throwaway root,
// with its key, adding args to import (--tags…), and returns its ARN.
func (e *Env) ImportLeaf(o testpki.LeafOptions, args ...string) string {
	e.T.Helper()
	ca := testpki.NewRoot("clitest Import Root", e.now)
	leaf, key := ca.Leaf(o)
	dir, err := os.MkdirTemp(e.Dir, "import-")
	if err != nil {
		e.T.Fatal(err)
	}
	crt, k := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(crt, testpki.CertPEM(leaf), 0o600); err != nil {
		e.T.Fatal(err)
	}
	if err := os.WriteFile(k, testpki.KeyPEM(key), 0o600); err != nil {
		e.T.Fatal(err)
	}
	var out struct{ CertificateArn string }
	e.JSON(&out, append([]string{"import", "--certificate", crt, "--private-key", k}, args...)...)
	return out.CertificateArn
}

// Export exports arn's key (which makes it eligible for renewal).
func (e *Env) Export(arn string) {
	e.T.Helper()
	pass := filepath.Join(e.Dir, "export-pass.txt")
	if err := os.WriteFile(pass, []byte("correct horse battery staple\n"), 0o600); err != nil {
		e.T.Fatal(err)
	}
	e.MustRun("export", arn, "--passphrase-file", pass, "-o", "json")
}

// Version is one entry of describe --versions.
type Version struct {
	VersionNumber int
	Serial        string
	NotBefore     time.Time
	NotAfter      time.Time
	Current       bool
}

// Certificate is the part of describe's output tests look at.
type Certificate struct {
	CertificateArn          string
	DomainName              string
	Serial                  string
	Status                  string
	Type                    string
	KeyPairOrigin           string
	NotBefore               time.Time
	NotAfter                time.Time
	RenewalEligibility      string
	Exported                bool
	CertificateAuthorityArn string
	InUseBy                 []string
	RenewalSummary          *struct {
		RenewalStatus       string
		RenewalStatusReason string
	}
	Versions []Version
}

// Describe runs describe --versions on arn.
func (e *Env) Describe(arn string) Certificate {
	e.T.Helper()
	var out struct{ Certificate Certificate }
	e.JSON(&out, "describe", arn, "--versions")
	return out.Certificate
}

// Leaf returns the current certificate of arn, parsed from describe --pem.
func (e *Env) Leaf(arn string) *x509.Certificate {
	e.T.Helper()
	var out struct{ Certificate string }
	e.JSON(&out, "describe", arn, "--pem")
	c, err := ParseCert([]byte(out.Certificate))
	if err != nil {
		e.T.Fatalf("describe --pem of %s: %v", arn, err)
	}
	return c
}

// ParseCert parses the first PEM certificate of data, and requires that
// the block is complete.
func ParseCert(data []byte) (*x509.Certificate, error) {
	b, _ := pem.Decode(data)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("no PEM certificate in %d bytes", len(data))
	}
	return x509.ParseCertificate(b.Bytes)
}

// Event is a stored event.
type Event struct {
	DetailType string         `json:"detail-type"`
	Time       string         `json:"time"`
	Resources  []string       `json:"resources"`
	Detail     map[string]any `json:"detail"`
}

// Events returns the events of a detail type (all when empty) about arn
// (all when empty).
func (e *Env) Events(detailType, arn string) []Event {
	e.T.Helper()
	var out struct{ Events []Event }
	e.JSON(&out, "events")
	var evs []Event
	for _, ev := range out.Events {
		if detailType != "" && ev.DetailType != detailType {
			continue
		}
		if arn != "" && (len(ev.Resources) != 1 || ev.Resources[0] != arn) {
			continue
		}
		evs = append(evs, ev)
	}
	return evs
}

// RenewResult is one outcome of renew.
type RenewResult struct {
	CertificateArn string
	Outcome        string
	Reason         string
	// Targets are the deploy targets the pass installed or left.
	Targets []struct{ Target, Host, Outcome, Reason string }
}

// Renew runs renew with args and -o json and returns the exit code and
// the outcomes by ARN.
func (e *Env) Renew(args ...string) (errs.ExitCode, map[string]RenewResult, Result) {
	e.T.Helper()
	r := e.Run(append(append([]string{"renew"}, args...), "-o", "json")...)
	var out struct{ Results []RenewResult }
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		e.T.Fatalf("%v\nnot JSON: %v", r, err)
	}
	m := map[string]RenewResult{}
	for _, res := range out.Results {
		if _, dup := m[res.CertificateArn]; dup {
			e.T.Fatalf("renew reported %s twice:\n%v", res.CertificateArn, r)
		}
		m[res.CertificateArn] = res
	}
	return r.Code, m, r
}

// OpenVault opens the vault directly (close it before the next Run).
func (e *Env) OpenVault() *localstore.Vault {
	e.T.Helper()
	v, err := localstore.Open(context.Background(), e.Vault, localstore.Options{})
	if err != nil {
		e.T.Fatal(err)
	}
	return v
}

// Tamper changes the vault's store (CERTCTL_STORE when the test set one)
// behind certctl's back, as anyone who can write its database can: fn
// runs in a write transaction, and nothing it writes is sealed under the
// master key.
func (e *Env) Tamper(fn func(tx localstore.Tx) error) {
	e.T.Helper()
	v, err := localstore.Open(context.Background(), e.Vault, localstore.Options{StoreURL: e.Vars["CERTCTL_STORE"]})
	if err != nil {
		e.T.Fatal(err)
	}
	defer v.Close()
	if err := v.Store.Update(context.Background(), fn); err != nil {
		e.T.Fatal(err)
	}
}

// Dump returns every row of every table of the vault's database, sorted,
// so that a test can compare the vault's content before and after.
func Dump(t testing.TB, vaultDir string) string {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(vaultDir, "vault.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	rows, err := db.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type='table' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	if len(tables) == 0 {
		t.Fatal("the vault database has no tables")
	}
	var b strings.Builder
	for _, tbl := range tables {
		r, err := db.QueryContext(ctx, "SELECT * FROM "+tbl)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := r.Columns()
		var lines []string
		for r.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := r.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("%v", vals))
		}
		r.Close()
		sort.Strings(lines)
		fmt.Fprintf(&b, "== %s (%d rows)\n%s\n", tbl, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// Mail is one validation message found in the vault's outbox (where
// validation email goes when no SMTP server is configured).
type Mail struct {
	Path       string
	To         string
	DomainName string
	Code       string
}

// Outbox returns the messages of the vault's outbox, sorted by file name.
func (e *Env) Outbox() []Mail {
	e.T.Helper()
	paths, err := filepath.Glob(filepath.Join(e.Vault, "outbox", "*.eml"))
	if err != nil {
		e.T.Fatal(err)
	}
	sort.Strings(paths)
	var out []Mail
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			e.T.Fatal(err)
		}
		m := Mail{Path: p}
		for _, line := range strings.Split(string(b), "\n") {
			line = strings.TrimRight(line, "\r")
			if v, ok := strings.CutPrefix(line, "To: "); ok && m.To == "" {
				m.To = v
			}
			if v, ok := strings.CutPrefix(line, "Domain name: "); ok {
				m.DomainName = v
			}
			if v, ok := strings.CutPrefix(line, "Approval code: "); ok {
				m.Code = v
			}
		}
		if m.To == "" || m.Code == "" {
			e.T.Fatalf("outbox message %s has no recipient or no approval code:\n%s", p, b)
		}
		out = append(out, m)
	}
	return out
}

// LineCount is the number of lines in the file at p (0 when there is no
// such file): how many times a hook that appends a line has run.
func LineCount(t testing.TB, p string) int {
	t.Helper()
	b, err := os.ReadFile(p)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}
