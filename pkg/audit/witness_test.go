package audit

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestWitnessCatchesAReplayedHead: someone who can write the database
// saves the head, lets the log grow, then deletes the newest records and
// puts the saved head back. The chain and the stored head agree again;
// the host's witness does not.
func TestWitnessCatchesAReplayedHead(t *testing.T) {
	dir, st, key, at := witnessVault(t)
	w := WitnessIn(dir, "sqlite:"+dir+"/v.db")
	var err error
	var savedHead []byte
	for i := 1; i <= 4; i++ {
		r := &Record{EventName: "AddTagsToCertificate", Actor: Actor{Type: ActorUser, ID: "u"}}
		if err := st.Update(context.Background(), func(tx localstore.Tx) error { return Append(tx, key, r, at) }); err != nil {
			t.Fatal(err)
		}
		if err := w.Note(key, r); err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			_ = st.View(context.Background(), func(tx localstore.Tx) error {
				savedHead, _ = tx.GetMeta(headKey)
				return nil
			})
		}
	}
	check := func() (*Problem, *Problem) {
		var p1, p2 *Problem
		seen := w.Seen()
		_ = st.View(context.Background(), func(tx localstore.Tx) error {
			_, p1, _ = Verify(tx, key)
			p2, _ = w.Check(tx, key, seen)
			return nil
		})
		return p1, p2
	}
	if p1, p2 := check(); p1 != nil || p2 != nil {
		t.Fatalf("whole log: %v %v", p1, p2)
	}
	// Drop records 3 and 4 and put back the head saved at 2.
	if err := st.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutMeta(headKey, savedHead)
	}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+dir+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit WHERE seq >= 3`); err != nil {
		t.Fatal(err)
	}
	p1, p2 := check()
	if p1 != nil {
		t.Fatalf("the chain alone should not see the replay (that is the witness's job): %v", p1)
	}
	if p2 == nil || p2.Seq != 4 || !strings.Contains(p2.Msg, "removed") {
		t.Fatalf("witness: %v", p2)
	}
}

// TestAppendRefusesADroppedTail: records dropped from the end must not be
// hidden by the next change chaining a fresh head onto what is left.
func TestAppendRefusesADroppedTail(t *testing.T) {
	dir, st, key, at := witnessVault(t)
	var err error
	appendOne := func() error {
		return st.Update(context.Background(), func(tx localstore.Tx) error {
			return Append(tx, key, &Record{EventName: "DeleteCertificate", Actor: Actor{Type: ActorUser, ID: "u"}}, at)
		})
	}
	for i := 0; i < 3; i++ {
		if err := appendOne(); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("sqlite", "file:"+dir+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	err = appendOne()
	if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), "ends at record 2 but its head is record 3") {
		t.Fatalf("append after a dropped tail: %v", err)
	}
	// Nothing was appended: the log still ends at 2.
	_ = st.View(context.Background(), func(tx localstore.Tx) error {
		last, err := tx.LastAudit()
		if err != nil || last.Seq != 2 {
			t.Errorf("last record %v, %v", last, err)
		}
		return nil
	})
	// Dropping the head with it is caught too.
	if _, err := db.Exec(`DELETE FROM meta WHERE key = 'audit.head'`); err != nil {
		t.Fatal(err)
	}
	if err := appendOne(); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Fatalf("append without a head: %v", err)
	}
}

func TestResourceFilterTakesPrefixes(t *testing.T) {
	r := &Record{Resources: []string{
		"arn:certctl:acm:local:000000000000:certificate/3f2a1b9c-0000-4000-8000-000000000001",
		"arn:certctl:acm:local:000000000000:acme-endpoint/77aa55cc-0000-4000-8000-000000000002/order/abc123def",
	}}
	for arg, want := range map[string]bool{
		"arn:certctl:acm:local:000000000000:certificate/3f2a1b9c-0000-4000-8000-000000000001": true,
		"3f2a1b9c-0000-4000-8000-000000000001":                                                true,
		"3f2a1b":                                                                              true,  // a unique prefix of 6+
		"3f2a1":                                                                               false, // too short to be an identifier
		"77aa55cc":                                                                            true,  // the endpoint of an order
		"arn:certctl:acm:local:000000000000:acme-endpoint/77aa55cc-0000-4000-8000-000000000002": true,
		"ffffff": false,
	} {
		if got := (Filter{Resource: arg}).Match(r, time.Time{}); got != want {
			t.Errorf("--resource %s: %v, want %v", arg, got, want)
		}
	}
}

// TestWitnessSetLeavesNoTemporaryFile: writing the witness leaves the
// witness alone in its directory (the temporary file of a killed process
// removed too), and a write that cannot take the
// witness's place (the path is a directory) fails and removes its
// temporary file.
func TestWitnessSetLeavesNoTemporaryFile(t *testing.T) {
	dir := t.TempDir()
	w := Witness{Path: filepath.Join(dir, "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	left := filepath.Join(dir, ".audit-witness-1679368932")
	if err := os.WriteFile(left, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(left, old, old); err != nil {
		t.Fatal(err)
	}
	for seq := int64(1); seq <= 3; seq++ {
		if err := w.Set(key, seq, []byte{byte(seq)}); err != nil {
			t.Fatal(err)
		}
	}
	if names := dirNames(t, dir); len(names) != 1 || names[0] != "witness" {
		t.Fatalf("after three writes the directory holds %v, want only the witness", names)
	}
	blocked := Witness{Path: filepath.Join(dir, "taken")}
	if err := os.MkdirAll(filepath.Join(blocked.Path, "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := blocked.Set(key, 4, []byte{4}); err == nil {
		t.Fatal("a witness whose path is a non-empty directory was written")
	}
	if names := dirNames(t, dir); len(names) != 2 {
		t.Fatalf("after a failed write the directory holds %v, want the witness and the directory only", names)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// TestWitnessNoteSoon: a busy process's notes (NoteSoon) write the first
// record at once and hold the ones right after it back; Check in this
// process writes what is held back before it reads, so it still catches
// the removal of the newest record; a held-back record is written by the
// timer without anyone asking.
func TestWitnessNoteSoon(t *testing.T) {
	dir, st, key, at := witnessVault(t)
	w := WitnessIn(dir, "sqlite:"+dir+"/v.db")
	var err error
	var recs []*Record
	for range 5 {
		r := &Record{EventName: "AddTagsToCertificate", Actor: Actor{Type: ActorUser, ID: "u"}}
		if err := st.Update(context.Background(), func(tx localstore.Tx) error { return Append(tx, key, r, at) }); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	seq := func() int64 {
		h, err := w.read()
		if err != nil {
			t.Fatal(err)
		}
		return h.Seq
	}
	start := time.Now()
	for _, r := range recs[:3] {
		if err := w.NoteSoon(key, r); err != nil {
			t.Fatal(err)
		}
	}
	if got := seq(); time.Since(start) < WitnessEvery && got != 1 {
		t.Errorf("witness at %d right after three notes, want 1 (the first at once, the others held back)", got)
	}
	var p *Problem
	seen := w.Seen()
	_ = st.View(context.Background(), func(tx localstore.Tx) error { p, err = w.Check(tx, key, seen); return err })
	if p != nil || err != nil || seq() != 3 {
		t.Fatalf("check: %v %v, witness at %d, want 3", p, err, seq())
	}
	if err := w.NoteSoon(key, recs[3]); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); seq() != 4; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("held-back record 4 not written by the timer: witness at %d", seq())
		}
	}
	// Held back again, then record 5 removed: Check sees it.
	if err := w.NoteSoon(key, recs[4]); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+dir+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`DELETE FROM audit WHERE seq = 5`); err != nil {
		t.Fatal(err)
	}
	seen = w.Seen()
	_ = st.View(context.Background(), func(tx localstore.Tx) error { p, err = w.Check(tx, key, seen); return err })
	if p == nil || p.Seq != 5 || !strings.Contains(p.Msg, "removed") {
		t.Fatalf("witness after record 5 was removed: %v %v", p, err)
	}
}

// witnessVault opens a SQLite store v.db in a new directory (closed at the
// end of the test) and returns the directory, the store, an audit key and
// the time records are appended at.
func witnessVault(t *testing.T) (string, *localstore.SQLite, []byte, time.Time) {
	t.Helper()
	dir := t.TempDir()
	st, err := localstore.OpenSQLite(context.Background(), dir+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return dir, st, []byte("0123456789abcdef0123456789abcdef"), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
}

// TestWitnessSeenBeforeTheSnapshot: another process commits record 3 and
// notes it in the witness while a verification's read transaction, begun
// before, sees only records 1 and 2. The witness as seen before that
// transaction began names record 2 at most: no false "removed". (Read
// inside the transaction, it names record 3, which the snapshot lacks:
// the false alarm a tester saw under a writer.)
func TestWitnessSeenBeforeTheSnapshot(t *testing.T) {
	dir, st, key, at := witnessVault(t)
	w := WitnessIn(dir, "sqlite:"+dir+"/v.db")
	other, err := localstore.OpenSQLite(context.Background(), dir+"/v.db")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	appendNoted := func(s *localstore.SQLite) {
		t.Helper()
		r := &Record{EventName: "AddTagsToCertificate", Actor: Actor{Type: ActorUser, ID: "u"}}
		if err := s.Update(context.Background(), func(tx localstore.Tx) error { return Append(tx, key, r, at) }); err != nil {
			t.Fatal(err)
		}
		if err := w.Note(key, r); err != nil {
			t.Fatal(err)
		}
	}
	appendNoted(st)
	appendNoted(st)
	seen := w.Seen()
	var before, inside *Problem
	err = st.View(context.Background(), func(tx localstore.Tx) error {
		// The snapshot begins with the first read.
		n, p, err := Verify(tx, key)
		if err != nil || p != nil || n != 2 {
			t.Fatalf("verify: %d records, %v, %v", n, p, err)
		}
		appendNoted(other)
		if before, err = w.Check(tx, key, seen); err != nil {
			return err
		}
		inside, err = w.Check(tx, key, w.Seen())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if before != nil {
		t.Errorf("witness seen before the snapshot: %v, want no problem", before)
	}
	if inside == nil || inside.Seq != 3 {
		t.Errorf("witness read inside the snapshot: %v, want record 3 reported (why Seen comes first)", inside)
	}
}
