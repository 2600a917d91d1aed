package app_test

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/fastpath"
	"github.com/certctl/certctl/pkg/iostreams"
)

// Start-up budgets, in bytes allocated by package initialisation as
// GODEBUG=inittrace=1 reports it (deterministic, unlike a time). A
// package-level regexp.MustCompile, a table built in init or a template
// parsed at start-up in certctl's own packages fails ownPackageInit; a new
// dependency with a heavy init fails totalInit, as would tablewriter
// v1.1's width cache (an 8192-entry map made at init: 660 KB and 125 page
// faults in every process, the reason go.mod holds v1.0.9).
const (
	ownPackageInit = 8 << 10   // any one github.com/certctl/certctl package
	ownInit        = 24 << 10  // all of them
	totalInit      = 700 << 10 // every package linked in (557 KB on 2026-12-03, nearly all third-party; 1.26 MB before tablewriter v1.0.9)
)

type initRecord struct {
	pkg   string
	bytes int
}

// testVersion is the version buildCertctl sets, as a release build does.
const testVersion = "1.2.3-test"

// buildCertctl builds certctl as released (CGO_ENABLED=0, its version set
// at build time) into a temporary directory.
func buildCertctl(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds certctl")
	}
	bin := filepath.Join(t.TempDir(), "certctl")
	build := exec.Command("go", "build", "-ldflags", "-X github.com/certctl/certctl/pkg/fastpath.version="+testVersion,
		"-o", bin, "github.com/certctl/certctl/cmd/certctl")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// inittrace runs bin with args under GODEBUG=inittrace=1 and returns the
// package inits it reports and what it printed.
func inittrace(t *testing.T, bin, vault string, args ...string) ([]initRecord, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	// An environment of its own, the same wherever the test runs: the
	// first os.Getenv copies the whole environment (pkg/fastpath's init
	// reads GODEBUG), so the bytes its init allocates grow with the
	// caller's — 720 with these variables, 3,928 under a CI sandbox's
	// (which failed ownInit with nothing of certctl's changed).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GODEBUG=inittrace=1", "CERTCTL_VAULT=" + vault}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("certctl %q: %v\n%s", args, err, stderr.String())
	}
	if _, err := os.Stat(vault); err == nil {
		t.Errorf("certctl %q created a vault", args)
	}
	return parseInittrace(t, stderr.Bytes()), stdout.String()
}

// heavyInits are packages that `certctl --version` and `--help` must never
// initialise: the store, the command tree, settings, styling, tables and
// the crypto libraries, and every certctl package but pkg/fastpath.
var heavyInits = []string{
	"modernc.org/", "github.com/jackc/pgx/v5/pgtype", "github.com/spf13/", "github.com/charmbracelet/lipgloss",
	"github.com/olekukonko/", "github.com/Masterminds/", "go.step.sm/", "golang.org/x/crypto/", "crypto/x509",
	"crypto/tls", "net/http", "github.com/certctl/certctl/",
}

// TestFastPathRunsBeforeHeavyInits: `certctl --version` and `--help` are
// answered by pkg/fastpath's init before any heavy package initialises —
// no SQLite, no cobra tree, no viper, no crypto tables — so they start
// about as fast as a Go hello-world.
func TestFastPathRunsBeforeHeavyInits(t *testing.T) {
	bin := buildCertctl(t)
	vault := filepath.Join(t.TempDir(), "vault")
	for _, arg := range []string{"--version", "-v", "--help", "-h"} {
		recs, out := inittrace(t, bin, vault, arg)
		// What the command tree prints (TestFastPathIsWhatCobraPrints
		// compares the two in-process).
		io, _, want, _ := iostreams.Test()
		f := cmdutil.New(io, testVersion)
		f.Getenv = func(string) string { return "" }
		app.Run(context.Background(), f, []string{arg})
		if out != want.String() || out == "" {
			t.Errorf("certctl %s printed %q, want %q", arg, out, want.String())
		}
		total := 0
		for _, r := range recs {
			total += r.bytes
			for _, h := range heavyInits {
				if strings.HasPrefix(r.pkg, h) {
					t.Errorf("certctl %s initialised %s before answering", arg, r.pkg)
				}
			}
		}
		if len(recs) == 0 || len(recs) > 40 || total > 32<<10 {
			t.Errorf("certctl %s: %d package inits allocating %d bytes before pkg/fastpath answered (want 1-40, ≤ 32 KiB)", arg, len(recs), total)
		}
	}
	// A command, `help`, or a flag beside --help goes to the command tree.
	for _, args := range [][]string{{"list", "--help"}, {"help"}, {"--help", "--no-color"}} {
		recs, out := inittrace(t, bin, vault, args...)
		if !strings.Contains(out, "certctl") || len(recs) < 50 {
			t.Errorf("certctl %q: %d inits, printed:\n%s", args, len(recs), out)
		}
	}
}

// TestFastPathIsWhatCobraPrints: every answer of pkg/fastpath is what the
// command tree prints for the same arguments.
func TestFastPathIsWhatCobraPrints(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}} {
		io, _, stdout, stderr := iostreams.Test()
		f := cmdutil.New(io, app.Version())
		f.Getenv = func(string) string { return "" }
		if code := app.Run(context.Background(), f, args); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, stderr.String())
		}
		var fast bytes.Buffer
		if !fastpath.Answer(args, &fast) {
			t.Fatalf("fastpath does not answer %q", args)
		}
		if fast.String() != stdout.String() {
			t.Errorf("%q: fastpath prints\n%s\nthe command tree prints\n%s\n(run `go generate ./internal/gendocs`)", args, fast.String(), stdout.String())
		}
	}
	// The test binary's version is not set at build time: --version is the
	// command tree's, with the module version.
	for _, args := range [][]string{{}, {"list"}, {"help"}, {"--help", "list"}, {"help", "list"}, {"--version"}, {"-v"}, {"--version", "--help"}, {"--versio"}} {
		if fastpath.Answer(args, new(bytes.Buffer)) {
			t.Errorf("fastpath answers %q, which is the command tree's", args)
		}
	}
}

// TestFastPathImportsOnlyTheStandardLibrary: pkg/fastpath must stay light
// and sort before every heavy dependency for its init to run first.
func TestFastPathImportsOnlyTheStandardLibrary(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/certctl/certctl/pkg/fastpath").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "github.com/certctl/certctl/pkg/fastpath" {
		t.Errorf("pkg/fastpath depends on non-standard packages:\n%s", got)
	}
	std, err := exec.Command("go", "list", "-deps", "github.com/certctl/certctl/pkg/fastpath").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, std)
	}
	for _, p := range strings.Fields(string(std)) {
		for _, h := range heavyInits {
			if strings.HasPrefix(p, h) && p != "github.com/certctl/certctl/pkg/fastpath" {
				t.Errorf("pkg/fastpath depends on %s", p)
			}
		}
	}
}

// TestStartupInitCost reads the package inits of a command that goes
// through the command tree (`certctl list --help`) under
// GODEBUG=inittrace=1 and holds them to budgets.
func TestStartupInitCost(t *testing.T) {
	bin := buildCertctl(t)
	vault := filepath.Join(t.TempDir(), "vault")
	for _, args := range [][]string{{"list", "--help"}, {"config", "list"}} {
		arg := strings.Join(args, " ")
		recs := minInittrace(t, bin, vault, 9, args...)
		if len(recs) < 50 {
			t.Fatalf("certctl %s: only %d init records", arg, len(recs))
		}
		own, total := 0, 0
		for _, r := range recs {
			total += r.bytes
			if strings.HasPrefix(r.pkg, "github.com/certctl/certctl/") {
				own += r.bytes
				if r.bytes > ownPackageInit {
					t.Errorf("certctl %s: init of %s allocates %d bytes (budget %d): build its tables, regexps or templates on first use (sync.OnceValue)", arg, r.pkg, r.bytes, ownPackageInit)
				}
			}
		}
		sort.Slice(recs, func(i, j int) bool { return recs[i].bytes > recs[j].bytes })
		var top strings.Builder
		for _, r := range recs[:10] {
			top.WriteString("\n  " + strconv.Itoa(r.bytes) + " " + r.pkg)
		}
		if own > ownInit {
			t.Errorf("certctl %s: certctl's own package inits allocate %d bytes (budget %d)", arg, own, ownInit)
		}
		if total > totalInit {
			t.Errorf("certctl %s: package inits allocate %d bytes (budget %d); the heaviest:%s", arg, total, totalInit, top.String())
		}
		t.Logf("certctl %s: %d package inits, %d bytes (certctl's own: %d); the heaviest:%s", arg, len(recs), total, own, top.String())
	}
}

// minInittrace runs bin with args n times under GODEBUG=inittrace=1 and
// returns each package's fewest bytes. inittrace counts every allocation
// made while a package initialises, a goroutine's started by an earlier
// init too: pkg/localstore's 1,096 bytes read 1,144-1,808 in 41 of 120
// runs on 2026-12-07 (and failed ownInit in CI), which its own code does
// not vary; the fewest over a few runs is what the init itself allocates.
func minInittrace(t *testing.T, bin, vault string, n int, args ...string) []initRecord {
	t.Helper()
	var recs []initRecord
	for i := 0; i < n; i++ {
		run, _ := inittrace(t, bin, vault, args...)
		if i == 0 {
			recs = run
			continue
		}
		if len(run) != len(recs) {
			t.Fatalf("certctl %q: %d package inits, then %d", args, len(recs), len(run))
		}
		for j, r := range run {
			if r.pkg != recs[j].pkg {
				t.Fatalf("certctl %q: package inits in another order (%s, then %s)", args, recs[j].pkg, r.pkg)
			}
			recs[j].bytes = min(recs[j].bytes, r.bytes)
		}
	}
	return recs
}

// parseInittrace reads lines such as
// "init github.com/x/y @1.2 ms, 0.05 ms clock, 1234 bytes, 5 allocs".
func parseInittrace(t *testing.T, b []byte) []initRecord {
	var recs []initRecord
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 || f[0] != "init" || f[8] != "bytes," {
			continue
		}
		n, err := strconv.Atoi(f[7])
		if err != nil {
			t.Fatalf("inittrace line %q: %v", sc.Text(), err)
		}
		recs = append(recs, initRecord{pkg: f[1], bytes: n})
	}
	return recs
}

// TestVersionAndHelpNeedNoSettingsOrVault: --version and --help read no
// config file (a broken one is not noticed) and open no vault.
func TestVersionAndHelpNeedNoSettingsOrVault(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfg, []byte("{{ not yaml"), 0o600); err != nil {
		t.Fatal(err)
	}
	vault := filepath.Join(dir, "vault")
	for _, args := range [][]string{{"--version"}, {"--help"}, {"list", "--help"}, {"ca", "issue", "--help"}} {
		io, _, stdout, stderr := iostreams.Test()
		f := cmdutil.New(io, "1.2.3")
		f.Getenv = func(k string) string {
			switch k {
			case "CERTCTL_VAULT":
				return vault
			case "CERTCTL_STORE":
				return "postgres://nowhere.invalid/db"
			}
			return ""
		}
		full := append([]string{"--config", cfg}, args...)
		if code := app.Run(context.Background(), f, full); code != 0 {
			t.Errorf("%q: exit %d: %s", full, code, stderr.String())
		}
		if stdout.Len() == 0 {
			t.Errorf("%q: printed nothing", full)
		}
		if _, err := os.Stat(vault); err == nil {
			t.Fatalf("%q created the vault", full)
		}
	}
}
