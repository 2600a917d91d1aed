package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// seed stores one of every kind of record, to be changed by transactions
// that must then leave no trace.
func seed(t *testing.T, s localstore.Store) {
	t.Helper()
	update(t, s, func(tx localstore.Tx) error {
		if err := tx.PutCertificate(fullCertificate("old")); err != nil {
			return err
		}
		if err := tx.PutCertificate(fullCertificate("doomed")); err != nil {
			return err
		}
		v := version(1)
		v.KeyRef = "key/doomed"
		if err := tx.PutVersion("doomed", v); err != nil {
			return err
		}
		if err := tx.PutSecret("key/doomed", []byte("sealed")); err != nil {
			return err
		}
		if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca-old", Data: []byte("old")}); err != nil {
			return err
		}
		return tx.PutMeta("m", []byte("old"))
	})
}

// writeEverything changes every kind of record; used inside transactions
// that must not commit.
func writeEverything(tx localstore.Tx) error {
	c := fullCertificate("old")
	c.Status = "CHANGED"
	for _, err := range []error{
		tx.PutCertificate(c),
		tx.PutCertificate(fullCertificate("new")),
		tx.PutVersion("new", version(1)),
		tx.PutSecret("key/new", []byte("s")),
		tx.PutSecret("key/doomed", []byte("overwritten")),
		tx.DeleteCertificate("doomed"),
		tx.ReserveSerial("ca", "01", "new", t0),
		tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca-new", Data: []byte("{}")}),
		tx.DeleteObject("ca", "ca-old"),
		tx.PutMeta("m", []byte("new")),
		tx.PutMeta("m2", []byte("new")),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// checkUntouched verifies that the seed is intact and nothing of
// writeEverything is visible.
func checkUntouched(t *testing.T, s localstore.Store) {
	t.Helper()
	view(t, s, func(tx localstore.Tx) error {
		c, err := tx.GetCertificate("old")
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(c, fullCertificate("old")) {
			t.Errorf("certificate changed by a rolled-back transaction: status %q", c.Status)
		}
		_, err = tx.GetCertificate("new")
		wantNotFound(t, "certificate of a rolled-back transaction", err)
		_, err = tx.GetVersion("new", 1)
		wantNotFound(t, "version of a rolled-back transaction", err)
		_, err = tx.GetSecret("key/new")
		wantNotFound(t, "secret of a rolled-back transaction", err)
		if sec, err := tx.GetSecret("key/doomed"); err != nil || string(sec) != "sealed" {
			t.Errorf("secret after rollback = %q, %v; want the original", sec, err)
		}
		if _, err := tx.GetCertificate("doomed"); err != nil {
			t.Errorf("certificate deleted by a rolled-back transaction: %v", err)
		}
		if _, err := tx.GetVersion("doomed", 1); err != nil {
			t.Errorf("version deleted by a rolled-back transaction: %v", err)
		}
		_, err = tx.GetSerial("ca", "01")
		wantNotFound(t, "serial of a rolled-back transaction", err)
		_, err = tx.GetObject("ca", "ca-new")
		wantNotFound(t, "object of a rolled-back transaction", err)
		if _, err := tx.GetObject("ca", "ca-old"); err != nil {
			t.Errorf("object deleted by a rolled-back transaction: %v", err)
		}
		if m, err := tx.GetMeta("m"); err != nil || string(m) != "old" {
			t.Errorf("meta after rollback = %q, %v; want old", m, err)
		}
		_, err = tx.GetMeta("m2")
		wantNotFound(t, "meta of a rolled-back transaction", err)
		n, err := tx.CountCertificates()
		if err != nil {
			return err
		}
		if n != 2 {
			t.Errorf("CountCertificates after rollback = %d, want 2", n)
		}
		return nil
	})
	// The store still takes writes: the failed transaction released its lock.
	update(t, s, func(tx localstore.Tx) error { return tx.ReserveSerial("ca", "01", "new", t0) })
}

func testRollbackOnError(t *testing.T, s localstore.Store) {
	seed(t, s)
	err := s.Update(ctx(t), func(tx localstore.Tx) error {
		if err := writeEverything(tx); err != nil {
			return fmt.Errorf("writeEverything: %w", err)
		}
		return fmt.Errorf("wrapped: %w", errSentinel)
	})
	if !errors.Is(err, errSentinel) {
		t.Fatalf("Update returned %v, want the function's error", err)
	}
	checkUntouched(t, s)
}

func testRollbackOnPanic(t *testing.T, s localstore.Store) {
	seed(t, s)
	type boom struct{ msg string }
	var recovered any
	func() {
		defer func() { recovered = recover() }()
		_ = s.Update(ctx(t), func(tx localstore.Tx) error {
			if err := writeEverything(tx); err != nil {
				t.Errorf("writeEverything: %v", err)
			}
			panic(boom{"deliberate"})
		})
	}()
	if b, ok := recovered.(boom); !ok || b.msg != "deliberate" {
		t.Fatalf("recovered %#v, want the function's panic value", recovered)
	}
	checkUntouched(t, s)
}

// testViewCannotWrite checks that a read transaction refuses every kind of
// write. Each write runs in a View of its own: on PostgreSQL the first
// failed statement aborts the transaction, so in a shared View every later
// write would fail for that reason alone, whatever the access mode.
func testViewCannotWrite(t *testing.T, s localstore.Store) {
	seed(t, s)
	changed := fullCertificate("old")
	changed.Status = "CHANGED"
	writes := []struct {
		name  string
		write func(localstore.Tx) error
	}{
		{"PutCertificate (update)", func(tx localstore.Tx) error { return tx.PutCertificate(changed) }},
		{"PutCertificate (insert)", func(tx localstore.Tx) error { return tx.PutCertificate(fullCertificate("new")) }},
		{"PutVersion", func(tx localstore.Tx) error { return tx.PutVersion("new", version(1)) }},
		{"PutSecret", func(tx localstore.Tx) error { return tx.PutSecret("key/new", []byte("s")) }},
		{"DeleteSecret", func(tx localstore.Tx) error { return tx.DeleteSecret("key/new") }},
		{"DeleteCertificate", func(tx localstore.Tx) error { return tx.DeleteCertificate("doomed") }},
		{"ReserveSerial", func(tx localstore.Tx) error { return tx.ReserveSerial("ca", "01", "new", t0) }},
		{"PutObject", func(tx localstore.Tx) error {
			return tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca-new", Data: []byte("{}")})
		}},
		{"DeleteObject", func(tx localstore.Tx) error { return tx.DeleteObject("ca", "ca-old") }},
		{"PutMeta", func(tx localstore.Tx) error { return tx.PutMeta("m", []byte("new")) }},
		{"AppendEvent", func(tx localstore.Tx) error { _, err := tx.AppendEvent(t0, []byte("{}")); return err }},
		{"AppendAudit", func(tx localstore.Tx) error { return tx.AppendAudit(auditRow(1)) }},
	}
	for _, w := range writes {
		var werr error
		err := s.View(ctx(t), func(tx localstore.Tx) error {
			// A read first, as real read transactions do, so the write is
			// not the statement that opens the transaction.
			if _, err := tx.GetCertificate("old"); err != nil {
				return fmt.Errorf("read before the write: %w", err)
			}
			werr = w.write(tx)
			return nil
		})
		if werr == nil {
			t.Errorf("%s inside View succeeded; a read transaction must refuse writes (View returned %v)", w.name, err)
		} else if errors.Is(werr, localstore.ErrNotFound) {
			t.Errorf("%s inside View: %v; want a refusal of the write, not a missing record", w.name, werr)
		}
	}
	checkUntouched(t, s)
	view(t, s, func(tx localstore.Tx) error {
		if rows, err := tx.ListEvents(0, time.Time{}, 0); err != nil || len(rows) != 0 {
			t.Errorf("events after writes inside View: %d, %v", len(rows), err)
		}
		_, err := tx.LastAudit()
		wantNotFound(t, "audit record appended inside View", err)
		return nil
	})
}

func testViewSeesCommitted(t *testing.T, s localstore.Store) {
	seed(t, s)
	update(t, s, func(tx localstore.Tx) error { return tx.PutMeta("m", []byte("committed")) })
	view(t, s, func(tx localstore.Tx) error {
		if m, err := tx.GetMeta("m"); err != nil || string(m) != "committed" {
			t.Errorf("View after commit: GetMeta = %q, %v", m, err)
		}
		return nil
	})
	// A View's error is returned as is.
	if err := s.View(ctx(t), func(localstore.Tx) error { return errSentinel }); !errors.Is(err, errSentinel) {
		t.Errorf("View returned %v, want the function's error", err)
	}
}

func testCheck(t *testing.T, s localstore.Store) {
	seed(t, s)
	if err := s.Check(ctx(t)); err != nil {
		t.Errorf("Check on a healthy store: %v", err)
	}
}

// testCancelledBeforeCommit: a context cancelled after the function
// returned, before the commit, rolls the change back and Update reports
// the cancellation (SQLite's database/sql rolls back on its own when the
// context ends, and its commit then found the transaction done: "sql:
// transaction has already been committed or rolled back").
func testCancelledBeforeCommit(t *testing.T, s localstore.Store) {
	seed(t, s)
	for i := range 5 {
		cctx, cancel := context.WithCancel(ctx(t))
		err := s.Update(cctx, func(tx localstore.Tx) error {
			if err := writeEverything(tx); err != nil {
				return fmt.Errorf("writeEverything: %w", err)
			}
			cancel()
			// Time for a store that watches the context to act on it.
			time.Sleep(time.Duration(i) * 5 * time.Millisecond)
			return nil
		})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("round %d: Update returned %v, want context.Canceled", i, err)
		}
		view(t, s, func(tx localstore.Tx) error {
			_, err := tx.GetCertificate("new")
			wantNotFound(t, fmt.Sprintf("round %d: certificate of a cancelled transaction", i), err)
			return nil
		})
	}
	checkUntouched(t, s)
}
