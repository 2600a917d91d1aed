package localstore

import (
	"context"
	"database/sql"
)

// LazyStore is implemented by the stores that can commit a write
// transaction without waiting for it to reach the disk: UpdateLazy is
// Update, atomic and isolated as Update is, but its commit may be lost if
// the machine (not the process) stops before the store next syncs.
//
// It is for records whose loss in a power failure costs little and whose
// fsync would cost most of their write: the ACME servers' redeemed nonces
// (see pkg/acmeserver/nonce.go), written on every POST-as-GET. Nothing
// that a user or the audit log relies on goes through it.
//
//   - SQLite: the transaction commits with synchronous=NORMAL. In WAL mode
//     its frames are written to the log before the commit returns, so it
//     survives the process being killed; the log is synced at the next
//     synchronous (FULL) commit of any change, or at a checkpoint, which
//     then makes it durable too.
//   - PostgreSQL: SET LOCAL synchronous_commit = off, the server's own
//     setting for this (the commit is in the WAL buffers, flushed by the
//     WAL writer within a few hundred milliseconds).
type LazyStore interface {
	UpdateLazy(ctx context.Context, fn func(Tx) error) error
}

var (
	_ LazyStore = (*SQLite)(nil)
	_ LazyStore = (*Postgres)(nil)
)

// UpdateLazy runs fn in a BEGIN IMMEDIATE transaction on a connection of
// the write pool set to synchronous=NORMAL for it (lazyPragma; SQLite
// refuses to change it inside a transaction) and back to FULL after it
// (durablePragma), or dropped when it cannot be set back, so that no other
// transaction ever commits without its fsync.
//
// Not on a connection of its own: a connection whose database another
// connection has written since its last transaction drops its whole page
// cache (SQLite's pagerBeginReadTransaction), so that lazy redemptions on
// their own connection and changes on the pool's made each re-read, from
// the log, every page it needed. An ACME order (two changes, two lazy
// redemptions) read about 100 pages an order that way against 40 on one
// connection; bench's BenchmarkACMEOrder took 7% less CPU an order
// (8.5 against 9.2 ms, four runs of each taking turns), the two pragmas
// included.
func (s *SQLite) UpdateLazy(ctx context.Context, fn func(Tx) error) error {
	if s.readOnly {
		return s.Update(ctx, fn)
	}
	return s.onPinned(ctx, lazyPragma, durablePragma, func(c *sql.Conn) error {
		return s.runIn(ctx, s.db, &s.wstmts, c, false, guarded(s.guard, fn))
	})
}

// lazyPragma and durablePragma set a write connection up for UpdateLazy
// and back: the DSN's synchronous=FULL (sqliteDSN).
const (
	lazyPragma    = "PRAGMA synchronous = NORMAL"
	durablePragma = "PRAGMA synchronous = FULL"
)

// UpdateLazy runs fn in a write transaction whose commit does not wait
// for the WAL flush (synchronous_commit = off for it alone).
func (p *Postgres) UpdateLazy(ctx context.Context, fn func(Tx) error) error {
	return p.Update(ctx, func(tx Tx) error {
		if t, ok := tx.(*pgTx); ok {
			if _, err := t.exec(`SET LOCAL synchronous_commit = off`); err != nil {
				return err
			}
		}
		return fn(tx)
	})
}
