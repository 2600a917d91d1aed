package vaultops_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/fifotest"
	"github.com/certctl/certctl/internal/ptytest"
	"github.com/certctl/certctl/pkg/errs"
)

// TestBackupOutFileSpecial: --out-file naming a named pipe writes the
// backup through it (the pipe stays a pipe), a terminal is refused (exit
// 2) and left as it is, and a symbolic link stays a link to the backup —
// one leading to the vault's own database is refused like the database
// (tester: --out-file replaced /dev/stdout and /dev/tty with files).
func TestBackupOutFileSpecial(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)

	pipe := fifotest.New(t, e.Dir)
	mustRun(e, "vault", "backup", "--out-file", pipe.Path)
	if b := pipe.Read(t, 10*time.Second); !strings.HasPrefix(string(b), "SQLite format 3\x00") {
		t.Errorf("the pipe's reader got %d bytes, not a backup", len(b))
	}

	_, tty := ptytest.Open(t)
	wantCode(t, run(e, "vault", "backup", "--out-file", tty.Name()), errs.ExitUsage)
	if fi, err := os.Stat(tty.Name()); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Errorf("the terminal is now %v (%v)", fi.Mode(), err)
	}

	link := filepath.Join(e.Dir, "latest.db")
	if err := os.Symlink("backup-1.db", link); err != nil {
		t.Fatal(err)
	}
	mustRun(e, "vault", "backup", "--out-file", link)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link is now %v (%v)", fi.Mode(), err)
	}
	if b, err := os.ReadFile(filepath.Join(e.Dir, "backup-1.db")); err != nil || !strings.HasPrefix(string(b), "SQLite format 3\x00") {
		t.Errorf("the link's file: %d bytes (%v)", len(b), err)
	}
	toVault := filepath.Join(e.Dir, "to-vault.db")
	if err := os.Symlink(filepath.Join(e.Vault, "vault.db"), toVault); err != nil {
		t.Fatal(err)
	}
	wantCode(t, run(e, "vault", "backup", "--out-file", toVault), errs.ExitInvalid)
	mustRun(e, "vault", "verify")
}
