package localstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// IsStorageError reports whether err comes from the storage itself (the
// database or the vault's files) rather than from the work done inside a
// transaction: such errors mean the vault is unavailable.
func IsStorageError(err error) bool {
	var se *sqlite.Error
	var pe *fs.PathError
	var pge *pgconn.PgError
	var pgc *pgconn.ConnectError
	var re *rawError
	return errors.As(err, &se) || errors.As(err, &re) || errors.As(err, &pe) || errors.As(err, &pge) || errors.As(err, &pgc) ||
		errors.Is(err, ErrCorrupt) || errors.Is(err, ErrLocked) || errors.Is(err, ErrWrongPassphrase) ||
		errors.Is(err, ErrUnsupportedStore) || errors.Is(err, ErrKeyRotated) || errors.Is(err, ErrReadOnly) ||
		errors.Is(err, ErrConnectionLost) || errors.Is(err, ErrLostDatabase) || errors.Is(err, ErrRestoreInterrupted)
}

// IsBusy reports whether err is the store not answering in time, or busy
// with others' work — a transaction that could not begin before its
// deadline, SQLite's lock held by another connection, PostgreSQL out of
// connection slots, starting up, a lock not granted, a connection lost or
// ended by the server (an administrator's pg_terminate_backend, a restart:
// tester, a 500 "internal error" when the pool had reconnected by the
// time the server looked), or not made — rather than a failure of the
// work itself: the same request may succeed once it answers (a server
// answers it 503 with Retry-After).
func IsBusy(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrConnectionLost) || serverBusy(err) {
		return true
	}
	var pc *pgconn.ConnectError
	if errors.As(err, &pc) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "57P01" || pe.Code == "57P02") { // admin_shutdown, crash_shutdown
		return true
	}
	if code := sqliteCode(err); code == sqlite3.SQLITE_BUSY || code == sqlite3.SQLITE_LOCKED {
		return true
	}
	return isRetryable(err) || errors.As(err, &pe) && pe.Code == sqlstateLockNotAvailable
}

// sqliteCode is the primary result code of the SQLite error in err —
// through the driver or the store's own calls into SQLite (rawError) —
// and -1 when err holds none.
func sqliteCode(err error) int {
	if c := sqliteExtendedCode(err); c >= 0 {
		return c & 0xff
	}
	return -1
}

// sqliteExtendedCode is sqliteCode with SQLite's extended bits (-1: none).
func sqliteExtendedCode(err error) int {
	var se *sqlite.Error
	var re *rawError
	switch {
	case errors.As(err, &se):
		return se.Code()
	case errors.As(err, &re):
		return int(re.code)
	}
	return -1
}

// FileError is a failure of SQLite told in terms of the vault's files — a
// full disk, a file that cannot be written or opened — naming them and
// saying what to do, without SQLite's result code. It unwraps to SQLite's
// error (a storage error: the vault is unavailable).
type FileError struct {
	Msg string
	Err error
}

func (e *FileError) Error() string { return e.Msg }
func (e *FileError) Unwrap() error { return e.Err }

// sqliteFileError is err as a *FileError when it is SQLite's SQLITE_FULL,
// a failed write or sync (SQLITE_IOERR_WRITE, _FSYNC, _TRUNCATE), SQLITE_READONLY, SQLITE_CANTOPEN or SQLITE_BUSY (another process's lock
// held past busyTimeout: SQLite's "database is locked") about the
// database at path (what what is: "the vault" or "the target"); any other
// err unchanged.
func sqliteFileError(err error, path, what string) error {
	var fe *FileError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	if sqliteExtendedCode(err) == sqlite3.SQLITE_IOERR_SHORT_READ {
		// What another process's index of the log names is not in the
		// log (its vault.db-wal removed or cut under it; tester).
		return &FileError{Err: err, Msg: fmt.Sprintf("%s is inconsistent: its log %s-wal in %s holds less than its index (%s-shm) says — removed or cut while a process had it open: stop every process using the vault (endpoint serve, ca serve), then check it with certctl vault verify",
			what, base, dir, base)}
	}
	switch sqliteExtendedCode(err) {
	case sqlite3.SQLITE_IOERR_WRITE, sqlite3.SQLITE_IOERR_FSYNC, sqlite3.SQLITE_IOERR_TRUNCATE:
		// SQLite tells no more than "disk I/O error (778)" (tester:
		// with ulimit -f, where vault backup said what it could).
		return &FileError{Err: err, Msg: fmt.Sprintf("a write to %s failed (%s or %s-wal in %s): a full disk, a quota or a file size limit (ulimit -f): make room there, or raise the limit, then run the command again",
			what, base, base, dir)}
	}
	switch sqliteCode(err) {
	case sqlite3.SQLITE_FULL:
		return &FileError{Err: err, Msg: fmt.Sprintf("the disk holding %s is full (%s or %s-wal in %s could not grow): free space there, then run the command again",
			what, base, base, dir)}
	case sqlite3.SQLITE_READONLY:
		return &FileError{Err: err, Msg: fmt.Sprintf("%s cannot be written (%s, %s-wal or %s-shm in %s): check that this user can write those files and the directory",
			what, base, base, base, dir)}
	case sqlite3.SQLITE_BUSY:
		return &FileError{Err: err, Msg: fmt.Sprintf("%s is busy: another process held its lock on %s in %s for %s without letting go: run the command again; if it fails again, look for the process holding that file open (fuser %s)",
			what, base, dir, busyTimeoutText(), path)}
	case sqlite3.SQLITE_CANTOPEN:
		return &FileError{Err: err, Msg: fmt.Sprintf("%s cannot be opened (%s, %s-wal or %s-shm in %s): check that the directory exists and that this user can read and write it and those files",
			what, base, base, base, dir)}
	}
	return err
}

// busyTimeoutText is busyTimeout as a person reads it ("30 s").
func busyTimeoutText() string {
	return fmt.Sprintf("%d s", int(busyTimeout/time.Second))
}

// StoreHint says what to check when err is a PostgreSQL store refusing or
// failing the connection — the server not there, the credentials, the
// database, TLS — and "" for any other error. It names no part of the
// store URL: the caller's message already names user and database (pgx's
// text), never the password.
func StoreHint(err error) string {
	if errors.Is(err, ErrConnectionLost) {
		return "the PostgreSQL server stopped, or did not answer within two minutes: once it is back, check what the command was changing (list, describe) before running it again — a change is committed whole or not at all, and one under way when the connection broke may have been"
	}
	var pge *pgconn.PgError
	if errors.As(err, &pge) {
		switch pge.Code {
		case "28P01": // invalid_password
			return "check the user and password of the store URL (--store or CERTCTL_STORE; a password may also come from PGPASSWORD or ~/.pgpass)"
		case "28000": // invalid_authorization_specification: pg_hba.conf, a role that may not log in
			return "the server does not admit this connection: check the user of the store URL (--store or CERTCTL_STORE) and that the server's pg_hba.conf admits this host, user, database and sslmode"
		case "3D000": // invalid_catalog_name
			return "the database of the store URL does not exist: create it (createdb -O USER NAME) or fix the URL (--store or CERTCTL_STORE)"
		case "3F000": // invalid_schema_name: no schema of search_path exists (tester: said nothing)
			return "no schema of the store URL's search_path exists: create it (psql -c 'CREATE SCHEMA NAME AUTHORIZATION USER') or fix search_path in the URL (--store or CERTCTL_STORE)"
		case "57P01", "57P02": // admin_shutdown, crash_shutdown: the server stopped, or ended this session
			return "the PostgreSQL server stopped or ended the connection: once it is back, check what the command was changing (list, describe) before running it again"
		case "57P03": // cannot_connect_now
			return "the PostgreSQL server is starting up or shutting down: run the command again shortly"
		case "53300": // too_many_connections
			return "the PostgreSQL server has no free connection: run the command again shortly, or raise its max_connections"
		}
		return ""
	}
	var pgc *pgconn.ConnectError
	if !errors.As(err, &pgc) {
		return ""
	}
	switch {
	case errors.As(err, new(*net.OpError)) || errors.As(err, new(*net.DNSError)):
		return "is the PostgreSQL server running and reachable at the host and port of the store URL (--store or CERTCTL_STORE)?"
	case errors.As(err, new(x509.UnknownAuthorityError)) || errors.As(err, new(x509.HostnameError)) || errors.As(err, new(*tls.CertificateVerificationError)):
		return "the server's TLS certificate was not accepted: check sslmode and sslrootcert in the store URL"
	case strings.Contains(err.Error(), "server refused TLS connection"): // pgconn's text, no error value
		return "the server does not offer TLS, which the store URL's sslmode requires: enable ssl on the server, or change sslmode"
	}
	return "check the store URL (--store or CERTCTL_STORE) and that the PostgreSQL server accepts this connection"
}
