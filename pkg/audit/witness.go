package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/localstore"
)

// WitnessPrefix begins the name of the files in each vault directory where
// a host keeps the newest chain head it appended, one file per store (a
// vault directory may be pointed at another store: each has its own chain).
const WitnessPrefix = "audit.witness-"

// Witness is a host's own copy of the chain head, kept outside the store.
// The head in the store's meta table catches a record dropped from the end
// — unless someone who can write the database puts back a head saved
// earlier, together with the rows it covered. The witness closes that: it
// lives beside the master key on each host that writes, so a log that ends
// before a head some host wrote, or that holds another record at that
// place, no longer verifies, and this host appends nothing to it (Tail.
// Witnessed). It is written after commit, without fsync: a
// witness behind the store is normal (a crash, another host's appends);
// only a store behind or unlike the witness is a problem.
type Witness struct{ Path string }

// WitnessIn is the witness, in the vault directory dir, of the store named
// by storeID (localstore.Vault.StoreIdentity).
func WitnessIn(dir, storeID string) Witness {
	sum := sha256.Sum256([]byte(storeID))
	return Witness{Path: filepath.Join(dir, WitnessPrefix+hex.EncodeToString(sum[:8]))}
}

func (w Witness) read() (*head, error) {
	data, err := os.ReadFile(w.Path)
	if err != nil {
		return nil, err
	}
	var h head
	if err := json.Unmarshal(data, &h); err != nil {
		return nil, err
	}
	return &h, nil
}

// Note records r (appended and committed) as the newest head this host
// wrote, unless the witness already holds a newer one. It need not check
// that r's chain passes through the record the witness names: r's append
// did (Tail.Witnessed), so a newer seq is a later point of the same log.
// Errors are returned for the caller to ignore or report: the change
// itself is done.
//
// A record appended after its transaction accepted a restored log
// (Record.Rebased) replaces the witness whatever it names: the record
// there was in the log before the restore, which is gone.
func (w Witness) Note(key []byte, r *Record) error {
	if w.Path == "" || r == nil || r.Seq == 0 || r.chainMAC == nil {
		return nil
	}
	if h, err := w.read(); err == nil && !r.rebased && h.Seq >= r.Seq && h.valid(key) {
		return nil
	}
	return w.set(key, r.Seq, r.chainMAC, r.clock)
}

// WitnessEvery is how often at most NoteSoon writes one witness file.
const WitnessEvery = 100 * time.Millisecond

// soon holds, per witness file, what NoteSoon has not written yet.
var soon = struct {
	mu sync.Mutex
	m  map[string]*soonWitness
}{m: map[string]*soonWitness{}}

type soonWitness struct {
	// write serialises this process's writes of the file, so that a
	// newer head is never overwritten by an older one being written.
	write sync.Mutex
	// Under soon.mu: when the file was last written, the newest record
	// noted since (nil when none waits) and the timer that writes it.
	last  time.Time
	key   []byte
	rec   *Record
	timer *time.Timer
}

// NoteSoon is Note for a process that appends many records, such as a
// server: the first record after a quiet WitnessEvery is written at once
// (a command's change, the first of a burst), the ones after it at most
// once every WitnessEvery — the newest of them, by a timer, or by Flush,
// Check or Set in this process before it reads or writes the file. A busy
// server writes the file ten times a second instead of once a commit; what
// the tamper check loses is the records of the last WitnessEvery before
// the process stops without Flush, which, like a crash, leaves the
// witness behind the store (normal, see Witness), never ahead of it.
func (w Witness) NoteSoon(key []byte, r *Record) error {
	if w.Path == "" || r == nil || r.Seq == 0 || r.chainMAC == nil {
		return nil
	}
	now := time.Now()
	soon.mu.Lock()
	s := soon.m[w.Path]
	if s == nil {
		s = &soonWitness{}
		soon.m[w.Path] = s
	}
	if s.rec == nil && now.Sub(s.last) >= WitnessEvery {
		s.last = now
		soon.mu.Unlock()
		s.write.Lock()
		defer s.write.Unlock()
		return w.Note(key, r)
	}
	if s.rec == nil || r.Seq > s.rec.Seq || r.rebased {
		s.key, s.rec = key, r
	}
	if s.timer == nil {
		s.timer = time.AfterFunc(s.last.Add(WitnessEvery).Sub(now), func() { _ = w.Flush() })
	}
	soon.mu.Unlock()
	return nil
}

// Flush writes the record NoteSoon holds back for this witness, if any.
func (w Witness) Flush() error {
	soon.mu.Lock()
	s := soon.m[w.Path]
	if s == nil {
		soon.mu.Unlock()
		return nil
	}
	soon.mu.Unlock()
	// The write lock first: a write under way (at once, or this flush's
	// own timer) ends before this one looks at what is held back.
	s.write.Lock()
	defer s.write.Unlock()
	soon.mu.Lock()
	key, rec := s.key, s.rec
	s.key, s.rec = nil, nil
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
	if rec != nil {
		s.last = time.Now()
	}
	soon.mu.Unlock()
	if rec == nil {
		return nil
	}
	return w.Note(key, rec)
}

// Set writes the witness (temp file and rename, mode 0600), after what
// NoteSoon holds back (which it then supersedes), naming record seq with
// HMAC m; it keeps no clock of the chain (see head), so a restore is not
// told from a rollback until this host's next change notes its record.
func (w Witness) Set(key []byte, seq int64, m []byte) error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.set(key, seq, m, 0)
}

func (w Witness) set(key []byte, seq int64, m []byte, clock int64) error {
	data, _ := json.Marshal(newHead(key, seq, m, clock, 0))
	tmp, err := fsutil.CreateTemp(filepath.Dir(w.Path), ".audit-witness-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), w.Path)
	}
	if err != nil {
		// Only a file that did not take the witness's place is removed: after
		// a rename there is nothing left to remove (this is on every commit's
		// path, so no failing unlink there).
		os.Remove(tmp.Name())
	}
	return err
}

// Seen is what a witness held when it was read (Witness.Seen).
type Seen struct {
	h    *head
	err  error
	path string
}

// valid is the head seen when there is one and it is tagged under key
// (nil otherwise: see Check).
func (s Seen) valid(key []byte) *head {
	if s.err != nil || s.h == nil || !s.h.valid(key) {
		return nil
	}
	return s.h
}

// Seen reads the witness, with what this process holds back, for Check.
// Read it before the transaction Check is given begins: every record it
// names was committed before it was written, so that transaction's
// snapshot holds it. Read inside, it could name a record another process
// committed after the snapshot, which would seem removed.
func (w Witness) Seen() Seen {
	// What this process holds back is part of its witness.
	_ = w.Flush()
	h, err := w.read()
	return Seen{h: h, err: err, path: w.Path}
}

// Held is Seen for a write transaction's check (Tail.Witnessed): the
// record this process holds back (NoteSoon), taken as it is without
// reading or writing the file — Seen would write the file before every
// transaction of a busy server — else the file. Either names a record
// this host appended, which the log must still hold. Read it before the
// transaction begins, as Seen.
func (w Witness) Held() Seen {
	if w.Path == "" {
		return NoWitness()
	}
	// A record this process holds back (NoteSoon) is newer than what it
	// wrote to the file: a busy server checks against it without reading
	// the file before every transaction.
	soon.mu.Lock()
	if s := soon.m[w.Path]; s != nil && s.rec != nil {
		h := newHead(s.key, s.rec.Seq, s.rec.chainMAC, s.rec.clock, 0)
		seen := Seen{h: &h, path: w.Path}
		soon.mu.Unlock()
		return seen
	}
	soon.mu.Unlock()
	h, err := w.read()
	return Seen{h: h, err: err, path: w.Path}
}

// Reset forgets the witness (the file, and what this process holds
// back): for a restore, which puts a log in place on purpose, in an empty
// store whose earlier log the witness described. The restore's own record
// is then noted as the first.
func (w Witness) Reset() error {
	soon.mu.Lock()
	s := soon.m[w.Path]
	if s != nil {
		s.key, s.rec = nil, nil
		if s.timer != nil {
			s.timer.Stop()
			s.timer = nil
		}
	}
	soon.mu.Unlock()
	if s != nil {
		// A write under way ends before the file is removed.
		s.write.Lock()
		defer s.write.Unlock()
	}
	if err := os.Remove(w.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// NoWitness is Seen for a check that has no witness to compare with (a
// restore's check of the records it just copied).
func NoWitness() Seen { return Seen{err: os.ErrNotExist} }

// Check compares the store's chain, as tx sees it, with the witness as
// seen before tx began: nil when the chain holds the witnessed record at
// its place (or there is no witness), or when a restore made since this
// host wrote it explains its loss (see restoredSince: the host's next
// change accepts the restored log and records that).
func (w Witness) Check(tx localstore.Tx, key []byte, seen Seen) (*Problem, error) {
	h := seen.valid(key)
	if h == nil {
		// None, or written under another master key (the key was rotated since) or
		// damaged: it proves nothing either way, and the next change of
		// this host writes it anew. Only this host can write the file, so
		// someone with database access alone cannot make it so.
		return nil, nil
	}
	rows, err := tx.ListAudit(h.Seq-1, 1)
	if err != nil {
		return nil, err
	}
	if len(rows) > 0 && rows[0].Seq == h.Seq && hmac.Equal(rows[0].MAC, h.MAC) {
		return nil, nil
	}
	if rs, err := restoredSinceIn(tx, key, h); err != nil || rs != nil {
		return nil, err
	}
	// The verify commands are what an operator runs first: they say what
	// a write's refusal says (rolledBack) about a restore made on purpose.
	onPurpose := fmt.Sprintf(" (if the vault's database was put back from a copy on purpose, remove %s on this host to accept the log as it is now)", w.Path)
	if len(rows) == 0 || rows[0].Seq != h.Seq {
		return &Problem{Seq: h.Seq, Msg: fmt.Sprintf("removed: this host appended record %d, which the log no longer holds", h.Seq) + onPurpose}, nil
	}
	return &Problem{Seq: h.Seq, Msg: "replaced: the log holds a different record where this host appended one" + onPurpose}, nil
}

// restoredSinceIn is restoredSince for a check that has not read the
// log's end and head (nil when they do not agree: Verify reports that).
func restoredSinceIn(tx localstore.Tx, key []byte, w *head) (*restored, error) {
	if !w.clocked(key) {
		return nil, nil
	}
	last, err := tx.LastAudit()
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	hd, err := checkHead(tx, key, last)
	var e *errs.Error
	if errors.As(err, &e) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return restoredSince(tx, key, w, hd, last)
}
