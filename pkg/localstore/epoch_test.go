package localstore_test

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

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
		if !freshEpoch(e) || bytes.Equal(e, last) {
			t.Errorf("%s: epoch %q after %q, want a new token written now", w.name, e, last)
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

// freshEpoch reports whether e is a revocation epoch written in the last
// minute: 32 hex digits, "/", its time.
func freshEpoch(e []byte) bool {
	at, ok := localstore.EpochTime(e)
	return ok && len(e) > 33 && e[32] == '/' && time.Since(at).Abs() < time.Minute
}

// FuzzEpochTime: EpochTime never panics, and the time it finds is the
// positive decimal after the token's last "/".
func FuzzEpochTime(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef/1796479239552000000"))
	f.Add([]byte("/"))
	f.Add([]byte("a/-5"))
	f.Add([]byte("a/99999999999999999999"))
	f.Fuzz(func(t *testing.T, e []byte) {
		at, ok := localstore.EpochTime(e)
		if !ok {
			return
		}
		i := bytes.LastIndexByte(e, '/')
		if i < 0 || at.UnixNano() <= 0 || string(e[i+1:]) != strconv.FormatInt(at.UnixNano(), 10) && strings.TrimLeft(string(e[i+1:]), "+0") != strconv.FormatInt(at.UnixNano(), 10) {
			t.Fatalf("EpochTime(%q) = %v", e, at)
		}
	})
}
