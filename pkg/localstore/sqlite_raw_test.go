package localstore

import (
	"errors"
	"fmt"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"
)

// TestRawErrorIsStorageError: an error SQLite returns to a list read
// through its C interface maps as the driver's does: a storage error
// (the vault unavailable), ErrCorrupt for a file that is not a database.
func TestRawErrorIsStorageError(t *testing.T) {
	e := &rawError{code: sqlite3.SQLITE_IOERR_READ, msg: "disk I/O error"}
	if !IsStorageError(e) || !IsStorageError(fmt.Errorf("listing: %w", e)) {
		t.Errorf("IsStorageError(%v) = false", e)
	}
	corrupt := fmt.Errorf("%w: %w", ErrCorrupt, &rawError{code: sqlite3.SQLITE_CORRUPT, msg: "database disk image is malformed"})
	if !errors.Is(corrupt, ErrCorrupt) || !IsStorageError(corrupt) {
		t.Errorf("%v: not ErrCorrupt and a storage error", corrupt)
	}
}
