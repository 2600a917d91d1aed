package localstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
)

// TestOnPinnedDropsAConnectionItCannotSetBack: when the statements that
// set a pinned connection back fail, the connection is dropped, not
// returned to the pool: no later write runs with synchronous=NORMAL.
func TestOnPinnedDropsAConnectionItCannotSetBack(t *testing.T) {
	ctx := context.Background()
	s, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.onPinned(ctx, lazyPragma, "SELECT * FROM no_such_table", func(*sql.Conn) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := s.Update(ctx, func(tx Tx) error {
			v, err := PragmaIn(tx, "synchronous")
			if err == nil && v != 2 {
				t.Errorf("a write after a connection was not set back: synchronous=%d, want 2 (FULL)", v)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
}
