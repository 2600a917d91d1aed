package audit

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestAppendRefusesALogRolledBackBehindTheWitness: two hosts append to one
// store, each with a witness of its own. The store is rolled back (the
// newest records dropped and the head saved before them put back, as
// copying old database files back does). The host whose witness names a
// dropped record appends nothing more — neither onto the shorter log nor,
// once the other host has appended, onto a log that holds another record
// in its place — and its witness still shows the loss. The other host,
// whose witness is behind the log, appends as before.
func TestAppendRefusesALogRolledBackBehindTheWitness(t *testing.T) {
	onEachStore(t, testRollback)
}

// onEachStore runs fn on an SQLite file and on a PostgreSQL schema (when
// CERTCTL_TEST_POSTGRES_URL is set), each with a chain key and the
// statements a database administrator can run on the store (exec).
func onEachStore(t *testing.T, fn func(t *testing.T, st localstore.Store, key []byte, exec func(string) error)) {
	t.Run("sqlite", func(t *testing.T) {
		dir, st, key, _ := witnessVault(t)
		db, err := sql.Open("sqlite", "file:"+dir+"/v.db")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		fn(t, st, key, func(q string) error { _, err := db.Exec(q); return err })
	})
	t.Run("postgres", func(t *testing.T) {
		u := pgtest.FreshSchema(t)
		st, err := localstore.OpenPostgres(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		_, _, key, _ := witnessVault(t)
		fn(t, st, key, func(q string) error { _, err := conn.Exec(context.Background(), q); return err })
	})
}

func testRollback(t *testing.T, st localstore.Store, key []byte, exec func(string) error) {
	ctx := context.Background()
	_, _, _, at := witnessVault(t)
	hostA := WitnessIn(t.TempDir(), "the store")
	hostB := WitnessIn(t.TempDir(), "the store")
	// appendAs appends one record as a host does (service.Core.write):
	// its witness read before the transaction, noted after commit.
	appendAs := func(w Witness) error {
		seen := w.Held()
		r := &Record{EventName: "AddTagsToCertificate", Actor: Actor{Type: ActorUser, ID: "u"}}
		err := st.Update(ctx, func(tx localstore.Tx) error {
			tail := &Tail{Witnessed: seen}
			if err := AppendAfter(tx, key, r, at, tail); err != nil {
				return err
			}
			return tail.Flush(tx, key)
		})
		if err == nil {
			err = w.Note(key, r)
		}
		return err
	}
	mustAppend := func(w Witness, n int) {
		t.Helper()
		for range n {
			if err := appendAs(w); err != nil {
				t.Fatal(err)
			}
		}
	}
	end := func() int64 {
		t.Helper()
		var seq int64
		if err := st.View(ctx, func(tx localstore.Tx) error {
			last, err := tx.LastAudit()
			if err == nil {
				seq = last.Seq
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return seq
	}
	check := func(w Witness) *Problem {
		t.Helper()
		seen := w.Seen()
		var p *Problem
		if err := st.View(ctx, func(tx localstore.Tx) (err error) {
			if _, p, err = Verify(tx, key); err != nil || p != nil {
				t.Fatalf("the chain itself: %v %v", p, err)
			}
			p, err = w.Check(tx, key, seen)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return p
	}

	mustAppend(hostA, 1)
	mustAppend(hostB, 1) // B's witness: record 2, soon behind the log
	mustAppend(hostA, 1)
	var saved []byte
	if err := st.View(ctx, func(tx localstore.Tx) (err error) { saved, err = tx.GetMeta(headKey); return err }); err != nil {
		t.Fatal(err)
	}
	mustAppend(hostA, 2) // records 4 and 5: the ones to hide

	// Roll back to record 3.
	if err := exec(`DELETE FROM audit WHERE seq > 3`); err != nil {
		t.Fatal(err)
	}
	if err := st.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta(headKey, saved) }); err != nil {
		t.Fatal(err)
	}
	err := appendAs(hostA)
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), "rolled back or cut") ||
		!strings.Contains(err.Error(), "this host appended record 5, but the log ends at record 3") {
		t.Fatalf("host A's append onto the rolled-back log: %v", err)
	}
	if e, ok := err.(*errs.Error); !ok || !strings.Contains(e.Hint, hostA.Path) {
		t.Errorf("the refusal's hint does not name the witness file %s: %#v", hostA.Path, err)
	}
	if got := end(); got != 3 {
		t.Fatalf("the log ends at %d after the refusal, want 3", got)
	}
	if p := check(hostA); p == nil || p.Seq != 4 || !strings.Contains(p.Msg, "removed: records 4 to 5") {
		t.Fatalf("host A's witness after the refusal: %v", p)
	}

	// Host B's witness (record 2) is behind: the log passes through it.
	mustAppend(hostB, 3)
	if got := end(); got != 6 {
		t.Fatalf("the log ends at %d, want 6", got)
	}
	// The log is as long as before, but record 5 is not host A's.
	err = appendAs(hostA)
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable ||
		!strings.Contains(err.Error(), "the log holds a different record 5 from the one this host appended (the log ends at record 6)") {
		t.Fatalf("host A's append onto a log with another record 5: %v", err)
	}
	if p := check(hostA); p == nil || p.Seq != 5 || !strings.Contains(p.Msg, "replaced") {
		t.Fatalf("host A's witness: %v", p)
	}
	if p := check(hostB); p != nil {
		t.Fatalf("host B's witness: %v", p)
	}
	if got := end(); got != 6 {
		t.Fatalf("the log ends at %d, want 6", got)
	}

	// The whole log and its head gone (a database file deleted, or its
	// write-ahead log).
	if err := exec(`DELETE FROM audit`); err != nil {
		t.Fatal(err)
	}
	if err := exec(`DELETE FROM meta WHERE key = 'audit.head'`); err != nil {
		t.Fatal(err)
	}
	if err := appendAs(hostB); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable ||
		!strings.Contains(err.Error(), "this host appended record 6, but the log is empty") {
		t.Fatalf("host B's append onto an emptied log: %v", err)
	}
}

// TestHeldTakesTheRecordHeldBack: the witness a write checks against is
// the newest this process knows of, including a record NoteSoon has not
// written to the file yet — without writing it (a busy server would
// otherwise write the file before every transaction).
func TestHeldTakesTheRecordHeldBack(t *testing.T) {
	dir, st, key, at := witnessVault(t)
	w := WitnessIn(dir, "sqlite:"+dir+"/v.db")
	var recs []*Record
	for range 2 {
		r := &Record{EventName: "AddTagsToCertificate", Actor: Actor{Type: ActorUser, ID: "u"}}
		if err := st.Update(context.Background(), func(tx localstore.Tx) error { return Append(tx, key, r, at) }); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	for _, r := range recs {
		if err := w.NoteSoon(key, r); err != nil {
			t.Fatal(err)
		}
	}
	defer w.Flush()
	h, err := w.fileHead(key)
	if err != nil || h.Seq != 1 {
		t.Skipf("the second note was not held back (slow machine): %v %v", h, err)
	}
	if got := w.Held().valid(key); got == nil || got.Seq != 2 {
		t.Fatalf("Held: %+v, want record 2", got)
	}
	if h, _ := w.fileHead(key); h.Seq != 1 {
		t.Errorf("Held wrote the file (record %d)", h.Seq)
	}
	// Reset forgets both.
	if err := w.Reset(); err != nil {
		t.Fatal(err)
	}
	if got := w.Held().valid(key); got != nil {
		t.Fatalf("Held after Reset: %+v", got)
	}
}
