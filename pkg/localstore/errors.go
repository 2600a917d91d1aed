package localstore

import (
	"errors"
	"io/fs"

	"modernc.org/sqlite"
)

// IsStorageError reports whether err comes from the storage itself (the
// database or the vault's files) rather than from the work done inside a
// transaction: such errors mean the vault is unavailable.
func IsStorageError(err error) bool {
	var se *sqlite.Error
	var pe *fs.PathError
	return errors.As(err, &se) || errors.As(err, &pe) ||
		errors.Is(err, ErrCorrupt) || errors.Is(err, ErrLocked) || errors.Is(err, ErrWrongPassphrase) ||
		errors.Is(err, ErrUnsupportedStore)
}
