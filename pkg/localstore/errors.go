package localstore

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

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
		errors.Is(err, ErrUnsupportedStore) || errors.Is(err, ErrKeyRotated) || errors.Is(err, ErrReadOnly)
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
// SQLITE_READONLY or SQLITE_CANTOPEN about the database at path (what
// what is: "the vault" or "the target"); any other err unchanged.
func sqliteFileError(err error, path, what string) error {
	var fe *FileError
	if err == nil || errors.As(err, &fe) {
		return err
	}
	code := -1
	var se *sqlite.Error
	var re *rawError
	switch {
	case errors.As(err, &se):
		code = se.Code() & 0xff
	case errors.As(err, &re):
		code = int(re.code) & 0xff
	}
	dir, base := filepath.Dir(path), filepath.Base(path)
	switch code {
	case sqlite3.SQLITE_FULL:
		return &FileError{Err: err, Msg: fmt.Sprintf("the disk holding %s is full (%s or %s-wal in %s could not grow): free space there, then run the command again",
			what, base, base, dir)}
	case sqlite3.SQLITE_READONLY:
		return &FileError{Err: err, Msg: fmt.Sprintf("%s cannot be written (%s, %s-wal or %s-shm in %s): check that this user can write those files and the directory",
			what, base, base, base, dir)}
	case sqlite3.SQLITE_CANTOPEN:
		return &FileError{Err: err, Msg: fmt.Sprintf("%s cannot be opened (%s, %s-wal or %s-shm in %s): check that the directory exists and that this user can read and write it and those files",
			what, base, base, base, dir)}
	}
	return err
}
