package vault

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVaultOthersCanWriteIsRefused: a vault directory that other users can
// write to (where they could put a database and key of their own, with a
// deploy command for root's cron to run) is refused with exit 6 and a hint,
// touching nothing; a vault file readable by others is narrowed to 0600
// before SQLite opens it.
func TestVaultOthersCanWriteIsRefused(t *testing.T) {
	dir := t.TempDir()
	vault := filepath.Join(dir, "vault")
	if err := os.Mkdir(vault, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(vault, 0o777); err != nil {
		t.Fatal(err)
	}
	r := run(vault, "request", "--domain-name", "app.internal", "--certificate-authority-arn", "default", "-o", "text")
	if r.Code != 6 || !strings.Contains(string(r.Stderr), "certctl: refusing the vault: "+vault+" is writable by other users (mode 0777)") ||
		!strings.Contains(string(r.Stderr), "hint: chmod go-w "+vault) {
		t.Fatalf("a world-writable vault: %v", r)
	}
	if entries, err := os.ReadDir(vault); err != nil || len(entries) != 0 {
		t.Fatalf("the refused vault was written: %v %v", entries, err)
	}
	if err := os.Chmod(vault, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := run(vault, "request", "--domain-name", "app.internal", "--certificate-authority-arn", "default", "-o", "text"); r.Code != 0 {
		t.Fatalf("request: %v", r)
	}
	for _, f := range []string{"vault.db", "vault.db-wal", "master.key"} {
		if err := os.Chmod(filepath.Join(vault, f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if r := run(vault, "list", "-o", "json"); r.Code != 0 {
		t.Fatalf("list: %v", r)
	}
	entries, err := os.ReadDir(vault)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		seen[e.Name()] = true
		if fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", e.Name(), fi.Mode().Perm())
		}
	}
	if !seen["vault.db"] || !seen["vault.db-wal"] {
		t.Errorf("files: %v", seen)
	}
}
