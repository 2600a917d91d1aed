package localstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
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

// UpdateLazy runs fn in a BEGIN IMMEDIATE transaction on one connection
// switched to synchronous=NORMAL for it and back to FULL after; a
// connection that cannot be switched back is discarded, so that no later
// transaction commits without its fsync.
func (s *SQLite) UpdateLazy(ctx context.Context, fn func(Tx) error) (err error) {
	if s.readOnly {
		return s.Update(ctx, fn)
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer func() {
		if _, rerr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA synchronous=FULL"); rerr != nil {
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("restoring synchronous=FULL: %w", rerr))
		}
		_ = conn.Close()
	}()
	if _, err := conn.ExecContext(ctx, "PRAGMA synchronous=NORMAL"); err != nil {
		return wrapSQLiteErr(err)
	}
	return s.runIn(ctx, s.db, &s.wstmts, func(ctx context.Context, o *sql.TxOptions) (*sql.Tx, error) {
		return conn.BeginTx(ctx, o)
	}, false, guarded(s.guard, fn))
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
