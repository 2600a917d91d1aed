package localstore_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/localstore/storetest"
)

// postgresURL is the server of the PostgreSQL tests: they are skipped
// without one, unless CERTCTL_REQUIRE_INTEROP=1 (as in CI) makes that a
// failure. testdata/postgres-ci.sh starts a server and prints the URL.
func postgresURL(t *testing.T) string { return pgtest.URL(t) }

// freshSchema returns a store URL selecting a new, empty schema, dropped
// when the test ends.
func freshSchema(t *testing.T) string { return pgtest.FreshSchema(t) }

func openPostgresAt(t *testing.T, u string) *localstore.Postgres {
	t.Helper()
	s, err := localstore.OpenPostgres(context.Background(), u)
	if err != nil {
		t.Fatalf("OpenPostgres: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func openPostgres(t *testing.T) localstore.Store { return openPostgresAt(t, freshSchema(t)) }

func TestPostgresConformance(t *testing.T) {
	postgresURL(t)
	t.Parallel()
	storetest.Run(t, openPostgres)
}

func pgCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func readCounter(tx localstore.Tx) (int, error) {
	b, err := tx.GetMeta("counter")
	if errors.Is(err, localstore.ErrNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(string(b))
}

// TestPostgresNoLostUpdate runs read-modify-write transactions on one
// counter from several stores (as from several machines) at once: every
// increment must land.
func TestPostgresNoLostUpdate(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	const workers, rounds = 8, 50
	ctx := pgCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		// One store per worker, as one per machine.
		s := openPostgresAt(t, u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range rounds {
				err := s.Update(ctx, func(tx localstore.Tx) error {
					n, err := readCounter(tx)
					if err != nil {
						return err
					}
					return tx.PutMeta("counter", []byte(strconv.Itoa(n+1)))
				})
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update: %v", err)
	}
	s := openPostgresAt(t, u)
	var n int
	if err := s.View(ctx, func(tx localstore.Tx) (err error) { n, err = readCounter(tx); return err }); err != nil {
		t.Fatal(err)
	}
	if n != workers*rounds {
		t.Errorf("counter = %d after %d increments: updates were lost", n, workers*rounds)
	}
}

// TestPostgresDuplicateSerialRetry has concurrent transactions draw the
// lowest free serial of one issuer: a serial another transaction committed
// is ErrConflict (and the transaction goes on with the next one); one that
// another transaction is inserting makes this one retry. Every serial ends
// up issued exactly once, with no gap.
func TestPostgresDuplicateSerialRetry(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	const workers, rounds = 6, 20
	ctx := pgCtx(t)
	var conflicts atomic.Int64
	var wg sync.WaitGroup
	got := make([][]int, workers)
	errs := make(chan error, workers)
	for w := range workers {
		s := openPostgresAt(t, u)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				var serial int
				err := s.Update(ctx, func(tx localstore.Tx) error {
					for serial = 1; ; serial++ {
						err := tx.ReserveSerial("ca", fmt.Sprintf("%04d", serial), fmt.Sprintf("c%d-%d", w, r), time.Unix(0, 0))
						if err == nil {
							break
						}
						if !errors.Is(err, localstore.ErrConflict) {
							return err
						}
						conflicts.Add(1)
					}
					// The transaction is still usable after the conflicts.
					return tx.PutMeta(fmt.Sprintf("w%d-%d", w, r), []byte(strconv.Itoa(serial)))
				})
				if err != nil {
					errs <- err
					return
				}
				got[w] = append(got[w], serial)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("Update: %v", err)
	}
	var all []int
	for _, g := range got {
		all = append(all, g...)
	}
	slices.Sort(all)
	for i, s := range all {
		if s != i+1 {
			t.Fatalf("serials issued = %v, want 1..%d each once", all, workers*rounds)
		}
	}
	if conflicts.Load() == 0 {
		t.Error("no ReserveSerial conflict was seen: the test did not exercise ErrConflict")
	}
}

// TestPostgresRetriesSwallowedConflict checks that a transaction that loses
// a race runs again even when its function ignores the failed statement.
func TestPostgresRetriesSwallowedConflict(t *testing.T) {
	s := openPostgres(t)
	ctx := pgCtx(t)
	if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("counter", []byte("0")) }); err != nil {
		t.Fatal(err)
	}
	attempts := 0
	err := s.Update(ctx, func(tx localstore.Tx) error {
		attempts++
		n, err := readCounter(tx)
		if err != nil {
			return err
		}
		if attempts == 1 {
			// Another transaction changes the counter after this one read
			// it. certctl's own writers queue on write_lock, so the rival
			// writes straight through the pool.
			if _, err := s.(*localstore.Postgres).Pool().Exec(ctx, `UPDATE meta SET value = $1 WHERE key = 'counter'`, []byte(strconv.Itoa(n+1))); err != nil {
				return fmt.Errorf("concurrent update: %w", err)
			}
		}
		_ = tx.PutMeta("counter", []byte(strconv.Itoa(n+1))) // error deliberately ignored
		return nil
	})
	if err != nil {
		t.Fatalf("Update: %v", err)
	}
	if attempts != 2 {
		t.Errorf("the function ran %d times, want 2 (one retry)", attempts)
	}
	var n int
	if err := s.View(ctx, func(tx localstore.Tx) (err error) { n, err = readCounter(tx); return err }); err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("counter = %d, want 2", n)
	}
}

// TestPostgresRetryBounded checks that serialization failures are retried a
// bounded number of times, and that other errors are not retried.
func TestPostgresRetryBounded(t *testing.T) {
	s := openPostgres(t)
	ctx := pgCtx(t)
	for _, tc := range []struct {
		err  error
		runs int
	}{
		{&pgconn.PgError{Code: "40001", Message: "could not serialize access"}, localstore.PostgresMaxAttempts},
		{fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: "40P01", Message: "deadlock detected"}), localstore.PostgresMaxAttempts},
		{&pgconn.PgError{Code: "23502", Message: "not null"}, 1},
		{errors.New("plain"), 1},
	} {
		runs := 0
		err := s.Update(ctx, func(localstore.Tx) error { runs++; return tc.err })
		if runs != tc.runs {
			t.Errorf("%v: ran %d times, want %d", tc.err, runs, tc.runs)
		}
		if !errors.Is(err, tc.err) {
			t.Errorf("%v: Update returned %v", tc.err, err)
		}
	}
}

// TestPostgresConcurrentFirstOpen opens a new schema from several handles at
// once: the migration lock makes every open succeed.
func TestPostgresConcurrentFirstOpen(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	const handles = 6
	var wg sync.WaitGroup
	errs := make([]error, handles)
	for h := range handles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := localstore.OpenPostgres(context.Background(), u)
			if err != nil {
				errs[h] = err
				return
			}
			defer s.Close()
			errs[h] = s.Update(context.Background(), func(tx localstore.Tx) error {
				return tx.PutMeta(strconv.Itoa(h), []byte("x"))
			})
		}()
	}
	wg.Wait()
	for h, err := range errs {
		if err != nil {
			t.Errorf("handle %d: %v", h, err)
		}
	}
	s := openPostgresAt(t, u)
	var v int
	if err := s.Pool().QueryRow(context.Background(), `SELECT count(*) FROM schema_migrations`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if v != localstore.PostgresSchemaVersion {
		t.Errorf("%d migrations recorded, want %d", v, localstore.PostgresSchemaVersion)
	}
}

// Opening a store whose schema is up to date takes no migration lock (one
// query finds it current), so it is not held up by a first open that
// holds the lock; a schema newer than this build still fails to open.
func TestPostgresOpenUpToDate(t *testing.T) {
	u := freshSchema(t)
	s := openPostgresAt(t, u)
	ctx := pgCtx(t)
	conn, err := s.Pool().Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	const key = `hashtextextended('certctl:migrate:' || coalesce(current_schema(), ''), 0)`
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	quick, cancel := context.WithTimeout(ctx, 5*time.Second)
	again, err := localstore.OpenPostgres(quick, u)
	cancel()
	if err != nil {
		t.Fatalf("opening an up-to-date schema while the migration lock is held: %v", err)
	}
	again.Close()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, localstore.PostgresSchemaVersion+1); err != nil {
		t.Fatal(err)
	}
	if newer, err := localstore.OpenPostgres(ctx, u); err == nil || !strings.Contains(err.Error(), "newer than this certctl") {
		if newer != nil {
			newer.Close()
		}
		t.Errorf("opening a newer schema: %v, want an error saying it is newer", err)
	}
}

// TestPostgresSchemaRefusedNotLost: a schema version this certctl cannot
// use — newer than it knows, or negative — is refused as such, as SQLite
// refuses it, not reported as a lost connection with the hint that the
// server stopped (tester: "the connection to the PostgreSQL server was
// lost (store schema version 13 is newer ...)").
func TestPostgresSchemaRefusedNotLost(t *testing.T) {
	for _, tc := range []struct {
		version int
		want    string
		corrupt bool
	}{
		{localstore.PostgresSchemaVersion + 1, fmt.Sprintf("store schema version %d is newer than this certctl understands (%d): upgrade certctl",
			localstore.PostgresSchemaVersion+1, localstore.PostgresSchemaVersion), false},
		{-1, "store schema version -1 is none certctl writes", true},
	} {
		u := freshSchema(t)
		s := openPostgresAt(t, u)
		ctx := pgCtx(t)
		if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, tc.version); err != nil {
			t.Fatal(err)
		}
		if tc.version < 0 {
			if _, err := s.Pool().Exec(ctx, `DELETE FROM schema_migrations WHERE version > 0`); err != nil {
				t.Fatal(err)
			}
		}
		other, err := localstore.OpenPostgres(ctx, u)
		if other != nil {
			other.Close()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, localstore.ErrConnectionLost) ||
			localstore.StoreHint(err) != "" || errors.Is(err, localstore.ErrCorrupt) != tc.corrupt {
			t.Errorf("opening a schema at version %d: %v (hint %q), want %q, not a lost connection",
				tc.version, err, localstore.StoreHint(err), tc.want)
		}
	}
}

func TestPostgresEvents(t *testing.T) {
	s := openPostgres(t)
	ctx := pgCtx(t)
	var seqs []int64
	err := s.Update(ctx, func(tx localstore.Tx) error {
		seqs = seqs[:0]
		for i := range 3 {
			seq, err := tx.AppendEvent(t0pg.Add(time.Duration(i)*time.Hour), []byte(fmt.Sprintf(`{"n":%d}`, i)))
			if err != nil {
				return err
			}
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.IsSorted(seqs) || seqs[0] == seqs[2] {
		t.Fatalf("sequence numbers %v", seqs)
	}
	err = s.View(ctx, func(tx localstore.Tx) error {
		all, err := tx.ListEvents(0, time.Time{}, 0)
		if err != nil {
			return err
		}
		if len(all) != 3 || string(all[2].Data) != `{"n":2}` || !all[1].Time.Equal(t0pg.Add(time.Hour)) {
			t.Errorf("ListEvents = %+v", all)
		}
		some, err := tx.ListEvents(seqs[0], t0pg.Add(2*time.Hour), 5)
		if err != nil {
			return err
		}
		if len(some) != 1 || some[0].Seq != seqs[2] {
			t.Errorf("ListEvents(after %d, since +2h) = %+v", seqs[0], some)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var t0pg = time.Date(2031, 3, 14, 15, 9, 26, 535897000, time.UTC)

func TestPostgresURLErrorHidesPassword(t *testing.T) {
	_, err := localstore.OpenPostgres(context.Background(), "postgres://u:s3cretpw@127.0.0.1:1/db?sslmode=bogus")
	if err == nil {
		t.Fatal("OpenPostgres accepted a bad URL")
	}
	if got := err.Error(); strings.Contains(got, "s3cretpw") {
		t.Errorf("error reveals the password: %s", got)
	}
}

func openSharedVault(t *testing.T, dir, u string, pass []byte) *localstore.Vault {
	t.Helper()
	v, err := localstore.Open(context.Background(), dir, localstore.Options{StoreURL: u, Passphrase: pass, Scrypt: cheapScrypt})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

// TestPostgresSharedWrappedKey: the first machine's passphrase-wrapped key
// is published in the store, and a second machine with the passphrase (and
// no key file) opens the first machine's secrets.
func TestPostgresSharedWrappedKey(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	pass := []byte("correct horse")
	a := openSharedVault(t, t.TempDir(), u, pass)
	if _, err := a.Sealer(); err != nil {
		t.Fatalf("Sealer on the first machine: %v", err)
	}
	sealer, _ := a.Sealer()
	sealed, err := sealer.Seal("ref", []byte("private"))
	if err != nil {
		t.Fatal(err)
	}
	err = a.Store.View(pgCtx(t), func(tx localstore.Tx) error {
		_, err := tx.GetMeta(localstore.MetaMasterKeyWrapped)
		return err
	})
	if err != nil {
		t.Fatalf("wrapped key not published: %v", err)
	}

	bDir := t.TempDir()
	b := openSharedVault(t, bDir, u, pass)
	sb, err := b.Sealer()
	if err != nil {
		t.Fatalf("Sealer on the second machine: %v", err)
	}
	if pt, err := sb.Open("ref", sealed); err != nil || string(pt) != "private" {
		t.Fatalf("second machine opens the first one's secret: %q, %v", pt, err)
	}
	if _, err := os.Stat(filepath.Join(bDir, localstore.WrappedMasterFile)); err != nil {
		t.Errorf("wrapped key not kept in the second vault directory: %v", err)
	}

	if _, err := openSharedVault(t, t.TempDir(), u, nil).Sealer(); !errors.Is(err, localstore.ErrLocked) {
		t.Errorf("no passphrase: err = %v, want ErrLocked", err)
	}
	if _, err := openSharedVault(t, t.TempDir(), u, []byte("wrong")).Sealer(); !errors.Is(err, localstore.ErrWrongPassphrase) {
		t.Errorf("wrong passphrase: err = %v, want ErrWrongPassphrase", err)
	}
}

// TestPostgresSharedPlainKey: a key in clear is never published; a machine
// without it (or with another key) is refused instead of creating a key of
// its own, and works once given a copy.
func TestPostgresSharedPlainKey(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	aDir := t.TempDir()
	a := openSharedVault(t, aDir, u, nil)
	sa, err := a.Sealer()
	if err != nil {
		t.Fatalf("Sealer: %v", err)
	}
	sealed, _ := sa.Seal("ref", []byte("private"))
	err = a.Store.View(pgCtx(t), func(tx localstore.Tx) error {
		_, err := tx.GetMeta(localstore.MetaMasterKeyWrapped)
		return err
	})
	if !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("a key in clear was published in the store: %v", err)
	}

	bDir := t.TempDir()
	if _, err := openSharedVault(t, bDir, u, nil).Sealer(); !errors.Is(err, localstore.ErrCorrupt) {
		t.Errorf("machine without the key: err = %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(filepath.Join(bDir, localstore.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused machine created a key of its own: %v", err)
	}
	other := make([]byte, 32)
	rand.Read(other)
	cDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(cDir, localstore.MasterKeyFile), other, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := openSharedVault(t, cDir, u, nil).Sealer(); !errors.Is(err, localstore.ErrCorrupt) {
		t.Errorf("machine with another key: err = %v, want ErrCorrupt", err)
	}

	key, err := os.ReadFile(filepath.Join(aDir, localstore.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bDir, localstore.MasterKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	sb, err := openSharedVault(t, bDir, u, nil).Sealer()
	if err != nil {
		t.Fatalf("machine with a copy of the key: %v", err)
	}
	if pt, err := sb.Open("ref", sealed); err != nil || string(pt) != "private" {
		t.Errorf("copy of the key opens the secret: %q, %v", pt, err)
	}
}

// TestPostgresViewIsReadOnly: each write inside a View, in a transaction of
// its own (not one already aborted by an earlier failure), is refused by
// the server as a write in a read-only transaction (SQLSTATE 25006).
func TestPostgresViewIsReadOnly(t *testing.T) {
	s := openPostgres(t)
	t.Parallel()
	ctx := pgCtx(t)
	if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("m", []byte("old")) }); err != nil {
		t.Fatal(err)
	}
	writes := map[string]func(localstore.Tx) error{
		"PutMeta": func(tx localstore.Tx) error { return tx.PutMeta("m", []byte("new")) },
		"PutCertificate": func(tx localstore.Tx) error {
			return tx.PutCertificate(&localstore.Certificate{ID: "c", DomainName: "c.internal", Status: "ISSUED", Type: "PRIVATE"})
		},
		"PutObject": func(tx localstore.Tx) error {
			return tx.PutObject(&localstore.Object{Kind: "ca", ID: "x", Data: []byte("{}")})
		},
		"AppendEvent": func(tx localstore.Tx) error { _, err := tx.AppendEvent(time.Now(), []byte("{}")); return err },
		"AppendAudit": func(tx localstore.Tx) error {
			return tx.AppendAudit(localstore.AuditRow{Seq: 1, Time: time.Now(), Data: []byte("{}"), MAC: []byte{1}})
		},
	}
	for name, write := range writes {
		var werr error
		_ = s.View(ctx, func(tx localstore.Tx) error {
			if _, err := tx.GetMeta("m"); err != nil {
				return err
			}
			werr = write(tx)
			return nil
		})
		var pe *pgconn.PgError
		if !errors.As(werr, &pe) || pe.Code != "25006" {
			t.Errorf("%s inside View: %v; want the read-only refusal (SQLSTATE 25006)", name, werr)
		}
	}
	err := s.View(ctx, func(tx localstore.Tx) error {
		m, err := tx.GetMeta("m")
		if err == nil && string(m) != "old" {
			err = fmt.Errorf("meta is %q", m)
		}
		return err
	})
	if err != nil {
		t.Error(err)
	}
}

// TestPostgresSharedKeyErrorsSayWhatToDo: a vault directory whose key is
// not the shared store's is refused (exit 6, as a corrupt vault) with the
// advice that fits it, without calling the database corrupt: a directory
// whose own vault.db holds data keeps its key and the shared store needs a
// directory of its own; a directory without the store's key in clear needs
// a copy of it.
func TestPostgresSharedKeyErrorsSayWhatToDo(t *testing.T) {
	u := freshSchema(t)
	t.Parallel()
	team := []byte("team passphrase")
	sealKey(t, openSharedVault(t, t.TempDir(), u, team), "k", ecKey(t))

	// A directory holding a vault of its own, given the team passphrase
	// (its key wrapped under it, or in clear).
	for _, wrapped := range []bool{true, false} {
		dir := t.TempDir()
		var own []byte
		if wrapped {
			own = team
		}
		mine := openVault(t, dir, localstore.Options{Passphrase: own, Scrypt: cheapScrypt})
		sealKey(t, mine, "mine", ecKey(t))
		if err := mine.Store.Update(context.Background(), func(tx localstore.Tx) error {
			return tx.PutCertificate(&localstore.Certificate{ID: "c", DomainName: "c.internal", Status: "ISSUED", Type: "PRIVATE"})
		}); err != nil {
			t.Fatal(err)
		}
		mine.Close()
		_, err := openSharedVault(t, dir, u, team).Sealer()
		if !errors.Is(err, localstore.ErrCorrupt) || strings.Contains(err.Error(), "corrupt") ||
			!strings.Contains(err.Error(), "separate --vault directory") || !strings.Contains(err.Error(), localstore.DatabaseFile) {
			t.Errorf("a directory with a vault of its own (wrapped %v): %v, want the advice of a separate --vault directory", wrapped, err)
		}
	}

	// A store whose key is in clear.
	u2 := freshSchema(t)
	sealKey(t, openSharedVault(t, t.TempDir(), u2, nil), "k", ecKey(t))
	other := t.TempDir()
	if err := os.WriteFile(filepath.Join(other, localstore.MasterKeyFile), make([]byte, 32), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, dir := range map[string]string{"without a key": t.TempDir(), "with another key": other} {
		_, err := openSharedVault(t, dir, u2, nil).Sealer()
		if !errors.Is(err, localstore.ErrCorrupt) || strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), "copy master.key") {
			t.Errorf("a directory %s, store key in clear: %v, want the advice to copy master.key", name, err)
		}
	}
}
