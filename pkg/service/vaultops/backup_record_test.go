package vaultops_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/service/vaultops"
)

// TestBackupUnrecordedStillSucceeds: a backup the vault cannot record —
// here another process holds its write lock past the wait — is still a
// backup: exit 0, with a warning saying it is not in the audit log
// (review: exit 6, 30 s later, the file written).
func TestBackupUnrecordedStillSucceeds(t *testing.T) {
	e := clitest.New(t)
	requestPrivate(e, "held.internal")
	defer vaultops.SetRecordWait(200 * time.Millisecond)()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(e.Vault, "vault.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(t.Context(), "ROLLBACK") //nolint:errcheck
	start := time.Now()
	r := run(e, "vault", "backup", "--out-file", filepath.Join(e.Dir, "held.bak"))
	wantCode(t, r, 0)
	if !strings.Contains(r.Stderr, "warning: the backup was written, but the vault could not record it") {
		t.Errorf("no warning:\n%s", r.Stderr)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the backup took %s", d)
	}
}
