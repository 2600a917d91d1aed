package localstore_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/localstore/storetest"
)

func openSQLite(t *testing.T) localstore.Store { return openSQLiteWith(t, localstore.OpenSQLite) }

// openSQLiteWith opens a new database with open, closed when t ends.
func openSQLiteWith(t *testing.T, open func(context.Context, string) (*localstore.SQLite, error)) localstore.Store {
	t.Helper()
	return newSQLite(t, open)
}

// newSQLite is openSQLiteWith returning the SQLite store itself.
func newSQLite(t *testing.T, open func(context.Context, string) (*localstore.SQLite, error)) *localstore.SQLite {
	t.Helper()
	s, err := open(context.Background(), filepath.Join(t.TempDir(), localstore.DatabaseFile))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// sqliteWithCerts is newSQLite holding n imported certificates, the i-th
// created i seconds after t0 and expiring i days after it (returned).
func sqliteWithCerts(t *testing.T, open func(context.Context, string) (*localstore.SQLite, error), n int) (*localstore.SQLite, time.Time) {
	t.Helper()
	s := newSQLite(t, open)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	if err := s.Update(context.Background(), func(tx localstore.Tx) error {
		for i := range n {
			id := fmt.Sprintf("cert-%06d", i)
			if err := tx.PutCertificate(&localstore.Certificate{ID: id, DomainName: id + ".test", Status: "ISSUED",
				Type: "IMPORTED", KeyPairOrigin: "IMPORTED", KeyAlgorithm: "RSA_2048",
				CreatedAt: t0.Add(time.Duration(i) * time.Second), NotAfter: t0.AddDate(0, 0, i)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return s, t0
}

// sqliteAtSchema makes a database at a new path whose schema version reads
// version (a vault an older or newer build wrote), after prepare has run
// on it (nil: nothing), closes it and returns its path.
func sqliteAtSchema(t *testing.T, version int, prepare func(s *localstore.SQLite)) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	s, err := localstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if prepare != nil {
		prepare(s)
	}
	if _, err := s.DB().Exec(fmt.Sprintf("PRAGMA user_version = %d", version)); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}

// TestSQLiteOnePoolConformance: the store a command opens (one pool for
// reads and writes) keeps the same contract.
func TestSQLiteOnePoolConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, func(t *testing.T) localstore.Store { return openSQLiteWith(t, localstore.OpenSQLiteOnePool) })
}

// TestSQLiteOnePoolOpensOneConnection: a command that reads and then
// writes (a request resolves its CA, then records the certificate), and
// reads again, opens one database connection, so parses the schema once;
// a server's store opens read connections beside the writer.
func TestSQLiteOnePoolOpensOneConnection(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name  string
		open  func(context.Context, string) (*localstore.SQLite, error)
		conns int
	}{
		{"one pool", localstore.OpenSQLiteOnePool, 1},
		// A server prepares a query that a later read runs again on its
		// read pool, once: one more read connection, kept for next time.
		{"server", localstore.OpenSQLite, 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
			s, err := c.open(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.View(ctx, func(tx localstore.Tx) error { _, err := tx.GetMeta("k"); return err }); err != nil && !errors.Is(err, localstore.ErrNotFound) {
				t.Fatal(err)
			}
			if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("k", []byte("v")) }); err != nil {
				t.Fatal(err)
			}
			var v []byte
			if err := s.View(ctx, func(tx localstore.Tx) (err error) { v, err = tx.GetMeta("k"); return err }); err != nil || string(v) != "v" {
				t.Errorf("read back %q, %v; want v", v, err)
			}
			// The second read runs the first one's query again: it is
			// prepared on the read's own connection, not on another.
			if got := s.OpenConnections(); got != c.conns {
				t.Errorf("%d connections open after a read, a write and a read, want %d", got, c.conns)
			}
		})
	}
}

// TestSQLiteCommandReadsRecyclePages: a command's read transaction
// (one pool) runs with a page cache of localstore.ViewCacheSize pages, so
// that a list reading a thousand index pages reuses the memory of the
// pages it has read instead of touching new memory for each; its
// connection goes back to the write cache (WriteCacheSize) for the writes
// that follow.
// No connection of a command or a server maps the database file.
func TestSQLiteCommandReadsRecyclePages(t *testing.T) {
	ctx := context.Background()
	pragma := func(tx localstore.Tx, name string, want int64) {
		t.Helper()
		if got, err := localstore.PragmaIn(tx, name); err != nil || got != want {
			t.Errorf("PRAGMA %s = %d, %v; want %d", name, got, err, want)
		}
	}
	for _, c := range []struct {
		name       string
		open       func(context.Context, string) (*localstore.SQLite, error)
		viewCache  int64
		writeCache int64
	}{
		{"command", localstore.OpenSQLiteOnePool, localstore.ViewCacheSize, localstore.WriteCacheSize},
		// A server keeps SQLite's default cache (2000 KiB).
		{"server", localstore.OpenSQLite, -2000, -2000},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, err := c.open(ctx, filepath.Join(t.TempDir(), localstore.DatabaseFile))
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			for range 2 { // the same connection, written (its cache from the start), read, written again
				if err := s.Update(ctx, func(tx localstore.Tx) error {
					pragma(tx, "cache_size", c.writeCache)
					pragma(tx, "mmap_size", 0)
					pragma(tx, "query_only", 0)
					return tx.PutMeta("k", []byte("v"))
				}); err != nil {
					t.Fatal(err)
				}
				if err := s.View(ctx, func(tx localstore.Tx) error {
					pragma(tx, "cache_size", c.viewCache)
					pragma(tx, "mmap_size", 0)
					return nil
				}); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// TestSQLiteServerKeepsConnections: a server's pools keep the
// connections that concurrent requests opened, instead of closing all but
// two as each is put back and opening them again (the file, the schema,
// every statement prepared anew) for the next burst.
func TestSQLiteServerKeepsConnections(t *testing.T) {
	ctx := context.Background()
	s := newSQLite(t, localstore.OpenSQLite)
	const readers = 8
	burst := func() {
		t.Helper()
		var inside, done sync.WaitGroup
		inside.Add(readers)
		release := make(chan struct{})
		errc := make(chan error, readers)
		for range readers {
			done.Add(1)
			go func() {
				defer done.Done()
				errc <- s.View(ctx, func(tx localstore.Tx) error {
					inside.Done()
					<-release // every reader holds its connection at once
					_, err := tx.GetMeta("k")
					if errors.Is(err, localstore.ErrNotFound) {
						err = nil
					}
					return err
				})
			}()
		}
		inside.Wait()
		close(release)
		done.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := range 3 {
		burst()
		rw, ro := s.PoolStats()
		if ro.MaxIdleClosed != 0 || rw.MaxIdleClosed != 0 {
			t.Fatalf("round %d: %d read and %d write connections closed for being idle beyond the pool's limit, want none",
				round, ro.MaxIdleClosed, rw.MaxIdleClosed)
		}
		if ro.Idle < readers {
			t.Fatalf("round %d: %d idle read connections after %d concurrent reads, want %d", round, ro.Idle, readers, readers)
		}
	}
}

// TestSQLiteListReadsRawRows: a command's list without tags reads its
// rows through SQLite's C interface, a server's through database/sql
// (storetest checks both lists, with the one-pool store in
// TestSQLiteOnePoolConformance).
func TestSQLiteListReadsRawRows(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name string
		open func(context.Context, string) (*localstore.SQLite, error)
		raw  bool
	}{
		{"command", localstore.OpenSQLiteOnePool, true},
		{"server", localstore.OpenSQLite, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, t0 := sqliteWithCerts(t, c.open, 700)
			f := localstore.CertificateFilter{NoTags: true, Statuses: []string{"ISSUED"}, NotAfterBefore: t0.AddDate(0, 0, 650)}
			list := func(ctx context.Context, fn func([]*localstore.Certificate) error) error {
				return s.View(ctx, func(tx localstore.Tx) error { return tx.ScanCertificateSummaries(f, true, fn) })
			}
			before := s.RawScans()
			n := 0
			if err := list(ctx, func(b []*localstore.Certificate) error { n += len(b); return nil }); err != nil || n != 650 {
				t.Fatalf("listed %d, %v; want 650", n, err)
			}
			if raw := s.RawScans() > before; raw != c.raw {
				t.Errorf("read through the C interface: %v, want %v", raw, c.raw)
			}
		})
	}
}

// TestSQLiteCancelledListsLeaveConnectionUsable: lists cancelled at any
// moment (while SQLite steps, between blocks, after the last step) leave
// a command's connection outside any transaction, so that the next change
// on it works: an interrupt delivered while no step runs stayed pending
// and failed database/sql's ROLLBACK, and the connection went back to
// the pool inside its read transaction.
func TestSQLiteCancelledListsLeaveConnectionUsable(t *testing.T) {
	ctx := context.Background()
	s, _ := sqliteWithCerts(t, localstore.OpenSQLiteOnePool, 20000)
	before := s.RawScans()
	failed := 0
	for i := range 200 {
		cctx, cancel := context.WithCancel(ctx)
		delay := time.Duration(i%50) * 60 * time.Microsecond
		go func() { time.Sleep(delay); cancel() }()
		err := s.View(cctx, func(tx localstore.Tx) error {
			return tx.ScanCertificateSummaries(localstore.CertificateFilter{NoTags: true}, true,
				func([]*localstore.Certificate) error { return nil })
		})
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("list %d: %v, want nil or context.Canceled", i, err)
		}
		if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("k", []byte{byte(i)}) }); err != nil {
			if failed == 0 {
				t.Errorf("the change after list %d: %v", i, err)
			}
			failed++
		}
	}
	if failed > 0 {
		t.Errorf("%d of 200 changes failed after a cancelled list", failed)
	}
	if s.RawScans() == before {
		t.Error("no list read through the C interface")
	}
}

// TestSQLiteCertificateWrittenBeforeTagColumns: a record written before
// migration 7 holds its tags and UpdatedAt in its JSON (the columns are
// NULL); it reads as written, GetCertificateTags finds its tags, and
// SetCertificateTags takes over without losing the rest.
func TestSQLiteCertificateWrittenBeforeTagColumns(t *testing.T) {
	ctx := context.Background()
	s, err := localstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), localstore.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	old := &localstore.Certificate{ID: "old", DomainName: "old.test", Status: "ISSUED", Type: "IMPORTED",
		KeyPairOrigin: "IMPORTED", KeyAlgorithm: "RSA_2048", CreatedAt: t0, UpdatedAt: t0.Add(time.Minute),
		Tags: []localstore.Tag{{Key: "env", Value: "prod"}}}
	data, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `INSERT INTO certificates
		(id, domain_name, status, type, origin, key_algorithm, not_after, created_at, exportable, in_use, eligibility, data)
		VALUES ('old', 'old.test', 'ISSUED', 'IMPORTED', 'IMPORTED', 'RSA_2048', NULL, ?, 0, 0, '', ?)`, t0.UnixNano(), data); err != nil {
		t.Fatal(err)
	}
	read := func() (c *localstore.Certificate, tags []localstore.Tag, list []*localstore.Certificate) {
		t.Helper()
		err := s.View(ctx, func(tx localstore.Tx) (err error) {
			if c, err = tx.GetCertificate("old"); err != nil {
				return err
			}
			if tags, err = tx.GetCertificateTags("old"); err != nil {
				return err
			}
			list, err = tx.ListCertificates(localstore.CertificateFilter{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return c, tags, list
	}
	c, tags, list := read()
	if !reflect.DeepEqual(c, old) || !reflect.DeepEqual(tags, old.Tags) || len(list) != 1 || !reflect.DeepEqual(list[0], old) {
		t.Fatalf("an older record reads as\n%+v\n%v\n%+v\nwant %+v", c, tags, list, old)
	}
	newTags := []localstore.Tag{{Key: "env", Value: "prod"}, {Key: "wave", Value: "1"}}
	if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.SetCertificateTags("old", newTags, t0.Add(time.Hour)) }); err != nil {
		t.Fatal(err)
	}
	want := *old
	want.Tags, want.UpdatedAt = newTags, t0.Add(time.Hour)
	c, tags, list = read()
	if !reflect.DeepEqual(c, &want) || !reflect.DeepEqual(tags, newTags) || len(list) != 1 || !reflect.DeepEqual(list[0], &want) {
		t.Fatalf("after SetCertificateTags:\n%+v\n%v\n%+v\nwant %+v", c, tags, list, &want)
	}
}

// TestSQLiteRevocationsReadRawRows: a write reads a CRL's revoked serials
// through SQLite's C interface (its connection is pinned), a server's read
// pool through database/sql, both the same rows; a write cancelled while
// it reads them leaves its connection usable for the next change.
func TestSQLiteRevocationsReadRawRows(t *testing.T) {
	ctx := context.Background()
	s := newSQLite(t, localstore.OpenSQLite)
	const n = 5000
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := s.Update(ctx, func(tx localstore.Tx) error {
		for i := range n {
			serial := fmt.Sprintf("%02x:%02x:%02x", i>>16, (i>>8)&0xff, i&0xff)
			if err := tx.ReserveSerial("ca", serial, "", t0); err != nil {
				return err
			}
			if err := tx.RevokeSerial("ca", serial, t0.Add(time.Duration(i)*time.Second), i%6); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	read := func(tx localstore.Tx) (string, error) {
		var b strings.Builder
		err := tx.EachRevocation("ca", func(serial []byte, at time.Time, reason int) error {
			fmt.Fprintf(&b, "%s %d %d\n", serial, at.UnixNano(), reason)
			return nil
		})
		return b.String(), err
	}
	var inWrite, inRead string
	before := s.RawScans()
	if err := s.Update(ctx, func(tx localstore.Tx) (err error) { inWrite, err = read(tx); return err }); err != nil {
		t.Fatal(err)
	}
	if s.RawScans() != before+1 {
		t.Error("a write did not read the revocations through the C interface")
	}
	if err := s.View(ctx, func(tx localstore.Tx) (err error) { inRead, err = read(tx); return err }); err != nil {
		t.Fatal(err)
	}
	if s.RawScans() != before+1 {
		t.Error("a read pool's transaction read the revocations through the C interface")
	}
	if inWrite != inRead || strings.Count(inWrite, "\n") != n {
		t.Fatalf("a write read %d rows, a read %d; want %d, the same", strings.Count(inWrite, "\n"), strings.Count(inRead, "\n"), n)
	}
	// Cancelled while it reads: at a row (the interrupt reaches SQLite
	// while it steps), at the last row (it may reach it after the last
	// step), and from outside at any moment.
	cancelled := 0
	for i := range 120 {
		cctx, cancel := context.WithCancel(ctx)
		at := []int{1, n / 2, n - 1, n}[i%4]
		if i >= 80 {
			at = -1
			delay := time.Duration(i%40) * 50 * time.Microsecond
			go func() { time.Sleep(delay); cancel() }()
		}
		rows := 0
		err := s.Update(cctx, func(tx localstore.Tx) error {
			return tx.EachRevocation("ca", func([]byte, time.Time, int) error {
				if rows++; rows == at {
					cancel()
				}
				return nil
			})
		})
		cancel()
		switch {
		case errors.Is(err, context.Canceled):
			cancelled++
		case err != nil:
			t.Fatalf("read %d: %v, want nil or context.Canceled", i, err)
		case at > 0 && at < n:
			t.Fatalf("read %d: cancelled at row %d of %d, read to its end without an error", i, at, n)
		}
		if err := s.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("k", []byte{byte(i)}) }); err != nil {
			t.Fatalf("the change after cancelled read %d: %v", i, err)
		}
	}
	if cancelled < 40 {
		t.Errorf("%d of 120 reads ended cancelled, want at least the 40 cancelled mid-read", cancelled)
	}
}
