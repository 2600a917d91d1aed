package localstore

import (
	"errors"
	"fmt"
	"testing"

	sqlite3 "modernc.org/sqlite/lib"
)

// TestRawErrorIsStorageError: an error SQLite returns to a list read
// through its C interface maps as the driver's does: a storage error (the
// vault unavailable, exit 6), and ErrCorrupt too for a file that is not a
// usable database (any extended code of SQLITE_CORRUPT or SQLITE_NOTADB).
func TestRawErrorIsStorageError(t *testing.T) {
	for _, c := range []struct {
		code    int32
		corrupt bool
	}{
		{sqlite3.SQLITE_IOERR_READ, false},
		{sqlite3.SQLITE_FULL, false},
		{sqlite3.SQLITE_CORRUPT, true},
		{sqlite3.SQLITE_CORRUPT_INDEX, true},
		{sqlite3.SQLITE_NOTADB, true},
	} {
		err := fmt.Errorf("listing: %w", rawErr(c.code, "message"))
		if !IsStorageError(err) {
			t.Errorf("code %d: %v is not a storage error", c.code, err)
		}
		if errors.Is(err, ErrCorrupt) != c.corrupt {
			t.Errorf("code %d: %v, ErrCorrupt %v, want %v", c.code, err, !c.corrupt, c.corrupt)
		}
	}
}
