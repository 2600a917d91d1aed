package localstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
)

// OpenConnections is how many database connections s holds open (tests).
func (s *SQLite) OpenConnections() int {
	n := s.db.Stats().OpenConnections
	if s.ro != s.db {
		n += s.ro.Stats().OpenConnections
	}
	return n
}

// ViewCacheSize and WriteCacheSize are viewCacheSize and writeCacheSize
// (tests).
const (
	ViewCacheSize  = viewCacheSize
	WriteCacheSize = writeCacheSize
)

// PragmaIn reads the integer PRAGMA name on the connection of tx, a
// transaction of a SQLite store (tests).
func PragmaIn(tx Tx, name string) (v int64, err error) {
	err = tx.(*sqliteTx).rawQueryRow("PRAGMA " + name).Scan(&v)
	return v, err
}

// PoolStats are the statistics of s's write and read pools (tests).
func (s *SQLite) PoolStats() (rw, ro sql.DBStats) {
	return s.db.Stats(), s.ro.Stats()
}

// RawScans is how many summary lists and revocation scans were read
// through SQLite's C interface (tests).
func (s *SQLite) RawScans() int64 { return s.rawScans.Load() }

// UpdateAtSchema brings the SQLite database at path (new, or of an earlier
// schema) to schema version, not past it, and runs fn in a write
// transaction on it: what a build of that schema wrote (tests).
func UpdateAtSchema(ctx context.Context, path string, version int, fn func(Tx) error) error {
	// The store's connections do not create the database (mode=rw).
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	db, err := sql.Open("sqlite", sqliteDSN(path, false))
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	var v int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	for i := v; i < version; i++ {
		if _, err := db.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, err)
		}
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := fn(&sqliteTx{tx: tx, db: db, ctx: ctx}); err != nil {
		return err
	}
	return tx.Commit()
}

// SetBeforeRotateTx makes f run between what a rotation reads first and
// its transaction, until the returned function is called (tests).
func SetBeforeRotateTx(f func()) (restore func()) {
	beforeRotateTx = f
	return func() { beforeRotateTx = nil }
}
