package localstore

import (
	"errors"
	"io/fs"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
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
