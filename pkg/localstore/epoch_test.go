package localstore_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/pkg/localstore"
)

// epochWriters are the ways a writer other than RevokeSerial changes what
// an issuer's CRL lists, in SQL either store runs: a revocation written as
// a build before the epoch wrote it (no token), a revoked row inserted (a
// bulk copy), a revoked row deleted.
var epochWriters = []struct {
	name string
	sql  string // $1 issuer, $2 serial
}{
	{"update as an earlier build", `UPDATE serials SET revoked_at = 1, reason = 1 WHERE issuer = $1 AND serial = $2`},
	{"update of the reason alone", `UPDATE serials SET reason = 4 WHERE issuer = $1 AND serial = $2`},
	{"insert of a revoked row", `INSERT INTO serials (issuer, serial, cert_id, created_at, revoked_at, reason) VALUES ($1, $2 || ':77', 'x', 1, 1, 1)`},
	{"delete of a revoked row", `DELETE FROM serials WHERE issuer = $1 AND serial = $2 || ':77'`},
}

// checkEpochWriters runs every epochWriters statement with exec on a
// store whose issuer "ep" issued serial "01", and checks that each gives
// "ep" a new revocation epoch, and that an insert of an unrevoked serial
// and a change to a serial's other columns do not.
func checkEpochWriters(t *testing.T, s localstore.Store, exec func(q string, args ...any) error) {
	t.Helper()
	ctx := context.Background()
	epoch := func() []byte { t.Helper(); return epochOf(t, s, "ep") }
	if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.ReserveSerial("ep", "01", "c", time.Unix(1, 0)) }); err != nil {
		t.Fatal(err)
	}
	last := epoch()
	if last != nil {
		t.Fatalf("epoch %x before any revocation", last)
	}
	for _, w := range epochWriters {
		if err := exec(w.sql, "ep", "01"); err != nil {
			t.Fatalf("%s: %v", w.name, err)
		}
		e := epoch()
		if len(e) != 16 || bytes.Equal(e, last) {
			t.Errorf("%s: epoch %x after %x, want a new token of 16 bytes", w.name, e, last)
		}
		last = e
	}
	for _, q := range []string{
		`INSERT INTO serials (issuer, serial, cert_id, created_at) VALUES ($1, $2 || ':78', 'y', 1)`,
		`UPDATE serials SET subject = 'CN=x' WHERE issuer = $1 AND serial = $2`,
	} {
		if err := exec(q, "ep", "01"); err != nil {
			t.Fatal(err)
		}
		if e := epoch(); !bytes.Equal(e, last) {
			t.Errorf("%q changed the epoch", q)
		}
	}
}

// TestSQLiteRevocationEpochAnyWriter: SQLite's triggers (migration 13).
func TestSQLiteRevocationEpochAnyWriter(t *testing.T) {
	t.Parallel()
	s := newSQLite(t, localstore.OpenSQLite)
	checkEpochWriters(t, s, func(q string, args ...any) error {
		_, err := s.DB().Exec(q, args...)
		return err
	})
}

// TestPostgresRevocationEpochAnyWriter: PostgreSQL's (migration 11).
func TestPostgresRevocationEpochAnyWriter(t *testing.T) {
	s := openPostgresAt(t, freshSchema(t))
	ctx := pgCtx(t)
	checkEpochWriters(t, s, func(q string, args ...any) error {
		_, err := s.Pool().Exec(ctx, q, args...)
		return err
	})
}

// TestPostgresRevocationEpochOncePerTransaction: PostgreSQL writes an
// issuer's token once a transaction — the first revocation writes it, the
// others find it written — so that a transaction revoking (or copying)
// many serials does not stack a version of the row for each; another
// transaction gets a new one.
func TestPostgresRevocationEpochOncePerTransaction(t *testing.T) {
	s := openPostgresAt(t, freshSchema(t))
	ctx := pgCtx(t)
	at := time.Unix(1, 0)
	var before, first, second []byte
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		for _, serial := range []string{"01", "02", "03"} {
			if err := tx.ReserveSerial("once", serial, "c", at); err != nil {
				return err
			}
		}
		if err := tx.RevokeSerial("once", "01", at, 1); err != nil {
			return err
		}
		var err error
		before, err = localstore.RevocationEpoch(tx, "once")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		var err error
		if err = tx.RevokeSerial("once", "02", at, 1); err != nil {
			return err
		}
		if first, err = localstore.RevocationEpoch(tx, "once"); err != nil {
			return err
		}
		if err = tx.RevokeSerial("once", "03", at, 1); err != nil {
			return err
		}
		second, err = localstore.RevocationEpoch(tx, "once")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(first) != 16 || bytes.Equal(first, before) || !bytes.Equal(second, first) {
		t.Errorf("tokens %x, then %x and %x in one transaction: want a new one, kept for the transaction", before, first, second)
	}

	// A savepoint rolled back over the first write takes the mark with
	// it: the next revocation in the transaction writes a new token.
	for _, serial := range []string{"04", "05"} {
		if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.ReserveSerial("once", serial, "c", at) }); err != nil {
			t.Fatal(err)
		}
	}
	execInOneTx(t, s,
		`SAVEPOINT a`,
		`UPDATE serials SET revoked_at = 1, reason = 1 WHERE issuer = 'once' AND serial = '04'`,
		`ROLLBACK TO SAVEPOINT a`,
		`UPDATE serials SET revoked_at = 1, reason = 1 WHERE issuer = 'once' AND serial = '05'`)
	if after := epochOf(t, s, "once"); len(after) != 16 || bytes.Equal(after, second) {
		t.Errorf("a revocation after a savepoint rolled back over the transaction's first: token %x, want a new one (was %x)", after, second)
	}
}

// execInOneTx runs qs, in order, in one transaction of s's pool, and
// commits it.
func execInOneTx(t *testing.T, s *localstore.Postgres, qs ...string) {
	t.Helper()
	ctx := pgCtx(t)
	tx, err := s.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	for _, q := range qs {
		if _, err := tx.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// epochOf is issuer's revocation epoch in s, read in a transaction of its
// own.
func epochOf(t *testing.T, s localstore.Store, issuer string) []byte {
	t.Helper()
	var e []byte
	if err := s.View(context.Background(), func(tx localstore.Tx) (err error) {
		e, err = localstore.RevocationEpoch(tx, issuer)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return e
}

// TestPostgresRevocationEpochTemporaryMeta: a session's temporary table
// named meta (searched first for unqualified names) does not take the
// token of a revocation it makes: the store's own meta does.
func TestPostgresRevocationEpochTemporaryMeta(t *testing.T) {
	s := openPostgresAt(t, freshSchema(t))
	ctx := pgCtx(t)
	if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.ReserveSerial("tmp", "01", "c", time.Unix(1, 0)) }); err != nil {
		t.Fatal(err)
	}
	execInOneTx(t, s,
		`CREATE TEMPORARY TABLE meta (key TEXT PRIMARY KEY, value BYTEA) ON COMMIT DROP`,
		`UPDATE serials SET revoked_at = 1, reason = 1 WHERE issuer = 'tmp' AND serial = '01'`)
	if e := epochOf(t, s, "tmp"); len(e) != 16 {
		t.Errorf("the store's token %x after a revocation by a session with a temporary meta, want 16 bytes", e)
	}
}

// TestPostgresRevocationEpochOtherRole: the token is written in the store
// whose serial was revoked, whoever revokes. A store found through the
// default search_path ("$user", public: its owner's schema) is revoked in
// by another role that names the schema; the trigger function must not
// look meta up through that role's "$user" — its own store's meta, or
// none (review: the token went to the other store, or the revocation
// failed with "relation meta does not exist"); then the store's schema is
// renamed, and its revocations still write its token.
// The roles and schemas it makes are gone once it has run (a deferred
// Close of the connection its cleanups used ran before them, and every run
// left two SUPERUSER roles on the server).
func TestPostgresRevocationEpochOtherRole(t *testing.T) {
	admin := postgresURL(t)
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	t.Run("roles", func(t *testing.T) { revocationEpochOtherRole(t, admin, suffix) })
	ctx := pgCtx(t)
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var roles, schemas int
	if err := c.QueryRow(ctx, `SELECT (SELECT count(*) FROM pg_roles WHERE rolname LIKE '%' || $1),
		(SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%' || $1 || '%')`, suffix).Scan(&roles, &schemas); err != nil {
		t.Fatal(err)
	}
	if roles != 0 || schemas != 0 {
		t.Errorf("%d roles and %d schemas of the test left on the server", roles, schemas)
	}
}

func revocationEpochOtherRole(t *testing.T, admin, suffix string) {
	ctx := pgCtx(t)
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	// Closed after the cleanups below, which drop the roles and schemas
	// through it (cleanups run last registered first).
	t.Cleanup(func() { c.Close(context.Background()) })
	owner, other := "epo_owner_"+suffix, "epo_other_"+suffix
	for _, r := range []string{owner, other} {
		if _, err := c.Exec(ctx, fmt.Sprintf(`CREATE ROLE %s LOGIN SUPERUSER PASSWORD 'x'; CREATE SCHEMA %s AUTHORIZATION %s`, r, r, r)); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		ctx := context.Background()
		for _, r := range []string{owner, other} {
			_, _ = c.Exec(ctx, fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE; DROP ROLE IF EXISTS %s`, r, r))
		}
	})
	as := func(role, searchPath string) *localstore.Postgres {
		t.Helper()
		u, err := url.Parse(admin)
		if err != nil {
			t.Fatal(err)
		}
		u.User = url.UserPassword(role, "x")
		q := u.Query()
		q.Del("search_path")
		if searchPath != "" {
			q.Set("search_path", searchPath)
		}
		u.RawQuery = q.Encode()
		s, err := localstore.OpenPostgres(ctx, u.String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	epoch := func(s localstore.Store) []byte { t.Helper(); return epochOf(t, s, "ca") }
	store := as(owner, "")      // migrated by its owner, through "$user"
	otherStore := as(other, "") // the other role's own store
	at := time.Unix(1, 0)
	if err := store.Update(ctx, func(tx localstore.Tx) error { return tx.ReserveSerial("ca", "01", "c", at) }); err != nil {
		t.Fatal(err)
	}
	if err := as(other, owner).Update(ctx, func(tx localstore.Tx) error { return tx.RevokeSerial("ca", "01", at, 1) }); err != nil {
		t.Fatalf("a revocation by another role: %v", err)
	}
	first := epoch(store)
	if stray := epoch(otherStore); len(first) != 16 || stray != nil {
		t.Errorf("the revoked store's token %x, the other role's store's %x: want a token in the first, none in the second", first, stray)
	}

	// The store's schema renamed (or restored under another name): its
	// revocations still write its token (review: a search_path pinned at
	// migration failed them with "relation meta does not exist").
	renamed := owner + "_renamed"
	if _, err := c.Exec(ctx, fmt.Sprintf(`ALTER SCHEMA %s RENAME TO %s`, owner, renamed)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Exec(context.Background(), fmt.Sprintf(`DROP SCHEMA IF EXISTS %s CASCADE`, renamed)) })
	moved := as(owner, renamed)
	if err := moved.Update(ctx, func(tx localstore.Tx) error {
		if err := tx.ReserveSerial("ca", "02", "c", at); err != nil {
			return err
		}
		return tx.RevokeSerial("ca", "02", at, 1)
	}); err != nil {
		t.Fatalf("a revocation in the renamed schema: %v", err)
	}
	if e := epoch(moved); len(e) != 16 || bytes.Equal(e, first) {
		t.Errorf("the renamed store's token %x after a revocation, want a new one (was %x)", e, first)
	}
}
