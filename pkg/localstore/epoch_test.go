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
	epoch := func() []byte {
		t.Helper()
		var e []byte
		if err := s.View(ctx, func(tx localstore.Tx) (err error) {
			e, err = tx.RevocationEpoch("ep")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return e
	}
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
		before, err = tx.RevocationEpoch("once")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		var err error
		if err = tx.RevokeSerial("once", "02", at, 1); err != nil {
			return err
		}
		if first, err = tx.RevocationEpoch("once"); err != nil {
			return err
		}
		if err = tx.RevokeSerial("once", "03", at, 1); err != nil {
			return err
		}
		second, err = tx.RevocationEpoch("once")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(first) != 16 || bytes.Equal(first, before) || !bytes.Equal(second, first) {
		t.Errorf("tokens %x, then %x and %x in one transaction: want a new one, kept for the transaction", before, first, second)
	}
	var versions int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM meta WHERE key = 'revocation-epoch/once'`).Scan(&versions); err != nil || versions != 1 {
		t.Errorf("%d rows for the token (%v), want 1", versions, err)
	}
}

// TestPostgresRevocationEpochOtherRole: the token is written in the store
// whose serial was revoked, whoever revokes. A store found through the
// default search_path ("$user", public: its owner's schema) is revoked in
// by another role that names the schema; the trigger function must not
// look meta up through that role's "$user" — its own store's meta, or
// none (review: the token went to the other store, or the revocation
// failed with "relation meta does not exist").
func TestPostgresRevocationEpochOtherRole(t *testing.T) {
	admin := postgresURL(t)
	ctx := pgCtx(t)
	c, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	suffix := fmt.Sprintf("%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
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
	epoch := func(s localstore.Store) []byte {
		t.Helper()
		var e []byte
		if err := s.View(ctx, func(tx localstore.Tx) (err error) {
			e, err = tx.RevocationEpoch("ca")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return e
	}
	store := as(owner, "")      // migrated by its owner, through "$user"
	otherStore := as(other, "") // the other role's own store
	at := time.Unix(1, 0)
	if err := store.Update(ctx, func(tx localstore.Tx) error { return tx.ReserveSerial("ca", "01", "c", at) }); err != nil {
		t.Fatal(err)
	}
	if err := as(other, owner).Update(ctx, func(tx localstore.Tx) error { return tx.RevokeSerial("ca", "01", at, 1) }); err != nil {
		t.Fatalf("a revocation by another role: %v", err)
	}
	if e, stray := epoch(store), epoch(otherStore); len(e) != 16 || stray != nil {
		t.Errorf("the revoked store's token %x, the other role's store's %x: want a token in the first, none in the second", e, stray)
	}
}
