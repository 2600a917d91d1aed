package localstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"time"

	"modernc.org/libc"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The write-ahead log is kept between processes.
//
// By default the last connection to close a WAL database checkpoints the
// log into the database file (an fsync of each) and deletes it, so that the
// next command re-creates it and writes and syncs a new log header before
// its first commit: five fsyncs for a command that commits once. certctl's
// connections set SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE instead: closing leaves
// the log as it is, and a command that commits once pays the fsync of its
// commit (and the one SQLite gives the directory the first time a process
// syncs the log). Nothing is less durable: every commit is synced to the log
// before it is acknowledged (synchronous=FULL), and a log left beside the
// database is exactly what SQLite reads back after a crash — the next
// connection, of any process, sees every committed transaction in it.
//
// The log stays small. A process that opens the vault while no other has it
// open rebuilds the log's index by reading the whole log, and then cannot
// restart it from the beginning (SQLite no longer knows it was checkpointed),
// so a command closing the vault folds the log into the database file and
// truncates it once it is larger than walCloseLimit (trimLog: a request
// appends about 90 KiB, so about one command in six pays that checkpoint, and
// a command reads at most that much log at start, about 0.4 ms of CPU).
// A long-running process (endpoint serve) keeps the index in shared memory:
// there SQLite's automatic checkpoint (walAutoCheckpoint pages) and restart
// keep the log bounded, and journal_size_limit truncates it on restart.
const (
	// busyTimeout is how long a connection waits for another's lock
	// (SQLite's busy_timeout) before its statement fails SQLITE_BUSY.
	busyTimeout       = 30 * time.Second
	walAutoCheckpoint = 1000
	walSizeLimit      = 4 << 20
	walCloseLimit     = 512 << 10
)

// trimLog checkpoints and truncates the log when it is larger than
// walCloseLimit, before the vault is closed. It waits at most 100 ms for
// other processes' readers: when they keep it from finishing, the log stays
// (it is as valid as before) and one of them or a later command trims it.
func (s *SQLite) trimLog() {
	fi, err := os.Stat(s.path + "-wal")
	if err != nil || fi.Size() <= walCloseLimit {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.foldLog(ctx, 100*time.Millisecond)
}

// FoldLog copies every committed transaction from the log into the
// database file and truncates the log, so that the database file alone
// holds the whole vault (vault migrate leaves its target so). It waits for
// other connections' transactions as a write does.
func (s *SQLite) FoldLog(ctx context.Context) error {
	if s.readOnly {
		return nil
	}
	return s.foldLog(ctx, 30*time.Second)
}

func (s *SQLite) foldLog(ctx context.Context, wait time.Duration) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", wait.Milliseconds())); err != nil {
		return wrapSQLiteErr(err)
	}
	defer c.ExecContext(context.Background(), fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())) //nolint:errcheck // the pool's setting back
	var busy, logFrames, done int
	if err := c.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logFrames, &done); err != nil {
		return wrapSQLiteErr(err)
	}
	if busy != 0 {
		return fmt.Errorf("folding the log of %s into it: the database is busy", s.path)
	}
	return nil
}

// noCheckpointConnector opens the connections of a vault pool: each one
// skips the checkpoint when it closes (see above).
type noCheckpointConnector struct{ driver.Connector }

func (c noCheckpointConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	// Best effort: a driver whose connection this cannot reach still
	// works, with SQLite's default checkpoint on close.
	_ = noCheckpointOnClose(conn)
	return conn, nil
}

// poolMaxIdle is how many of a pool's connections stay open between
// transactions. database/sql keeps two by default and closes every other
// as it is put back, so a server answering eight requests at once opened
// a connection for nearly every transaction past the second: the file
// opened, the schema parsed, every statement prepared again and the page
// cache cold, then all of it closed. That was 5% of an ACME order's CPU at
// 8 clients (bench/acme: 3.7 against 3.5 ms an order, 277-300 against
// 308-315 orders/s, run in turn). Idle connections are kept for good, as
// the two were: closing a server's last one would make the next open
// rebuild the log's index; at most poolMaxIdle page caches (up to 2 MiB
// each) are kept.
const poolMaxIdle = 16

// openSQLitePool opens dsn with connections that keep the log on close,
// and keeps them open between transactions (poolMaxIdle).
func openSQLitePool(dsn string) (*sql.DB, error) {
	base, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(noCheckpointConnector{base})
	db.SetMaxIdleConns(poolMaxIdle)
	return db, nil
}

// noCheckpointOnClose sets SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE on a connection
// of modernc.org/sqlite, through its handle (sqliteHandle): the driver
// exposes no sqlite3_db_config.
func noCheckpointOnClose(conn driver.Conn) error {
	db, tls, err := sqliteHandle(conn)
	if err != nil {
		return err
	}
	// The variadic (int onoff, int *pRes) of sqlite3_db_config: one 8-byte
	// slot an argument in libc's va_list.
	bp := tls.Alloc(16)
	defer tls.Free(16)
	if rc := sqlite3.Xsqlite3_db_config(tls, db, sqlite3.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, libc.VaList(bp, int32(1), uintptr(0))); rc != sqlite3.SQLITE_OK {
		return fmt.Errorf("sqlite3_db_config(SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE): result code %d", rc)
	}
	return nil
}
