package localstore_test

import (
	"context"
	"database/sql"
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// farFutureRows puts a certificate valid until 9999-12-31 and one valid
// until 2030 in s, then writes their not_after as a build before
// timeutil.UnixNano did, wrapped around int64 (set runs the UPDATE on the
// store's own database).
func farFutureRows(t *testing.T, s localstore.Store, set func(q string, args ...any) error) (wrapped int64) {
	t.Helper()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	err := s.Update(context.Background(), func(tx localstore.Tx) error {
		for id, na := range map[string]time.Time{"far": far, "edge": time.Date(2262, 4, 11, 23, 50, 0, 0, time.UTC),
			"near": time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} {
			if err := tx.PutCertificate(&localstore.Certificate{ID: id, DomainName: id + ".example.test", Status: "ISSUED",
				Type: "IMPORTED", KeyPairOrigin: "IMPORTED", KeyAlgorithm: "EC_prime256v1", CreatedAt: now, NotAfter: na}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wrapped = far.UnixNano()
	if wrapped >= 0 {
		t.Fatalf("9999-12-31 wraps to %d, expected a time before 1970", wrapped)
	}
	for id, at := range map[string]time.Time{"far": far, "edge": time.Date(2262, 4, 11, 23, 50, 0, 0, time.UTC)} {
		if err := set(`UPDATE certificates SET not_after = ` + itoa(at.UnixNano()) + ` WHERE id = '` + id + `'`); err != nil {
			t.Fatal(err)
		}
	}
	// A corrupt row (its record neither JSON nor UTF-8) must not stop
	// the migration, nor the store from opening.
	if err := set(`UPDATE certificates SET data = ` + corruptBytes + ` WHERE id = 'near'`); err != nil {
		t.Fatal(err)
	}
	return wrapped
}

// corruptBytes stands for the literal of the bytes ff 7b 7d in each
// store's SQL.
const corruptBytes = "$corrupt"

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// checkNotAfters checks the not_after column of the rows of farFutureRows
// after the migration: the far one the largest int64, the near one as it
// was.
func checkNotAfters(t *testing.T, query func(q string) (int64, error)) {
	t.Helper()
	for _, id := range []string{"far", "edge"} {
		if got, err := query(`SELECT not_after FROM certificates WHERE id = '` + id + `'`); err != nil || got != math.MaxInt64 {
			t.Errorf("not_after of the %s certificate after the migration: %d, %v; want %d", id, got, err, int64(math.MaxInt64))
		}
	}
	want := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano()
	if got, err := query(`SELECT not_after FROM certificates WHERE id = 'near'`); err != nil || got != want {
		t.Errorf("not_after of the 2030 certificate: %d, %v; want %d", got, err, want)
	}
}

func TestSQLiteMigratesWrappedNotAfter(t *testing.T) {
	t.Parallel()
	path := sqliteAtSchema(t, 10, func(s *localstore.SQLite) {
		farFutureRows(t, s, func(q string, args ...any) error {
			_, err := s.DB().Exec(strings.ReplaceAll(q, corruptBytes, `x'ff7b7d'`), args...)
			return err
		})
	})
	s, err := localstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	checkNotAfters(t, func(q string) (n int64, err error) {
		var v sql.NullInt64
		err = s.DB().QueryRow(q).Scan(&v)
		return v.Int64, err
	})
}

func TestPostgresMigratesWrappedNotAfter(t *testing.T) {
	u := freshSchema(t)
	s := openPostgresAt(t, u)
	ctx := pgCtx(t)
	farFutureRows(t, s, func(q string, args ...any) error {
		_, err := s.Pool().Exec(ctx, strings.ReplaceAll(q, corruptBytes, `'\xff7b7d'::bytea`), args...)
		return err
	})
	if _, err := s.Pool().Exec(ctx, `DELETE FROM schema_migrations WHERE version >= 9`); err != nil {
		t.Fatal(err)
	}
	again := openPostgresAt(t, u)
	checkNotAfters(t, func(q string) (n int64, err error) {
		err = again.Pool().QueryRow(ctx, q).Scan(&n)
		return n, err
	})
}

// checkEventsSince: a --since before 1678 or after 2262 (outside int64
// nanoseconds) selects every event or none, not a wrapped-around time.
func checkEventsSince(t *testing.T, s localstore.Store) {
	t.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx localstore.Tx) error {
		for i := range 3 {
			if _, err := tx.AppendEvent(time.Date(2030, 1, 1, i, 0, 0, 0, time.UTC), []byte(`{}`)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for since, want := range map[time.Time]int{
		time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC):      3,
		time.Date(2030, 1, 1, 1, 0, 0, 0, time.UTC):      2,
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC): 0,
	} {
		err := s.View(ctx, func(tx localstore.Tx) error {
			rows, err := tx.ListEvents(0, since, 0)
			if err == nil && len(rows) != want {
				t.Errorf("events since %v: %d, want %d", since, len(rows), want)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestSQLiteEventsSinceOutOfRange(t *testing.T) {
	t.Parallel()
	checkEventsSince(t, openSQLite(t))
}

func TestPostgresEventsSinceOutOfRange(t *testing.T) {
	checkEventsSince(t, openPostgresAt(t, freshSchema(t)))
}
