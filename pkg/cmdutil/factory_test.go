package cmdutil

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/localstore"
)

// testFactory is a factory whose vault, home and configuration are in a
// directory of t's.
func testFactory(t *testing.T) *Factory {
	dir := t.TempDir()
	env := map[string]string{"CERTCTL_VAULT": filepath.Join(dir, "vault"), "HOME": dir, "XDG_CONFIG_HOME": dir}
	io, _, _, _ := iostreams.Test()
	f := New(io, "test")
	f.Getenv = func(k string) string { return env[k] }
	return f
}

// TestVaultPools: a command's vault reads and writes through one pool of
// embedded-database connections (a request opens one connection and
// parses the schema once); a command that serves, opening its service
// through Serving, keeps a pool of read connections beside the writers.
func TestVaultPools(t *testing.T) {
	for _, serving := range []bool{false, true} {
		f := testFactory(t)
		open := f.Vault
		if serving {
			open = Serving(f, f.Vault)
		}
		v, err := open(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		s, ok := v.Store.(*localstore.SQLite)
		if !ok {
			t.Fatalf("store %T, want *localstore.SQLite", v.Store)
		}
		if s.OnePool() == serving {
			t.Errorf("serving %v: one pool = %v, want %v", serving, s.OnePool(), !serving)
		}
		if err := v.Close(); err != nil {
			t.Error(err)
		}
	}
}

// TestServingAfterTheVaultOpened: a server whose vault some earlier step
// opened with one pool is told so instead of serving on it.
func TestServingAfterTheVaultOpened(t *testing.T) {
	f := testFactory(t)
	v, err := f.Vault(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := Serving(f, f.Vault)(context.Background()); err == nil || !strings.Contains(err.Error(), "before the server asked") {
		t.Errorf("Serving after the vault opened: err = %v, want the internal error", err)
	}
}

// TestVaultOpenInterrupted: a vault whose opening is interrupted (the
// command's context cancelled, Ctrl-C) is reported as interrupted, not as
// unavailable (exit 6 is for a locked, wrongly unlocked or corrupt vault).
func TestVaultOpenInterrupted(t *testing.T) {
	f := testFactory(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v, err := f.Vault(ctx)
	if err == nil {
		v.Close()
		t.Fatal("a vault opened with a cancelled context")
	}
	if code := errs.ExitCodeOf(err); code != errs.ExitFailure || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf("exit %d, %q; want exit %d, interrupted", code, err, errs.ExitFailure)
	}
}

// TestNoHome (newcomer tester, review): with no home directory at all the
// default vault is "" — the vault is not opened relative to the working
// directory, nor is a passphrase asked for: invalid settings (exit 4)
// naming what to set; completion stays silent.
func TestNoHome(t *testing.T) {
	f := testFactory(t)
	f.cfg = &config.Config{}
	f.Globals.VaultPassphraseFile = filepath.Join(t.TempDir(), "absent") // read first, it would fail otherwise
	_, err := f.Vault(context.Background())
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(fmt.Sprint(err), "no home directory") ||
		!strings.Contains(fmt.Sprint(err), "CERTCTL_VAULT") {
		t.Fatalf("vault without a home: %v (exit %d), want exit 4 naming what to set", err, errs.ExitCodeOf(err))
	}
	if f.completionView(context.Background(), func(localstore.Tx) error { return nil }) {
		t.Error("completion opened a store without a vault directory")
	}
}

// TestDefaultVaultUnwritable: a default vault under a home it cannot be
// made in (a service account's /nonexistent; here a home that is a file)
// says so, with a hint to name another (tester: no hint); a vault named
// explicitly gets no such hint.
func TestDefaultVaultUnwritable(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(home, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, defaulted := range []bool{true, false} {
		f := testFactory(t)
		f.cfg = &config.Config{Vault: filepath.Join(home, ".local", "share", "certctl"), VaultDefaulted: defaulted}
		_, err := f.Vault(context.Background())
		var e *errs.Error
		if !errors.As(err, &e) || e.Exit != errs.ExitVaultUnavailable {
			t.Fatalf("defaulted %v: %v, want the vault unavailable", defaulted, err)
		}
		if got := strings.Contains(e.Hint, "--vault DIR or CERTCTL_VAULT"); got != defaulted {
			t.Errorf("defaulted %v: hint %q (%#v)", defaulted, e.Hint, e.Err)
		}
	}
}

// A passphrase file used to open something is read as openssl's -passin
// file: reads it: its first line, whatever follows.
func TestPassphraseIn(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"secret\n", "secret"},
		{"secret\r\n", "secret"},
		{"secret", "secret"},
		{"secret\n\n", "secret"},
		{"secret\nsecond line\n", "secret"},
		{"secret \n", "secret "},
		{"\n", ""},
		{"", ""},
		{"a\rb\r\n", "a\rb"},
	} {
		if got := string(PassphraseIn([]byte(tt.in))); got != tt.want {
			t.Errorf("PassphraseIn(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
