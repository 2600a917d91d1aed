package audit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
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
	// The first record removed is named (tester: the witnessed one, 4,
	// was).
	if p2 == nil || p2.Seq != 3 || !strings.Contains(p2.Msg, "removed: records 3 to 4") {
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

// TestWitnessSetWritesInPlace: writing the witness writes the one file in
// place — the same file (no temporary file renamed over it, which cost
// every command a creation and a rename in the vault directory), alone in
// its directory, mode 0600 — and a write whose path is a directory fails
// and leaves nothing behind.
func TestWitnessSetWritesInPlace(t *testing.T) {
	dir := t.TempDir()
	w := Witness{Path: filepath.Join(dir, "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	var first os.FileInfo
	for seq := int64(1); seq <= 3; seq++ {
		if err := w.Set(key, seq, []byte{byte(seq)}); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Errorf("witness mode %v, want -rw-------", fi.Mode())
		}
		if first == nil {
			first = fi
		} else if !os.SameFile(first, fi) {
			t.Errorf("write %d put another file in the witness's place", seq)
		}
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 3 {
		t.Fatalf("witness %+v, want record 3", got)
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

// TestWitnessNotWrittenThroughALink: a symbolic link in the witness's
// place (which certctl never makes) is replaced by the witness, as the
// rename of older releases replaced it; the file it pointed at is not
// written.
func TestWitnessNotWrittenThroughALink(t *testing.T) {
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef")
	other := filepath.Join(dir, "other")
	if err := os.WriteFile(other, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := Witness{Path: filepath.Join(dir, "witness")}
	if err := os.Symlink(other, w.Path); err != nil {
		t.Skip(err)
	}
	if err := w.Set(key, 1, []byte{1}); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(other); string(data) != "keep me" {
		t.Errorf("the link's target was written: %q", data)
	}
	if fi, err := os.Lstat(w.Path); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the witness is not a file: %v %v", fi, err)
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 1 {
		t.Errorf("witness %+v, want record 1", got)
	}
}

// TestWitnessKeepsThePreviousHead: the file holds the head before the
// newest as well (the two slots, written in turn), so that a write torn
// by a crash or seen half done by a reader damages only the head it
// replaces; the newest write is the one read, even when it names an
// earlier record (Set after a migration, a rebased Note).
func TestWitnessKeepsThePreviousHead(t *testing.T) {
	dir := t.TempDir()
	w := Witness{Path: filepath.Join(dir, "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	macs := map[int64][]byte{}
	holds := func(seqs ...int64) {
		t.Helper()
		data, err := os.ReadFile(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		for seq, m := range macs {
			want := slices.Contains(seqs, seq)
			if got := bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(m))); got != want {
				t.Errorf("the file holds record %d: %v, want %v (it should hold %v)", seq, got, want, seqs)
			}
		}
	}
	for seq := int64(1); seq <= 3; seq++ {
		macs[seq] = bytes.Repeat([]byte{byte(seq)}, 32)
		if err := w.Set(key, seq, macs[seq]); err != nil {
			t.Fatal(err)
		}
		if got := w.Seen().valid(key); got == nil || got.Seq != seq {
			t.Fatalf("witness %+v after writing record %d", got, seq)
		}
	}
	holds(2, 3)
	// Back to record 1: the latest write wins, not the highest record.
	if err := w.Set(key, 1, macs[1]); err != nil {
		t.Fatal(err)
	}
	holds(1, 3)
	if got := w.Seen().valid(key); got == nil || got.Seq != 1 {
		t.Fatalf("witness %+v after writing record 1 again, want 1", got)
	}
	// A head under another key (before a rotation) is passed over.
	if err := w.Set([]byte("another key, another key, another"), 4, bytes.Repeat([]byte{4}, 32)); err != nil {
		t.Fatal(err)
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 1 {
		t.Fatalf("witness %+v after a write under another key, want 1", got)
	}
}

// TestWitnessTornWrite: a write cut anywhere (its first bytes written and
// not the rest, or the rest and not its first bytes) or a slot turned to
// garbage leaves a file from which the head before it is still read.
func TestWitnessTornWrite(t *testing.T) {
	dir := t.TempDir()
	w := Witness{Path: filepath.Join(dir, "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	write := func(seq int64) []byte {
		t.Helper()
		if err := w.Set(key, seq, bytes.Repeat([]byte{byte(seq)}, 32)); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(w.Path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	write(1)
	before := write(2)
	after := write(3)
	tornBetween(t, w, key, before, after, 2, 3)
}

// TestWitnessOfAnOlderRelease: a witness file an older release wrote (one
// JSON head, renamed into place) is read as it is, clock and all; the
// first write keeps it as the previous head, so that write torn leaves it
// readable, and the next write replaces it.
func TestWitnessOfAnOlderRelease(t *testing.T) {
	dir := t.TempDir()
	w := Witness{Path: filepath.Join(dir, "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	old, _ := json.Marshal(newHead(key, 7, bytes.Repeat([]byte{7}, 32), 1234, 5))
	if err := os.WriteFile(w.Path, old, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 7 || !got.clocked(key) {
		t.Fatalf("witness of an older release: %+v, want record 7 with its clock", got)
	}
	if err := w.Set(key, 8, bytes.Repeat([]byte{8}, 32)); err != nil {
		t.Fatal(err)
	}
	after, err := os.ReadFile(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 8 {
		t.Fatalf("witness %+v after a write, want record 8", got)
	}
	tornBetween(t, w, key, old, after, 7, 8)
	if err := os.WriteFile(w.Path, after, 0o600); err != nil {
		t.Fatal(err)
	}
	for seq := int64(9); seq <= 10; seq++ {
		if err := w.Set(key, seq, bytes.Repeat([]byte{byte(seq)}, 32)); err != nil {
			t.Fatal(err)
		}
		if got := w.Seen().valid(key); got == nil || got.Seq != seq {
			t.Fatalf("witness %+v, want record %d", got, seq)
		}
	}
	if data, _ := os.ReadFile(w.Path); bytes.Contains(data, old) {
		t.Error("the older release's head is still in the file after two writes")
	}
}

// tornBetween checks that every file a write could leave half done,
// between the file before (whose head names record prev) and the file
// after (record next), is read as naming prev or next: each cut of the
// write (its start landed, or its end), and the bytes it changed turned
// to garbage (prev then).
func tornBetween(t *testing.T, w Witness, key, before, after []byte, prev, next int64) {
	t.Helper()
	n := max(len(before), len(after))
	pad := func(b []byte) []byte { return append(bytes.Clone(b), make([]byte, n-len(b))...) }
	before, after = pad(before), pad(after)
	check := func(what string, data []byte, want ...int64) {
		t.Helper()
		if err := os.WriteFile(w.Path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if got := w.Seen().valid(key); got == nil || !slices.Contains(want, got.Seq) {
			t.Fatalf("%s: witness %+v, want record %v", what, got, want)
		}
	}
	for k := 0; k <= n; k++ {
		check(fmt.Sprintf("the first %d bytes of the write", k), append(bytes.Clone(after[:k]), before[k:]...), prev, next)
		check(fmt.Sprintf("the write from byte %d on", k), append(bytes.Clone(before[:k]), after[k:]...), prev, next)
	}
	garbage := bytes.Clone(after)
	for i := range garbage {
		if garbage[i] != before[i] {
			garbage[i] = byte(i*7 + 1)
		}
	}
	check("the write's bytes garbage", garbage, prev)
}

// TestWitnessWritersRacing: writers racing (as two commands, or a server
// and a command do) never leave a file without a head, nor one of its
// slots half written once they are done; a reader racing a writer uses
// the head before.
func TestWitnessWritersRacing(t *testing.T) {
	dir := t.TempDir()
	w := Witness{Path: filepath.Join(dir, "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := w.Set(key, 1, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	const writers, writes = 4, 200
	var wg sync.WaitGroup
	done := make(chan struct{})
	var misses atomic.Int64
	go func() {
		for {
			select {
			case <-done:
				return
			default:
			}
			if w.Held().valid(key) == nil {
				misses.Add(1)
			}
		}
	}()
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range writes {
				seq := int64(2 + j*writers + i)
				if err := w.set(key, seq, bytes.Repeat([]byte{byte(seq)}, 32), 0, false); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	ss, err := w.read()
	if err != nil {
		t.Fatal(err)
	}
	if ss[0] == nil || ss[1] == nil {
		t.Fatalf("after the writers a slot is unreadable: %+v %+v", ss[0], ss[1])
	}
	if h := ss.head(key); h == nil || h.Seq < 2 {
		t.Fatalf("witness %+v after the writers", h)
	}
	if n := misses.Load(); n != 0 {
		t.Fatalf("%d reads found no head while %d writers raced", n, writers)
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
		h, err := w.fileHead(key)
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

// fileHead is the newest head the witness file holds under key, read
// without writing what NoteSoon holds back (Seen would).
func (w Witness) fileHead(key []byte) (*head, error) {
	ss, err := w.read()
	if err != nil {
		return nil, err
	}
	if h := ss.head(key); h != nil {
		return h, nil
	}
	return nil, errors.New("no head tagged under the key")
}

// FuzzWitnessSlot: a slot of any bytes is read without a panic, and what
// the writer encodes is read back as written.
func FuzzWitnessSlot(f *testing.F) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h := newHead(key, 7, bytes.Repeat([]byte{7}, 32), 1234, 5)
	enc, _ := encodeSlot(3, &h)
	legacy, _ := json.Marshal(h)
	f.Add(enc, uint64(3), int64(7), []byte{7}, int64(1234), int64(5))
	f.Add(legacy, uint64(0), int64(1), []byte{}, int64(0), int64(0))
	f.Add(enc[:100], uint64(1<<63), int64(-1), bytes.Repeat([]byte{0xff}, 400), int64(-1), int64(0))
	f.Fuzz(func(t *testing.T, b []byte, gen uint64, seq int64, m []byte, clock, restore int64) {
		for _, legacy := range []bool{false, true} {
			if s, ok := parseSlot(b, legacy); ok && s.h == nil {
				t.Fatal("a slot read without a head")
			}
		}
		_ = parseWitness(b).head(key)
		h := newHead(key, seq, m, clock, restore)
		enc, err := encodeSlot(gen, &h)
		if err != nil {
			return // too large for a slot: refused, not cut
		}
		if len(enc) != witnessSlotSize {
			t.Fatalf("a slot of %d bytes", len(enc))
		}
		s, ok := parseSlot(enc, false)
		if !ok || s.gen != gen || !sameHead(s.h, &h) {
			t.Fatalf("round trip: %v %d %+v, want %d %+v", ok, s.gen, s.h, gen, h)
		}
		if !s.h.valid(key) || s.h.clocked(key) != h.clocked(key) {
			t.Fatalf("round trip lost the tags: %+v", s.h)
		}
		file := append(make([]byte, witnessStride), enc...)
		if got := parseWitness(file).head(key); got == nil || got.Seq != seq {
			t.Fatalf("slot 1 alone: %+v", got)
		}
	})
}

func sameHead(a, b *head) bool {
	return a.Seq == b.Seq && bytes.Equal(a.MAC, b.MAC) && bytes.Equal(a.Tag, b.Tag) &&
		a.Clock == b.Clock && a.Restore == b.Restore && bytes.Equal(a.Mark, b.Mark)
}

// BenchmarkWitnessSet: one write of the witness, as a command makes after
// its commit.
// BenchmarkWitnessNote is the witness write a command makes after its
// commit (Note of a newer record: no sync).
func BenchmarkWitnessNote(b *testing.B) {
	w := Witness{Path: filepath.Join(b.TempDir(), "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	m := bytes.Repeat([]byte{1}, 32)
	b.ReportAllocs()
	for i := range b.N {
		if err := w.Note(key, &Record{Seq: int64(i + 1), chainMAC: m}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestWitnessNoteNeverGoesBack: a Note of a record older than the one the
// witness names (another process's append committed first, its witness
// written first) writes nothing — neither slot changes — while a rebased
// one (after a restore) moves the witness back.
func TestWitnessNoteNeverGoesBack(t *testing.T) {
	w := Witness{Path: filepath.Join(t.TempDir(), "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	rec := func(seq int64, rebased bool) *Record {
		return &Record{Seq: seq, chainMAC: bytes.Repeat([]byte{byte(seq)}, 32), rebased: rebased}
	}
	for _, seq := range []int64{10, 11} {
		if err := w.Note(key, rec(seq, false)); err != nil {
			t.Fatal(err)
		}
	}
	before, err := os.ReadFile(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Note(key, rec(10, false)); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(w.Path); !bytes.Equal(before, after) {
		t.Fatal("a Note of an older record rewrote the witness")
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 11 {
		t.Fatalf("witness %+v after noting record 10 after 11, want 11", got)
	}
	if err := w.Note(key, rec(5, true)); err != nil {
		t.Fatal(err)
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 5 {
		t.Fatalf("witness %+v after a rebased Note of record 5, want 5", got)
	}
}

// TestWitnessKeepsAHeadUnderAnotherKey: in a file whose only head is
// tagged under another key (written before a rotation of the master key),
// the first write under the new key goes to the empty slot and leaves
// that head in place.
func TestWitnessKeepsAHeadUnderAnotherKey(t *testing.T) {
	w := Witness{Path: filepath.Join(t.TempDir(), "witness")}
	old, key := []byte("another key, another key, another"), []byte("0123456789abcdef0123456789abcdef")
	if err := w.Set(old, 7, bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	if err := w.Set(key, 8, bytes.Repeat([]byte{8}, 32)); err != nil {
		t.Fatal(err)
	}
	ss, err := w.read()
	if err != nil {
		t.Fatal(err)
	}
	if ss[0] == nil || ss[0].h.Seq != 7 || !ss[0].h.valid(old) {
		t.Fatalf("slot 0 is %+v, want the head of record 7 under the old key", ss[0])
	}
	if ss[1] == nil || ss[1].h.Seq != 8 || !ss[1].h.valid(key) {
		t.Fatalf("slot 1 is %+v, want the head of record 8 under the new key", ss[1])
	}
}

// TestWitnessWriteWaitsForTheLock: a write waits while another process
// (here another open of the file) holds the witness's lock, and is made
// once it is released.
func TestWitnessWriteWaitsForTheLock(t *testing.T) {
	w := Witness{Path: filepath.Join(t.TempDir(), "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := w.Set(key, 1, bytes.Repeat([]byte{1}, 32)); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(w.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	unlock, err := fsutil.LockOpen(f)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- w.Set(key, 2, bytes.Repeat([]byte{2}, 32)) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("the write did not wait for the lock: %v", err)
	default:
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 1 {
		t.Fatalf("witness %+v while the lock is held, want 1", got)
	}
	unlock()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.Seen().valid(key); got == nil || got.Seq != 2 {
		t.Fatalf("witness %+v once the lock is released, want 2", got)
	}
}

// readsInTurn answers each ReadAt with the next of its files (the last
// one again when they run out), as a file rewritten between two reads.
type readsInTurn struct {
	files [][]byte
	reads int
}

func (r *readsInTurn) ReadAt(p []byte, off int64) (int, error) {
	data := r.files[min(r.reads, len(r.files)-1)]
	r.reads++
	if off >= int64(len(data)) {
		return 0, io.EOF
	}
	n := copy(p, data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// TestWitnessReadAgainWhenNoSlotParses: a read that finds no slot whole
// (both torn by two writes under way) reads again and gets the head; a
// file that stays without one is read witnessReads times, no more.
func TestWitnessReadAgainWhenNoSlotParses(t *testing.T) {
	w := Witness{Path: filepath.Join(t.TempDir(), "witness")}
	key := []byte("0123456789abcdef0123456789abcdef")
	if err := w.Set(key, 4, bytes.Repeat([]byte{4}, 32)); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(w.Path)
	if err != nil {
		t.Fatal(err)
	}
	torn := bytes.Repeat([]byte{0xa5}, len(good))
	r := &readsInTurn{files: [][]byte{torn, torn, good}}
	ss, err := readSlotsAgain(r)
	if err != nil || (ss[0] == nil && ss[1] == nil) {
		t.Fatalf("after two torn reads: %v, %v, want the head", ss, err)
	}
	if r.reads != 3 {
		t.Errorf("%d reads, want 3", r.reads)
	}
	r = &readsInTurn{files: [][]byte{torn}}
	if ss, err := readSlotsAgain(r); err != nil || ss[0] != nil || ss[1] != nil {
		t.Errorf("a file without a head: %v, %v", ss, err)
	}
	if r.reads != witnessReads {
		t.Errorf("%d reads of a file without a head, want %d", r.reads, witnessReads)
	}
}

// TestSlotCRCIsHashCRC32s checks the witness's bitwise CRC-32C against
// hash/crc32's over inputs of every length a slot can hold.
func TestSlotCRCIsHashCRC32s(t *testing.T) {
	tab := crc32.MakeTable(crc32.Castagnoli)
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= witnessSlotSize; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		cut := min(n, 20)
		if got, want := slotCRC(b[:cut], b[cut:]), crc32.Checksum(b, tab); got != want {
			t.Fatalf("%d bytes: slotCRC %#08x, hash/crc32 %#08x", n, got, want)
		}
	}
}

// TestWitnessOfTakesOverTheOldName: the witness an earlier release kept
// under the store's identity as given (a path through a symbolic link)
// is renamed to the canonical one the first time, so that the log it
// witnessed stays witnessed; one already there is left as it is.
func TestWitnessOfTakesOverTheOldName(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	if err := os.Mkdir(real, 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	v, err := localstore.Open(context.Background(), link, localstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	old := WitnessIn(v.Dir, v.StoreIdentity())
	if err := os.WriteFile(old.Path, []byte("the old witness"), 0o600); err != nil {
		t.Fatal(err)
	}
	w := WitnessOf(v)
	if w.Path == old.Path {
		t.Fatalf("the canonical witness is the old one: %s (StoreIdentity %s, WitnessIdentity %s)", w.Path, v.StoreIdentity(), v.WitnessIdentity())
	}
	if data, err := os.ReadFile(w.Path); err != nil || string(data) != "the old witness" {
		t.Errorf("the old witness was not taken over: %q, %v", data, err)
	}
	if _, err := os.Stat(old.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old name stays: %v", err)
	}
	if err := os.WriteFile(old.Path, []byte("another"), 0o600); err != nil {
		t.Fatal(err)
	}
	WitnessOf(v)
	if data, _ := os.ReadFile(w.Path); string(data) != "the old witness" {
		t.Errorf("a witness already there was replaced: %q", data)
	}
}
