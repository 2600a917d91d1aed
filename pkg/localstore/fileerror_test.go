package localstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/jackc/pgx/v5/pgconn"
	"strings"
	"testing"
)

// TestSQLiteFileError: SQLite's full disk, failed write, read-only,
// cannot-open and busy errors are told naming the vault's files and what to do, without
// SQLite's result code, and still count as storage errors (the vault is
// unavailable); any other error is left as it is.
func TestSQLiteFileError(t *testing.T) {
	for code, want := range map[int32]string{
		13:  "the disk holding the vault is full (vault.db or vault.db-wal in /v could not grow): free space there",
		8:   "the vault cannot be written (vault.db, vault.db-wal or vault.db-shm in /v): check that this user can write",
		14:  "the vault cannot be opened (vault.db, vault.db-wal or vault.db-shm in /v): check that the directory exists",
		522: "the vault is inconsistent: its log vault.db-wal in /v holds less than its index (vault.db-shm) says",
		// A failed write or sync (tester: "disk I/O error (778)" under
		// ulimit -f, where vault backup said what it could).
		778:  "a write to the vault failed (vault.db or vault.db-wal in /v): a full disk, a quota or a file size limit (ulimit -f)",
		1034: "a write to the vault failed (vault.db or vault.db-wal in /v): a full disk, a quota or a file size limit",
		1546: "a write to the vault failed (vault.db or vault.db-wal in /v): a full disk, a quota or a file size limit",
		5:    "the vault is busy: another process held its lock on vault.db in /v for 30 s without letting go: run the command again; if it fails again, look for the process holding that file open (fuser /v/vault.db)",
	} {
		raw := &rawError{code: code, msg: "whatever SQLite says"}
		err := sqliteFileError(raw, "/v/vault.db", "the vault")
		if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "(1") || strings.Contains(err.Error(), "(8)") {
			t.Errorf("code %d: %q, want %q…", code, err, want)
		}
		if !IsStorageError(err) || !errors.Is(err, raw) {
			t.Errorf("code %d: %v is not a storage error", code, err)
		}
	}
	other := &rawError{code: 1, msg: "SQL logic error"}
	if err := sqliteFileError(other, "/v/vault.db", "the vault"); err != other {
		t.Errorf("another error became %v", err)
	}
}

// TestOpenBackupGarbageSaysNoCode: a file that is not a database is not a
// certctl backup, said without SQLite's result code.
func TestOpenBackupGarbageSaysNoCode(t *testing.T) {
	garbage := make([]byte, 3000)
	_, _ = rand.Read(garbage)
	_, err := OpenBackup(context.Background(), bytes.NewReader(garbage), t.TempDir())
	if !errors.Is(err, ErrInvalidBackup) || strings.Contains(err.Error(), "(26)") {
		t.Errorf("OpenBackup(garbage) = %v", err)
	}
}

// TestIsBusySQLite: SQLite's busy and locked codes (extended codes
// included) are the store busy, from the driver or from the store's own
// calls into SQLite, and still once told as a FileError; other codes are
// not.
func TestIsBusySQLite(t *testing.T) {
	for _, c := range []struct {
		code int32
		want bool
	}{{5, true}, {6, true}, {5 | 2<<8, true}, {1, false}, {13, false}} {
		raw := &rawError{code: c.code, msg: "whatever SQLite says"}
		if got := IsBusy(raw); got != c.want {
			t.Errorf("code %d: IsBusy %v, want %v", c.code, got, c.want)
		}
		if got := IsBusy(sqliteFileError(raw, "/v/vault.db", "the vault")); got != c.want {
			t.Errorf("code %d as a FileError: IsBusy %v, want %v", c.code, got, c.want)
		}
	}
}

// TestIsBusyPostgres: a connection the server ended (an administrator's
// pg_terminate_backend, a restart) is the store not answering, as a lost
// one is; a failure of the statement itself is not.
func TestIsBusyPostgres(t *testing.T) {
	for _, c := range []struct {
		code string
		want bool
	}{{"57P01", true}, {"57P02", true}, {"57P03", true}, {"53300", true}, {"23505", false}, {"42P01", false}} {
		err := fmt.Errorf("redeeming a nonce: %w", &pgconn.PgError{Severity: "FATAL", Code: c.code})
		if got := IsBusy(err); got != c.want {
			t.Errorf("SQLSTATE %s: IsBusy %v, want %v", c.code, got, c.want)
		}
	}
}
