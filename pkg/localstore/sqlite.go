package localstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/certctl/certctl/pkg/timeutil"
)

// SQLite is the embedded store: one database file in WAL mode.
type SQLite struct {
	db *sql.DB
	// ro serves View: its connections have PRAGMA query_only set, so that
	// a read transaction cannot write (database/sql's TxOptions.ReadOnly is
	// ignored by the driver). In a short-lived process (OpenSQLiteOnePool)
	// ro is db.
	ro *sql.DB
	// guard runs first in every write transaction (see writeGuarded).
	guard func(Tx) error
	path  string
	// readOnly is set when the database could only be opened for reading
	// (a read-only copy, mount or file): Update then fails with
	// ErrReadOnly and db is the read pool.
	readOnly bool
	// wstmts and rstmts are the statements prepared on db and ro: a
	// statement is parsed once per connection instead of once per call.
	wstmts, rstmts stmtCache
	// rawScans counts the summary lists and revocation scans read
	// through SQLite's C interface (sqlite_raw.go; tests).
	rawScans atomic.Int64
	// marks: whether the upgrade marks were read at open (upgrademark.go).
	marks upgradeMarks
	// files are the database and log files this store opened
	// (sqlite_files.go).
	files openedFiles
	// created identifies the database file when opening it created it
	// (zero otherwise; see discardCreated).
	created fileID
}

// stmtCacheMax bounds how many statements a pool keeps prepared; queries
// built on the fly (list filters) beyond it are prepared for one use.
const stmtCacheMax = 512

// stmtCache holds the statements prepared on one pool.
type stmtCache struct {
	mu sync.Mutex
	m  map[string]*sql.Stmt
	// seen are the queries asked for without being prepared on the pool,
	// with the transaction that first asked (see get).
	seen map[string]uint64
	// txs numbers the transactions.
	txs atomic.Uint64
	// txOnly never prepares on the pool: the reads of a one-pool store
	// (viewOnWriter) hold its connection pinned, so preparing on the pool
	// would open another connection just to parse the query there.
	txOnly bool
}

// get returns q prepared on db, or nil when the cache is full or when no
// earlier transaction than tx asked for q: the caller then prepares q on
// its transaction. Preparing on the pool while a transaction holds the
// pool's only connection opens another one (and parses the schema there)
// just to prepare q, which a command that runs one transaction — a request
// — would pay for nothing; a query run again by a later transaction (a
// long-running process) is prepared on the pool once.
func (c *stmtCache) get(db *sql.DB, q string, tx uint64) *sql.Stmt {
	if c.txOnly {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[q]; ok {
		return st
	}
	if len(c.m) >= stmtCacheMax {
		return nil
	}
	if first, ok := c.seen[q]; !ok || first == tx {
		if c.seen == nil {
			c.seen = map[string]uint64{}
		}
		if !ok && len(c.seen) < stmtCacheMax {
			c.seen[q] = tx
		}
		return nil
	}
	delete(c.seen, q)
	st, err := db.Prepare(q)
	if err != nil {
		return nil
	}
	if c.m == nil {
		c.m = map[string]*sql.Stmt{}
	}
	c.m[q] = st
	return st
}

func (c *stmtCache) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var errList []error
	for _, st := range c.m {
		errList = append(errList, st.Close())
	}
	c.m = nil
	return errors.Join(errList...)
}

// ErrReadOnly is a write to a vault that can only be read.
var ErrReadOnly = errors.New("the vault is read-only")

// ReadOnly reports whether the database was opened read-only.
func (s *SQLite) ReadOnly() bool { return s.readOnly }

var _ Store = (*SQLite)(nil)

// sqliteDSN sets every pragma in the DSN so that each pooled connection gets
// it, and opens write transactions with BEGIN IMMEDIATE so that concurrent
// read-then-write transactions queue on the busy timeout instead of failing
// with "database is locked" when they upgrade their lock.
func sqliteDSN(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walAutoCheckpoint))
	q.Add("_pragma", fmt.Sprintf("journal_size_limit(%d)", walSizeLimit))
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	}
	q.Set("_txlock", "immediate")
	// The database file exists (openSQLite creates it, 0600): a
	// connection opened after it was removed fails rather than create
	// an empty one with the process's umask (sqlite_files.go).
	q.Set("mode", "rw")
	return "file:" + path + "?" + q.Encode()
}

// viewCacheSize is the page cache, in pages, of a short-lived process's
// read transaction (viewOnWriter), and writeCacheSize (in KiB) that of
// its write transactions, which its connection goes back to after a read.
// A list reads each page of its index once: with the default cache every
// page read takes a page of memory the process has not touched before, and
// with a small one the pages already read are reused. On a machine where first touching a
// page costs the kernel 10 µs (a virtual machine) and a 4 KiB pread 2 µs,
// `list -o json` over 10,000 certificates took 73 ms against 92 ms, and
// `ca crl` of 100,000 revoked serials 336 ms against 378 ms, with
// `list --expiring-within 30d` over a million no slower (482 against
// 513 ms). The file is not mapped into memory either: a mapped page is
// such a first touch (1,053 index pages cost about 700 faults, the pages
// of an index being scattered through the file), and `request` was no
// faster mapped (38.2 against 37.7 ms, run in turn).
//
// A command's write cache is 16 MiB rather than SQLite's default of
// 2000 KiB: a batch of `import --from-dir` (500 certificates a
// transaction) changes about 4 MiB of pages, and the random keys of the
// ID, serial and secret indexes spread those changes over all their
// pages. With the default cache the batch spilled changed pages into the
// log before its commit, wrote them again when they changed again, and
// read evicted index pages back: importing 10,000 certificates made
// 182,000 pwrite and 120,000 pread calls; with 16 MiB, 123,000 and
// 42,000, and took 3.9 s against 4.6 s (hyperfine, 10 runs each in
// turn). Memory is taken only as pages are read: a command that changes
// a few pages uses a few pages (`request` and `list` took the same time).
// A server (OpenSQLite) keeps SQLite's default: its transactions are
// small, and with 16 MiB bench's BenchmarkRequestDurableConcurrent took
// 485-489 CPU-µs a certificate against 462-478 (two runs each, in turn).
const (
	viewCacheSize  = 64
	writeCacheSize = -16000
	// viewPragmas and writePragmas set a connection up for a View and
	// back, with the sizes above written out (no formatting per View;
	// TestSQLiteCommandReadsRecyclePages checks that they agree).
	viewPragmas  = "PRAGMA query_only = 1; PRAGMA cache_size = 64"
	writePragmas = "PRAGMA query_only = 0; PRAGMA cache_size = -16000"
)

// OpenSQLite opens (creating if needed, mode 0600) the database at path and
// brings its schema up to date, with a pool of read connections of its own
// beside the write connections: a server reads on many connections while
// one writes.
//
// No connection maps the database file into memory. A connection that
// begins a read transaction after another has committed drops its whole
// mapping (SQLite's pagerBeginReadTransaction unmaps the file when the log
// has changed), and a server's read follows a commit nearly every time: an
// munmap, which interrupts every CPU running the process's threads, then a
// page fault for each page read again. bench's
// BenchmarkServerReadAfterChange (a commit, then a read of one record on
// the read pool) took 293-339 µs of CPU a pair unmapped against 352-405
// µs mapped, in three runs of each taking turns.
func OpenSQLite(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, false, false)
}

// OpenSQLiteCurrent opens the database at path for a reader that must
// change nothing, such as shell completion: the file must exist (it is
// not created) and hold this build's schema; a schema missing or behind
// is ErrSchemaNotCurrent, not migrated (review: completion made a whole
// vault of an empty file named by sqlite:PATH).
func OpenSQLiteCurrent(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, true, true)
}

// OpenSQLiteOnePool is OpenSQLite for a short-lived process (one command):
// reads and writes share one pool, so that a command that reads then
// writes — a request, which resolves its CA first — opens one connection
// and parses the schema once instead of twice. A read transaction is still
// a deferred one (only write transactions begin IMMEDIATE), made
// query_only and given a small page cache while it runs (viewOnWriter,
// viewCacheSize). The pool stays unbounded: a View nested in
// an Update takes a second connection.
func OpenSQLiteOnePool(ctx context.Context, path string) (*SQLite, error) {
	return openSQLite(ctx, path, true, false)
}

func openSQLite(ctx context.Context, path string, onePool, current bool) (*SQLite, error) {
	var created fileID
	var f *os.File
	var err error
	switch {
	case current:
		// Not created, and a database in WAL mode already, as every
		// vault is: SQLite would write the header of an empty file, and
		// the connection's journal_mode pragma would turn another
		// program's rollback-journal database into a WAL one (review).
		if f, err = os.OpenFile(path, os.O_RDWR, 0); err == nil && !isCurrentVault(f, path) {
			f.Close()
			return nil, ErrSchemaNotCurrent
		}
	default:
		f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			if fi, serr := f.Stat(); serr == nil {
				created = idOf(fi)
			}
		} else if errors.Is(err, os.ErrExist) {
			f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		}
	}
	if err != nil {
		if cannotWrite(err) {
			if _, serr := os.Stat(path); serr == nil {
				return openSQLiteReadOnly(ctx, path)
			}
		}
		return nil, err
	}
	if err := errors.Join(checkHeaderVersion(f, path), f.Close()); err != nil {
		return nil, err
	}
	// SQLite creates the -wal and -shm files with the database file's mode,
	// so a 0600 database keeps them 0600 too.
	dsn := sqliteDSN(path, false)
	if onePool {
		dsn += "&_pragma=" + url.QueryEscape(fmt.Sprintf("cache_size(%d)", writeCacheSize))
	}
	db, err := openSQLitePool(dsn)
	if err != nil {
		return nil, err
	}
	s := &SQLite{db: db, ro: db, path: path, created: created}
	s.rstmts.txOnly = onePool
	if !onePool {
		if s.ro, err = openSQLitePool(sqliteDSN(path, true)); err != nil {
			db.Close()
			return nil, err
		}
	}
	// Read the schema version through the read pool: a read-only command
	// on an up-to-date vault then never opens a write connection. The
	// upgrade marks are counted in the same query (upgrademark.go); it
	// fails where there is no meta table yet (a new vault), which the
	// migration then makes.
	var v, marks int
	err = s.ro.QueryRowContext(ctx, upToDateQuery).Scan(&v, &marks)
	if (err != nil || v != len(migrations)) && current {
		s.Close()
		return nil, ErrSchemaNotCurrent
	}
	if err != nil || v != len(migrations) {
		if err := retryBusy(ctx, func() error { return s.migrate(ctx) }); err != nil {
			s.Close()
			return nil, sqliteFileError(err, path, "the vault")
		}
	} else {
		s.marks = marksFrom(marks)
	}
	s.files = recordFiles(path)
	return s, nil
}

// isCurrentVault reports whether f, the database at path, begins with the
// header of an SQLite database in WAL mode (its file format write and
// read versions, bytes 18 and 19, are 2) whose user_version (offset 60)
// is this build's schema version — read from the header only when no
// log holds a newer one (a non-empty path-wal): another program's WAL
// database would otherwise get -wal and -shm files beside it (review).
func isCurrentVault(f *os.File, path string) bool {
	var hdr [64]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || string(hdr[:16]) != "SQLite format 3\x00" || hdr[18] != 2 || hdr[19] != 2 {
		return false
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return true
	}
	return int(binary.BigEndian.Uint32(hdr[60:])) == len(migrations)
}

// checkHeaderVersion refuses a schema version of the database at path (f,
// open on it) that this certctl cannot use, read from the database
// header (user_version, a big-endian integer at offset 60) before SQLite
// opens it: SQLite would first create the -wal and -shm files of a WAL
// database, and leave them beside a vault that a newer certctl made, or
// a copy of one, that this one then refuses (tester). Only when there is
// no log, or an empty one: a log may hold a newer header, and the files
// are there already. A new file, or one that is not a database, is left
// to SQLite.
func checkHeaderVersion(f *os.File, path string) error {
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 0 {
		return nil
	}
	var h [100]byte
	if _, err := f.ReadAt(h[:], 0); err != nil || string(h[:16]) != "SQLite format 3\x00" {
		return nil
	}
	version := int(int32(binary.BigEndian.Uint32(h[60:])))
	if version == 0 && binary.BigEndian.Uint32(h[40:]) != 0 {
		// Schema version 0 and a schema changed (the schema cookie):
		// another program's database, refused before a connection
		// sets the WAL mode on it (tester: it was left in WAL mode, with
		// -wal and -shm files). A certctl vault's first migration sets
		// its version in the transaction that makes its tables.
		return fmt.Errorf("%w: %s is another program's SQLite database (its schema version is 0 and it has tables): not a certctl vault", ErrCorrupt, path)
	}
	return checkSchemaVersion("vault", version, len(migrations))
}

// cannotWrite reports whether err refuses writing (a read-only file,
// directory or file system) rather than telling that something is wrong.
func cannotWrite(err error) bool {
	return errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// openSQLiteReadOnly opens an existing database that cannot be written:
// reads work, writes fail with ErrReadOnly. SQLite's mode=ro still needs
// to create the -shm file of a WAL database (it uses the one a writer
// left); where the directory refuses that too, the database is opened
// immutable, which ignores the log: only when there is no log (a writer
// keeps it on close, see sqlite_wal.go), else that would read an older
// state of the vault than the last commit.
func openSQLiteReadOnly(ctx context.Context, path string) (*SQLite, error) {
	if f, err := os.Open(path); err == nil {
		if err := errors.Join(checkHeaderVersion(f, path), f.Close()); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for _, mode := range []string{"ro", "immutable"} {
		if fi, err := os.Stat(path + "-wal"); mode == "immutable" && err == nil && fi.Size() > 0 {
			return nil, fmt.Errorf("%w: %s-wal holds changes not yet in %s, and reading them needs %s-shm (%v)",
				ErrReadOnly, path, filepath.Base(path), filepath.Base(path), wrapSQLiteErr(lastErr))
		}
		q := url.Values{}
		q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "query_only(1)")
		q.Set("mode", "ro")
		if mode == "immutable" {
			q.Set("immutable", "1")
		}
		db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
		if err != nil {
			return nil, err
		}
		var v int
		if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
			db.Close()
			lastErr = err
			continue
		}
		if err := checkSchemaVersion("vault", v, len(migrations)); err != nil {
			db.Close() // a newer one needs a newer certctl, not an upgrade of the vault
			return nil, err
		}
		if v != len(migrations) {
			db.Close()
			return nil, fmt.Errorf("%w: its schema (version %d) needs an upgrade (version %d) that only a writable vault can take", ErrReadOnly, v, len(migrations))
		}
		return &SQLite{db: db, ro: db, path: path, readOnly: true}, nil
	}
	return nil, wrapSQLiteErr(lastErr)
}

// retryBusy retries fn while it fails with SQLITE_BUSY. The first
// connections to a new database convert it to WAL mode; when two do so at
// once, each holds a read lock that the other must see released, and SQLite
// answers SQLITE_BUSY at once instead of waiting on the busy timeout. Once
// the database is in WAL mode this no longer happens.
func retryBusy(ctx context.Context, fn func() error) error {
	deadline := time.Now().Add(30 * time.Second)
	for delay := time.Millisecond; ; delay = min(2*delay, 100*time.Millisecond) {
		err := fn()
		var se *sqlite.Error
		if err == nil || !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_BUSY || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
	}
}

// Close closes the database.
func (s *SQLite) Close() error {
	stmtErr := errors.Join(s.wstmts.close(), s.rstmts.close())
	if s.readOnly {
		return errors.Join(stmtErr, s.db.Close())
	}
	s.trimLog()
	var roErr error
	if s.ro != s.db {
		roErr = s.ro.Close()
	}
	return errors.Join(stmtErr, roErr, s.db.Close())
}

// Path is the database file.
func (s *SQLite) Path() string { return s.path }

// DB exposes the handle for tests and benchmarks.
func (s *SQLite) DB() *sql.DB { return s.db }

// Update runs fn in a BEGIN IMMEDIATE transaction.
func (s *SQLite) Update(ctx context.Context, fn func(Tx) error) error {
	if s.readOnly {
		return fmt.Errorf("%w (%s cannot be written): reading commands work, changes need a writable vault", ErrReadOnly, s.path)
	}
	return s.run(ctx, false, guarded(s.guard, fn))
}

func (s *SQLite) setWriteGuard(g func(Tx) error) { s.guard = g }

// View runs fn in a deferred (read) transaction.
func (s *SQLite) View(ctx context.Context, fn func(Tx) error) error {
	return s.run(ctx, true, fn)
}

func (s *SQLite) run(ctx context.Context, readOnly bool, fn func(Tx) error) (err error) {
	defer func() { err = sqliteFileError(err, s.path, "the vault") }()
	db, cache := s.db, &s.wstmts
	if readOnly {
		if s.OnePool() {
			return s.viewOnWriter(ctx, fn)
		}
		db, cache = s.ro, &s.rstmts
	}
	if readOnly {
		return s.runIn(ctx, db, cache, nil, readOnly, fn)
	}
	// A write holds its connection pinned, as a command's read does
	// (viewOnWriter), so that its long reads (a CRL's revoked serials, a
	// summary list) go through SQLite's C interface (sqlite_raw.go).
	c, err := db.Conn(ctx)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer c.Close()
	return s.runIn(ctx, db, cache, c, readOnly, fn)
}

// OnePool reports whether reads share the write pool
// (OpenSQLiteOnePool). A store opened read-only (openSQLiteReadOnly) has
// one pool too, of query_only connections, but is not one: its reads take
// no write connection.
func (s *SQLite) OnePool() bool { return s.ro == s.db && !s.readOnly }

// viewOnWriter runs a read transaction of a one-pool store
// (OpenSQLiteOnePool) on one of its write connections, made query_only
// for the transaction, as a read pool's connections are for good: a View
// cannot write. Its page cache is viewCacheSize pages meanwhile. A
// connection that cannot be set back is dropped.
func (s *SQLite) viewOnWriter(ctx context.Context, fn func(Tx) error) error {
	return s.onPinned(ctx, viewPragmas, writePragmas, func(c *sql.Conn) error {
		return s.runIn(ctx, s.db, &s.rstmts, c, true, fn)
	})
}

// onPinned runs fn on one connection of the write pool, pinned, set up
// for it by the statements set and back by reset. A connection that
// cannot be set back is dropped, so that no other transaction runs with
// set's settings.
func (s *SQLite) onPinned(ctx context.Context, set, reset string, fn func(*sql.Conn) error) error {
	c, err := s.db.Conn(ctx)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer c.Close()
	// The reset is set up before set runs: the driver may report a
	// cancelled context for a statement that took effect.
	defer func() {
		if _, err := c.ExecContext(context.Background(), reset); err != nil {
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	if _, err := c.ExecContext(ctx, set); err != nil {
		return wrapSQLiteErr(err)
	}
	return fn(c)
}

// runIn runs fn in a transaction on db, or on conn (one of its
// connections, pinned) when set, with cache's statements.
func (s *SQLite) runIn(ctx context.Context, db *sql.DB, cache *stmtCache,
	conn *sql.Conn, readOnly bool, fn func(Tx) error) (err error) {
	begin := db.BeginTx
	if conn != nil {
		begin = conn.BeginTx
	}
	tx, err := begin(ctx, &sql.TxOptions{ReadOnly: readOnly})
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&sqliteTx{tx: tx, db: db, cache: cache, id: cache.txs.Add(1), ctx: ctx, conn: conn, rawScans: &s.rawScans}); err != nil {
		if rbErr := tx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			err = errors.Join(err, rbErr)
		}
		// What a transaction found missing is not believed once the
		// vault's files are gone.
		if ferr := s.files.intact(); ferr != nil {
			return ferr
		}
		// A cancelled context ends the transaction under a query's feet
		// (database/sql closes its rows and rolls back): what the query
		// then reports ("sql: Rows are closed") is the cancellation.
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w (%w)", cerr, err)
		}
		return err
	}
	if err := s.files.intact(); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		// A context cancelled after fn returned rolled the transaction
		// back (database/sql does so when it is cancelled): the commit
		// finds it done ("sql: transaction has already been committed or
		// rolled back"), and what the caller is told is the cancellation.
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			return fmt.Errorf("%w (%w)", cerr, wrapSQLiteErr(err))
		}
		return wrapSQLiteErr(err)
	}
	return nil
}

// Check runs PRAGMA integrity_check.
func (s *SQLite) Check(ctx context.Context) error {
	var res string
	if err := s.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return err
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// ErrCorrupt marks a database file that is not a usable SQLite database.
var ErrCorrupt = errors.New("vault database is corrupt or not a certctl vault")

func wrapSQLiteErr(err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("%w: %v", ErrCorrupt, err)
		case sqlite3.SQLITE_CONSTRAINT:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		}
	}
	return err
}

type sqliteTx struct {
	tx    *sql.Tx
	db    *sql.DB
	cache *stmtCache
	// rowids are the rowids of the certificates ListCertificateTags read
	// in this transaction, so that SetCertificateTags finds their rows
	// without searching the ID index again (a bulk tag change reads a
	// batch's tags, then writes each certificate's).
	rowids map[string]int64
	// bound are the statements already bound to tx (a transaction that
	// runs a statement many times — a batch of changes — binds it once).
	bound map[string]*sql.Stmt
	// id numbers the transaction for cache.
	id uint64
	// ctx is the transaction's context, and conn its pinned connection
	// (a write, or a command's read, viewOnWriter; else nil), which a
	// summary list and a CRL's revocations read through SQLite's C
	// interface (sqlite_raw.go).
	ctx  context.Context
	conn *sql.Conn
	// rawScans counts the store's scans read so (tests).
	rawScans *atomic.Int64
}

// stmt is q prepared (once per connection) and bound to t, or nil.
func (t *sqliteTx) stmt(q string) *sql.Stmt {
	if t.cache == nil {
		return nil
	}
	if st, ok := t.bound[q]; ok {
		return st
	}
	var bst *sql.Stmt
	if st := t.cache.get(t.db, q, t.id); st != nil {
		bst = t.tx.Stmt(st)
	} else if st, err := t.tx.Prepare(q); err == nil {
		bst = st
	} else {
		return nil
	}
	if t.bound == nil {
		t.bound = make(map[string]*sql.Stmt, 8)
	}
	t.bound[q] = bst
	return bst
}

func (t *sqliteTx) rawExec(q string, args ...any) (sql.Result, error) {
	if st := t.stmt(q); st != nil {
		return st.Exec(args...)
	}
	return t.tx.Exec(q, args...)
}

func (t *sqliteTx) rawQuery(q string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(q); st != nil {
		return st.Query(args...)
	}
	return t.tx.Query(q, args...)
}

func (t *sqliteTx) rawQueryRow(q string, args ...any) *sql.Row {
	if st := t.stmt(q); st != nil {
		return st.QueryRow(args...)
	}
	return t.tx.QueryRow(q, args...)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (t *sqliteTx) exec(q string, args ...any) error {
	_, err := t.rawExec(q, args...)
	return wrapSQLiteErr(err)
}

func (t *sqliteTx) GetCertificate(id string) (*Certificate, error) {
	var r certRow
	var upd sql.NullInt64
	err := t.rawQueryRow(`SELECT data, tags, updated_at FROM certificates WHERE id = ?`, id).Scan(&r.data, &r.tags, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	if upd.Valid {
		r.updated = &upd.Int64
	}
	c, err := r.decode()
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %s: %v", ErrCorrupt, id, err)
	}
	return c, nil
}

func (t *sqliteTx) PutCertificate(c *Certificate) error {
	row, err := certificateRow(c)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO certificates
		(id, domain_name, status, type, origin, key_algorithm, not_after, created_at, exportable, in_use, eligibility, data, tags, updated_at, summary)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET domain_name=excluded.domain_name, status=excluded.status,
		type=excluded.type, origin=excluded.origin, key_algorithm=excluded.key_algorithm,
		not_after=excluded.not_after, created_at=excluded.created_at, exportable=excluded.exportable,
		in_use=excluded.in_use, eligibility=excluded.eligibility, data=excluded.data,
		tags=excluded.tags, updated_at=excluded.updated_at, summary=excluded.summary`,
		row...)
}

func (t *sqliteTx) GetCertificateTags(id string) ([]Tag, error) {
	var tags, data []byte
	// The record is read only when the tags are still in it.
	err := t.rawQueryRow(`SELECT tags, CASE WHEN tags IS NULL THEN data END FROM certificates WHERE id = ?`, id).Scan(&tags, &data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	return rowTags(id, tags, data)
}

func (t *sqliteTx) ListCertificateTags(ids []string) (map[string][]Tag, error) {
	out := make(map[string][]Tag, len(ids))
	// At most tagsPerQuery IDs a query: SQLite bounds the number of
	// parameters.
	for len(ids) > 0 {
		n := min(len(ids), tagsPerQuery)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := t.rawQuery(`SELECT rowid, id, tags, CASE WHEN tags IS NULL THEN data END FROM certificates WHERE id IN (`+
			strings.TrimSuffix(strings.Repeat("?,", n), ",")+`)`, args...)
		if err != nil {
			return nil, wrapSQLiteErr(err)
		}
		if t.rowids == nil {
			t.rowids = make(map[string]int64, len(ids))
		}
		for rows.Next() {
			var rowid int64
			var id string
			var tags, data []byte
			if err := rows.Scan(&rowid, &id, &tags, &data); err != nil {
				rows.Close()
				return nil, wrapSQLiteErr(err)
			}
			t.rowids[id] = rowid
			if out[id], err = rowTags(id, tags, data); err != nil {
				rows.Close()
				return nil, err
			}
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, wrapSQLiteErr(err)
		}
		ids = ids[n:]
	}
	return out, nil
}

// tagsPerQuery is how many IDs one query of ListCertificateTags looks up.
const tagsPerQuery = 1000

func (t *sqliteTx) SetCertificateTags(id string, tags []Tag, updatedAt time.Time) error {
	b, err := encodeTags(tags)
	if err != nil {
		return err
	}
	// Only the two columns change: no index covers them, and the record
	// is not rewritten. A row whose rowid this transaction read is found
	// by it (and its ID checked: a row deleted and inserted again since
	// has another rowid, and is then found by its ID).
	if rowid, ok := t.rowids[id]; ok {
		delete(t.rowids, id)
		res, err := t.rawExec(`UPDATE certificates SET tags = ?, updated_at = ? WHERE rowid = ? AND id = ?`, b, nullNanos(updatedAt), rowid, id)
		if err != nil {
			return wrapSQLiteErr(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
	}
	res, err := t.rawExec(`UPDATE certificates SET tags = ?, updated_at = ? WHERE id = ?`, b, nullNanos(updatedAt), id)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *sqliteTx) DeleteCertificate(id string) error {
	res, err := t.rawExec(`DELETE FROM certificates WHERE id = ?`, id)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	// Versions and their sealed keys go with the certificate.
	rows, err := t.rawQuery(`SELECT data FROM cert_versions WHERE cert_id = ?`, id)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	var refs []string
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			rows.Close()
			return wrapSQLiteErr(err)
		}
		ref, err := versionKeyRef(id, data)
		if err != nil {
			rows.Close()
			return err
		}
		if ref != "" {
			refs = append(refs, ref)
		}
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return wrapSQLiteErr(err)
	}
	rows.Close()
	for _, ref := range refs {
		if err := t.exec(`DELETE FROM secrets WHERE ref = ?`, ref); err != nil {
			return err
		}
	}
	return t.exec(`DELETE FROM cert_versions WHERE cert_id = ?`, id)
}

// versionKeyRef is the sealed key reference of a stored version record. A
// record that does not decode is an error, not a version without a key: a
// delete that skipped it would leave its sealed key behind, belonging to
// nothing.
func versionKeyRef(certID string, data []byte) (string, error) {
	var v CertificateVersion
	if err := json.Unmarshal(data, &v); err != nil {
		return "", fmt.Errorf("%w: a version of certificate %s is unreadable: %v", ErrCorrupt, certID, err)
	}
	return v.KeyRef, nil
}

// sqlitePrefixed is the condition that col (of the BINARY collation, as
// every key column is) starts with prefix, and its arguments: a range of
// the column's index, lo <= col < hi, where hi is prefix with its last
// byte below 0xff raised by one (no upper bound when there is none).
//
// Not col LIKE ?: SQLite marks a statement whose LIKE pattern is a bound
// parameter to be prepared again whenever the parameter is bound (so that
// its plan may use the pattern's prefix), which a cached statement then
// is on every run. An ACME order looks up its endpoint's domains by prefix
// twice: parsing and planning that statement again took 0.19 s of 3.62 s
// in a 600-order profile (bench/acme -inprocess -levels 1), and, the
// index being BINARY and LIKE case-insensitive, its plan could not use
// the prefix anyway.
func sqlitePrefixed(col, prefix string) (string, []any) {
	b := []byte(prefix)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] != 0xff {
			b[i]++
			return col + " >= ? AND " + col + " < ?", []any{prefix, string(b[:i+1])}
		}
	}
	return col + " >= ?", []any{prefix}
}

func (t *sqliteTx) EachCertificateTags(fn func(id string, tags []Tag) error) error {
	rows, err := t.rawQuery(`SELECT id, tags, CASE WHEN tags IS NULL THEN data END FROM certificates`)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer rows.Close()
	var id string
	var tags, data []byte
	for rows.Next() {
		if err := rows.Scan(&id, &tags, &data); err != nil {
			return wrapSQLiteErr(err)
		}
		ts, err := rowTags(id, tags, data)
		if err != nil {
			return err
		}
		if err := fn(id, ts); err != nil {
			return err
		}
	}
	return wrapSQLiteErr(rows.Err())
}

func (t *sqliteTx) FindCertificateIDs(prefix string, limit int) ([]string, error) {
	cond, args := sqlitePrefixed("id", prefix)
	return t.strings(`SELECT id FROM certificates WHERE `+cond+` ORDER BY id LIMIT ?`, append(args, limit)...)
}

func (t *sqliteTx) strings(q string, args ...any) ([]string, error) {
	rows, err := t.rawQuery(q, args...)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func inClause(col string, vals []string, where *[]string, args *[]any) {
	if len(vals) == 0 {
		return
	}
	ph := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
	*where = append(*where, col+" IN ("+ph+")")
	for _, v := range vals {
		*args = append(*args, v)
	}
}

func (t *sqliteTx) ListCertificates(f CertificateFilter) ([]*Certificate, error) {
	return t.listCertificates(f, false, nil)
}

// listCertificates runs ListCertificates, or ScanCertificateSummaries
// with summaries when set.
func (t *sqliteTx) listCertificates(f CertificateFilter, reuse bool, summaries func([]*Certificate) error) ([]*Certificate, error) {
	var where []string
	var args []any
	inClause("id", f.IDs, &where, &args)
	inClause("status", f.Statuses, &where, &args)
	inClause("key_algorithm", f.KeyAlgorithms, &where, &args)
	inClause("type", f.Types, &where, &args)
	inClause("origin", f.Origins, &where, &args)
	inClause("eligibility", f.Eligibility, &where, &args)
	if f.Exportable != nil {
		where = append(where, "exportable = ?")
		args = append(args, boolInt(*f.Exportable))
	}
	if f.InUse != nil {
		where = append(where, "in_use = ?")
		args = append(args, boolInt(*f.InUse))
	}
	if !f.NotAfterBefore.IsZero() {
		where = append(where, "not_after < ?")
		args = append(args, timeutil.UnixNano(f.NotAfterBefore))
	}
	if f.IDPrefix != "" {
		cond, a := sqlitePrefixed("id", f.IDPrefix)
		where, args = append(where, cond), append(args, a...)
	}
	if f.After != nil {
		where = append(where, afterClause(sortColumn(f.SortBy), f.Descending, *f.After, func(v any) string {
			args = append(args, v)
			return "?"
		}))
	}
	q := "SELECT data, tags, updated_at, NULL FROM certificates"
	if summaries != nil {
		q = "SELECT " + sqliteSummaryColumns + " FROM certificates"
		if f.NoTags {
			q = "SELECT " + sqliteSummaryColumnsNoTags + " FROM certificates"
		}
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	col := sortColumn(f.SortBy)
	dir := "ASC"
	if f.Descending {
		dir = "DESC"
	}
	if !f.NotAfterBefore.IsZero() && col != "not_after" {
		// Find the few expiring rows by the not_after index and sort
		// them: "+" keeps the planner (which has no statistics) from
		// walking the whole table in the order of the sort key's index.
		col = "+" + col
	}
	q += fmt.Sprintf(" ORDER BY %s %s, id %s", col, dir, dir)
	if f.Limit > 0 {
		q += " LIMIT ? OFFSET ?"
		args = append(args, f.Limit, f.Offset)
	} else if f.Offset > 0 {
		q += " LIMIT -1 OFFSET ?"
		args = append(args, f.Offset)
	}
	if summaries != nil {
		return nil, t.scanSummaries(q, args, f.NoTags, reuse, summaries)
	}
	rows, err := t.rawQuery(q, args...)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	d := newCertDecoder()
	defer d.stop()
	for rows.Next() {
		var r certRow
		var upd sql.NullInt64
		if err := rows.Scan(&r.data, &r.tags, &upd, &r.summary); err != nil {
			return nil, err
		}
		if upd.Valid {
			r.updated = &upd.Int64
		}
		d.add(r)
	}
	if err := rows.Err(); err != nil {
		return nil, wrapSQLiteErr(err)
	}
	return d.result()
}

func (t *sqliteTx) CountCertificates() (int, error) {
	var n int
	err := t.rawQueryRow(`SELECT count(*) FROM certificates`).Scan(&n)
	return n, wrapSQLiteErr(err)
}

func (t *sqliteTx) PutVersion(certID string, v *CertificateVersion) error {
	row, err := versionRow(certID, v)
	if err != nil {
		return err
	}
	return t.exec(`INSERT INTO cert_versions (cert_id, version, data) VALUES (?,?,?)
		ON CONFLICT(cert_id, version) DO UPDATE SET data=excluded.data`, row...)
}

func (t *sqliteTx) GetVersion(certID string, number int) (*CertificateVersion, error) {
	var data []byte
	err := t.rawQueryRow(`SELECT data FROM cert_versions WHERE cert_id = ? AND version = ?`, certID, number).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	v := &CertificateVersion{}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}

func (t *sqliteTx) ListVersions(certID string) ([]*CertificateVersion, error) {
	rows, err := t.rawQuery(`SELECT data FROM cert_versions WHERE cert_id = ? ORDER BY version`, certID)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []*CertificateVersion
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		v := &CertificateVersion{}
		if err := json.Unmarshal(data, v); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (t *sqliteTx) PutSecret(ref string, sealed []byte) error {
	return t.exec(`INSERT INTO secrets (ref, sealed) VALUES (?,?)
		ON CONFLICT(ref) DO UPDATE SET sealed=excluded.sealed`, ref, sealed)
}

func (t *sqliteTx) DeleteSecret(ref string) error {
	return t.exec(`DELETE FROM secrets WHERE ref = ?`, ref)
}

func (t *sqliteTx) GetSecret(ref string) ([]byte, error) {
	var b []byte
	err := t.rawQueryRow(`SELECT sealed FROM secrets WHERE ref = ?`, ref).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, wrapSQLiteErr(err)
}

func (t *sqliteTx) ReserveSerial(issuer, serial, certID string, at time.Time) error {
	return t.exec(`INSERT INTO serials (issuer, serial, cert_id, created_at) VALUES (?,?,?,?)`,
		issuer, serial, certID, at.UnixNano())
}

func (t *sqliteTx) PutObject(o *Object) error {
	return t.exec(`INSERT INTO objects (kind, id, data, updated_at) VALUES (?,?,?,?)
		ON CONFLICT(kind, id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at`,
		o.Kind, o.ID, o.Data, nullNanos(o.UpdatedAt))
}

func (t *sqliteTx) GetObject(kind, id string) (*Object, error) {
	o := &Object{Kind: kind, ID: id}
	var upd sql.NullInt64
	err := t.rawQueryRow(`SELECT data, updated_at FROM objects WHERE kind = ? AND id = ?`, kind, id).Scan(&o.Data, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if upd.Valid {
		o.UpdatedAt = time.Unix(0, upd.Int64).UTC()
	}
	return o, wrapSQLiteErr(err)
}

func (t *sqliteTx) DeleteObject(kind, id string) error {
	res, err := t.rawExec(`DELETE FROM objects WHERE kind = ? AND id = ?`, kind, id)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *sqliteTx) ListObjects(kind string) ([]*Object, error) {
	return t.objects(kind, `SELECT id, data, updated_at FROM objects WHERE kind = ? ORDER BY id`, kind)
}

// objects runs query, which selects id, data and updated_at of objects of
// kind, and returns them.
func (t *sqliteTx) objects(kind, query string, args ...any) ([]*Object, error) {
	rows, err := t.rawQuery(query, args...)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []*Object
	for rows.Next() {
		o := &Object{Kind: kind}
		var upd sql.NullInt64
		if err := rows.Scan(&o.ID, &o.Data, &upd); err != nil {
			return nil, err
		}
		if upd.Valid {
			o.UpdatedAt = time.Unix(0, upd.Int64).UTC()
		}
		out = append(out, o)
	}
	return out, rows.Err()
}

func (t *sqliteTx) FindObjectIDs(kind, prefix string, limit int) ([]string, error) {
	cond, args := sqlitePrefixed("id", prefix)
	return t.strings(`SELECT id FROM objects WHERE kind = ? AND `+cond+` ORDER BY id LIMIT ?`,
		append(append([]any{kind}, args...), limit)...)
}

func (t *sqliteTx) FindObjects(kind, prefix string, limit int) ([]*Object, error) {
	cond, args := sqlitePrefixed("id", prefix)
	return t.objects(kind, `SELECT id, data, updated_at FROM objects WHERE kind = ? AND `+cond+` ORDER BY id LIMIT ?`,
		append(append([]any{kind}, args...), limit)...)
}

func (t *sqliteTx) GetMeta(key string) ([]byte, error) {
	var b []byte
	err := t.rawQueryRow(`SELECT value FROM meta WHERE key = ?`, key).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return b, wrapSQLiteErr(err)
}

func (t *sqliteTx) PutMeta(key string, value []byte) error {
	return t.exec(`INSERT INTO meta (key, value) VALUES (?,?)
		ON CONFLICT(key) DO UPDATE SET value=excluded.value`, key, value)
}
