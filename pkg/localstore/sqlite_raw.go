package localstore

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// A command's summary list (list -o json, -o text) reads its rows
// through SQLite's C interface rather than database/sql. Through the
// driver, every row's summary came out as a new slice, copied from
// SQLite's memory and then copied again into the block (summaryList), and
// every row's values were boxed into interfaces: over 10,000 certificates
// 5 MB of memory that the process touched once, 745 of its 1,973 page
// faults (perf record -e page-faults) at 10 µs each on a virtual machine,
// and a quarter of its CPU. Read directly, a row's summary is copied once,
// into the block's buffer, which the next block reuses.
//
// A CRL's revoked serials (EachRevocation) are read so too: each serial
// is handed to the CRL's encoder where SQLite keeps it, with no row
// allocated; over 100,000 revoked serials the driver's rows and strings
// were 25 MB and 40% of `ca crl`'s page faults.
//
// Only a transaction with a pinned connection that nothing else uses
// while it runs does so — a write, a command's read (viewOnWriter) — and,
// of the lists, only the query of a list without tags
// (sqliteSummaryColumnsNoTags): anything else — a server's read pool, a
// list with tags, a driver whose connection this cannot reach — reads
// through database/sql.

// errNoHandle: the driver's connection handle is not reachable (see
// sqliteHandle).
var errNoHandle = errors.New("sqlite connection handle not reachable")

// sqliteHandle returns the database handle and the libc thread state of a
// modernc.org/sqlite connection. The driver exposes neither, so they are
// read by reflection from its unexported db and tls fields;
// TestSQLiteKeepsLogOnClose and TestSQLiteListReadsRawRows fail if a
// driver update moves them.
func sqliteHandle(conn any) (db uintptr, tls *libc.TLS, err error) {
	v := reflect.ValueOf(conn)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return 0, nil, errNoHandle
	}
	e := v.Elem()
	dbf, tlsf := e.FieldByName("db"), e.FieldByName("tls")
	if !dbf.IsValid() || dbf.Kind() != reflect.Uintptr || !tlsf.IsValid() || tlsf.Type() != reflect.TypeOf((*libc.TLS)(nil)) {
		return 0, nil, errNoHandle
	}
	db, tls = uintptr(dbf.Uint()), (*libc.TLS)(tlsf.UnsafePointer())
	if db == 0 || tls == nil {
		return 0, nil, errNoHandle
	}
	return db, tls, nil
}

// rawQuery is a statement prepared with SQLite's C interface on the
// pinned connection of a transaction (a write, a command's read). Every
// call into SQLite runs inside conn.Raw, which holds the connection as
// database/sql does for its own calls: a rollback of the transaction (its
// context cancelled) waits for it. Between calls the transaction's other
// queries may run.
type rawQuery struct {
	ctx  context.Context
	conn *sql.Conn
	db   uintptr
	tls  *libc.TLS
	stmt uintptr
	// mu orders the cancelled context's interrupt with the steps: it is
	// delivered only while inStep is set, and interrupted tells the step
	// loop that it was.
	mu                  sync.Mutex
	inStep, interrupted bool
}

// rawError is an error SQLite returned to rawQuery: a storage error
// (IsStorageError), as the driver's *sqlite.Error is.
type rawError struct {
	code int32
	msg  string
}

func (e *rawError) Error() string { return fmt.Sprintf("sqlite: %s (%d)", e.msg, e.code) }

// rawArgsSupported reports whether every argument is of a type rawQuery
// binds.
func rawArgsSupported(args []any) bool {
	for _, a := range args {
		switch a.(type) {
		case string, int, int64:
		default:
			return false
		}
	}
	return true
}

// prepareRaw prepares q with args on conn. ok is false, with nothing
// done, when the raw path cannot be taken (the handle is unreachable, an
// argument is of another type): the caller reads through database/sql.
func prepareRaw(ctx context.Context, conn *sql.Conn, q string, args []any) (r *rawQuery, ok bool, err error) {
	if conn == nil || !rawArgsSupported(args) {
		return nil, false, nil
	}
	r = &rawQuery{ctx: ctx, conn: conn}
	err = conn.Raw(func(dc any) error {
		var herr error
		if r.db, r.tls, herr = sqliteHandle(dc); herr != nil {
			return herr
		}
		ok = true
		zSQL, err := libc.CString(q)
		if err != nil {
			return err
		}
		defer libc.Xfree(r.tls, zSQL)
		pp := r.tls.Alloc(int(unsafe.Sizeof(uintptr(0))))
		defer r.tls.Free(int(unsafe.Sizeof(uintptr(0))))
		if rc := sqlite3.Xsqlite3_prepare_v2(r.tls, r.db, zSQL, -1, pp, 0); rc != sqlite3.SQLITE_OK {
			return r.err(rc)
		}
		r.stmt = readUintptr(pp)
		for i, a := range args {
			if err := r.bind(int32(i+1), a); err != nil {
				return err
			}
		}
		return nil
	})
	if errors.Is(err, errNoHandle) {
		return nil, false, nil
	}
	if err != nil {
		r.close()
		return nil, true, err
	}
	return r, true, nil
}

// readUintptr reads the pointer SQLite wrote at p (C memory), copied out
// rather than dereferenced.
func readUintptr(p uintptr) uintptr {
	b := libc.GoBytes(p, int(unsafe.Sizeof(uintptr(0))))
	if len(b) == 8 {
		return uintptr(binary.NativeEndian.Uint64(b))
	}
	return uintptr(binary.NativeEndian.Uint32(b))
}

func (r *rawQuery) bind(i int32, a any) error {
	var rc int32
	switch v := a.(type) {
	case int:
		rc = sqlite3.Xsqlite3_bind_int64(r.tls, r.stmt, i, int64(v))
	case int64:
		rc = sqlite3.Xsqlite3_bind_int64(r.tls, r.stmt, i, v)
	case string:
		z, err := libc.CString(v)
		if err != nil {
			return err
		}
		// SQLITE_TRANSIENT: SQLite copies the text before returning.
		rc = sqlite3.Xsqlite3_bind_text(r.tls, r.stmt, i, z, int32(len(v)), sqlite3.SQLITE_TRANSIENT)
		libc.Xfree(r.tls, z)
	default:
		return fmt.Errorf("sqlite: cannot bind %T", a)
	}
	if rc != sqlite3.SQLITE_OK {
		return r.err(rc)
	}
	return nil
}

// err is the error of a call that returned rc: the context's when it was
// cancelled (the call was interrupted), ErrCorrupt for a file that is not
// a usable database, else SQLite's message.
func (r *rawQuery) err(rc int32) error {
	if rc == sqlite3.SQLITE_INTERRUPT && r.ctx.Err() != nil {
		return r.ctx.Err()
	}
	return rawErr(sqlite3.Xsqlite3_extended_errcode(r.tls, r.db), libc.GoString(sqlite3.Xsqlite3_errmsg(r.tls, r.db)))
}

// rawErr is the error of SQLite's extended result code and message: a
// rawError (a storage error), wrapped in ErrCorrupt for a file that is not
// a usable database.
func rawErr(code int32, msg string) error {
	e := &rawError{code: code, msg: msg}
	switch code & 0xff {
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: %w", ErrCorrupt, e)
	}
	return e
}

// summaries steps the statement (its columns: sqliteSummaryColumnsNoTags)
// until l's block is full or the rows end, copying each summary into l;
// a row without a summary is queued for legacy to decode by its rowid.
// It does not flush l, which may run code that reads through the
// transaction: the caller does, outside the connection.
func (r *rawQuery) summaries(l *summaryList, legacy func(rowid int64) func() (*Certificate, error)) (done bool, err error) {
	err = r.stepping(func() error { return r.step(l, legacy, &done) })
	return done, err
}

// stepping runs steps, which steps the statement, inside the connection.
// A context cancelled meanwhile interrupts SQLite, as the driver does
// (from another goroutine, on a thread state of its own), but only while
// steps runs: SQLite keeps an interrupt pending while a statement is
// active, and one delivered between two calls would fail the ROLLBACK
// database/sql then runs, leaving the connection inside its transaction.
func (r *rawQuery) stepping(steps func() error) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	stop := context.AfterFunc(r.ctx, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if !r.inStep {
			return
		}
		r.interrupted = true
		tls := libc.NewTLS()
		sqlite3.Xsqlite3_interrupt(tls, r.db)
		tls.Close()
	})
	defer stop()
	return r.conn.Raw(func(any) error {
		r.mu.Lock()
		r.inStep = true
		r.mu.Unlock()
		err := steps()
		r.mu.Lock()
		r.inStep = false
		interrupted := r.interrupted
		r.mu.Unlock()
		if interrupted {
			// The interrupt may have come after the last step: end the
			// statement here, so that none is active with it pending.
			sqlite3.Xsqlite3_finalize(r.tls, r.stmt)
			r.stmt = 0
			// Only the context's cancellation interrupts, so its error
			// is set.
			return r.ctx.Err()
		}
		return err
	})
}

// each steps the statement to its end, calling row on each row inside the
// connection (row reads the columns; it must not use the transaction).
func (r *rawQuery) each(row func(*rawQuery) error) error {
	return r.stepping(func() error {
		for {
			if ok, err := r.next(); !ok {
				return err
			}
			if err := row(r); err != nil {
				return err
			}
		}
	})
}

// next steps the statement: true at a row, false at its end or on an
// error.
func (r *rawQuery) next() (bool, error) {
	switch rc := sqlite3.Xsqlite3_step(r.tls, r.stmt); rc {
	case sqlite3.SQLITE_ROW:
		return true, nil
	case sqlite3.SQLITE_DONE:
		return false, nil
	default:
		return false, r.err(rc)
	}
}

// step is summaries' loop, inside the connection.
func (r *rawQuery) step(l *summaryList, legacy func(rowid int64) func() (*Certificate, error), done *bool) error {
	for !l.full() {
		ok, err := r.next()
		if !ok {
			*done = err == nil
			return err
		}
		if sqlite3.Xsqlite3_column_type(r.tls, r.stmt, 0) == sqlite3.SQLITE_NULL {
			l.addLegacy(legacy(sqlite3.Xsqlite3_column_int64(r.tls, r.stmt, 1)))
			continue
		}
		// sqlite3_column_blob before sqlite3_column_bytes, as SQLite
		// asks.
		p := sqlite3.Xsqlite3_column_blob(r.tls, r.stmt, 0)
		n := int(sqlite3.Xsqlite3_column_bytes(r.tls, r.stmt, 0))
		if p == 0 && n > 0 {
			return &rawError{code: sqlite3.SQLITE_NOMEM, msg: "out of memory reading a summary"}
		}
		dst := l.addUnfilled(n)
		if n > 0 {
			// p is SQLite's memory, outside the Go heap, valid until
			// the next step: copied out at once.
			copy(dst, unsafe.Slice((*byte)(unsafe.Add(nil, p)), n))
		}
	}
	return nil
}

// close finalizes the statement.
func (r *rawQuery) close() {
	if r.stmt == 0 {
		return
	}
	stmt := r.stmt
	r.stmt = 0
	_ = r.conn.Raw(func(any) error {
		sqlite3.Xsqlite3_finalize(r.tls, stmt)
		return nil
	})
}

// scanSummariesRaw is scanSummaries through rawQuery; handled is false,
// with nothing read, when the raw path cannot be taken.
func (t *sqliteTx) scanSummariesRaw(q string, args []any, reuse bool, fn func([]*Certificate) error) (handled bool, err error) {
	r, handled, err := t.rawScan(q, args)
	if r == nil {
		return handled, err
	}
	defer r.close()
	legacy := func(rowid int64) func() (*Certificate, error) {
		return func() (*Certificate, error) { return t.recordByRowid(rowid) }
	}
	l := newSummaryList(fn, reuse)
	for l.err == nil {
		done, err := r.summaries(l, legacy)
		if err != nil {
			return true, err
		}
		if done {
			break
		}
		l.flush()
	}
	return true, l.close()
}

// eachRaw runs q (args) through rawQuery, calling row on each row inside
// the connection (row must not use the transaction); handled is false,
// with nothing read, when the raw path cannot be taken.
func (t *sqliteTx) eachRaw(q string, args []any, row func(*rawQuery) error) (handled bool, err error) {
	r, handled, err := t.rawScan(q, args)
	if r == nil {
		return handled, err
	}
	defer r.close()
	return true, r.each(row)
}

// rawScan prepares q (args) through rawQuery and counts the scan; r is
// nil when the raw path cannot be taken (handled false, nothing done) or
// the statement did not prepare (err).
func (t *sqliteTx) rawScan(q string, args []any) (r *rawQuery, handled bool, err error) {
	r, ok, err := prepareRaw(t.ctx, t.conn, q, args)
	if !ok {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, wrapSQLiteErr(err)
	}
	if t.rawScans != nil {
		t.rawScans.Add(1)
	}
	return r, true, nil
}
