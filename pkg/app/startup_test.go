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
	"github.com/certctl/certctl/pkg/iostreams"
)

// Start-up budgets, in bytes allocated by package initialisation as
// GODEBUG=inittrace=1 reports it (deterministic, unlike a time). A
// package-level regexp.MustCompile, a table built in init or a template
// parsed at start-up in certctl's own packages fails ownPackageInit; a new
// dependency with a heavy init fails totalInit.
const (
	ownPackageInit = 8 << 10    // any one github.com/certctl/certctl package
	ownInit        = 24 << 10   // all of them
	totalInit      = 1400 << 10 // every package linked in (1.26 MB on 2026-12-03, nearly all third-party)
)

type initRecord struct {
	pkg   string
	bytes int
}

// TestStartupInitCost builds certctl and reads the package inits of
// `certctl --version` and `certctl --help` under GODEBUG=inittrace=1.
func TestStartupInitCost(t *testing.T) {
	if testing.Short() {
		t.Skip("builds certctl")
	}
	bin := filepath.Join(t.TempDir(), "certctl")
	build := exec.Command("go", "build", "-o", bin, "github.com/certctl/certctl/cmd/certctl")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	vault := filepath.Join(t.TempDir(), "vault")
	for _, arg := range []string{"--version", "--help"} {
		cmd := exec.Command(bin, arg)
		cmd.Env = append(os.Environ(), "GODEBUG=inittrace=1", "CERTCTL_VAULT="+vault)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("certctl %s: %v\n%s", arg, err, stderr.String())
		}
		recs := parseInittrace(t, stderr.Bytes())
		if len(recs) < 50 {
			t.Fatalf("certctl %s: only %d init records in\n%s", arg, len(recs), stderr.String())
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
		if _, err := os.Stat(vault); err == nil {
			t.Errorf("certctl %s created a vault", arg)
		}
	}
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
