package localstore

import (
	"context"
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

// UpdateLazy runs fn in a BEGIN IMMEDIATE transaction on a write
// connection of its own, opened with synchronous=NORMAL (a pragma SQLite
// refuses to change inside a transaction, and switching a pooled
// connection there and back cost a quarter of a redemption), so that no
// other transaction ever commits without its fsync.
func (s *SQLite) UpdateLazy(ctx context.Context, fn func(Tx) error) error {
	if s.readOnly {
		return s.Update(ctx, fn)
	}
	s.lazyOnce.Do(func() {
		// Not limited to one connection: stmtCache prepares a statement
		// on the pool while a transaction holds one.
		s.lazy, s.lazyErr = openSQLitePool(sqliteDSNSync(s.path, false, "NORMAL"))
	})
	if s.lazy == nil {
		if s.lazyErr != nil {
			return s.lazyErr
		}
		// Closed: as Update would fail.
		return s.Update(ctx, fn)
	}
	return s.runIn(ctx, s.lazy, &s.lstmts, nil, false, guarded(s.guard, fn))
}

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
