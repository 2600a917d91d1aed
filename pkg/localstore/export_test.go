package localstore

import "database/sql"

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
