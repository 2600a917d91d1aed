//go:build unix

package localstore

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestSQLiteFilesRemovedUnderIt: once the log or the database file is
// removed (or replaced) under an open store, no transaction commits — a
// write is refused as the vault being unavailable, not acknowledged into
// a removed file — and reads fail likewise; a removed database is not
// re-created by a new connection (tester).
func TestSQLiteFilesRemovedUnderIt(t *testing.T) {
	ctx := context.Background()
	put := func(s *SQLite, v string) error {
		return s.Update(ctx, func(tx Tx) error { return tx.PutMeta("k", []byte(v)) })
	}
	get := func(s *SQLite) error {
		return s.View(ctx, func(tx Tx) error { _, err := tx.GetMeta("k"); return err })
	}
	// open opens a new store with one change committed.
	open := func(t *testing.T) (*SQLite, string) {
		path := filepath.Join(t.TempDir(), "vault.db")
		s, err := OpenSQLite(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		if err := put(s, "before"); err != nil {
			t.Fatal(err)
		}
		return s, path
	}
	for _, victim := range []string{"-wal", ""} {
		t.Run("vault.db"+victim, func(t *testing.T) {
			s, path := open(t)
			if err := os.Remove(path + victim); err != nil {
				t.Fatal(err)
			}
			err := put(s, "after")
			var fe *FileError
			if !errors.As(err, &fe) || !errors.Is(err, ErrCorrupt) || !IsStorageError(err) {
				t.Fatalf("a write after %s was removed: %v, want the vault unavailable", path+victim, err)
			}
			if err := get(s); !errors.Is(err, ErrCorrupt) {
				t.Errorf("a read after %s was removed: %v", path+victim, err)
			}
			// New connections (held at once, so that the pools must
			// open more than they keep idle).
			for _, db := range []*sql.DB{s.db, s.ro} {
				for i := 0; i < 3; i++ {
					if c, err := db.Conn(ctx); err == nil {
						_ = c.PingContext(ctx)
						defer c.Close()
					}
				}
			}
			if victim == "" {
				if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("vault.db is back after its removal: %v", err)
				}
			}
		})
	}
	// Replaced by another file of the same name.
	s, path := open(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".new", data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	if err := put(s, "after"); !errors.Is(err, ErrCorrupt) || !errors.As(err, new(*FileError)) {
		t.Fatalf("a write after vault.db was replaced: %v", err)
	}
}
