package audit

import (
	"bytes"
	"crypto/hmac"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/localstore"
)

// WitnessPrefix begins the name of the files in each vault directory where
// a host keeps the newest chain head it appended, one file per store (a
// vault directory may be pointed at another store: each has its own chain;
// localstore.WitnessFileName names them).
const WitnessPrefix = localstore.WitnessPrefix

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

// WitnessOf is this host's witness of the store v opened, named by its
// WitnessIdentity. A witness an earlier release kept under its
// StoreIdentity (the path or URL as given) is renamed to it the first
// time, when none is there yet: the log it witnessed stays witnessed.
//
// The take-over is looked at once a process and witness: WitnessOf is
// called before every write transaction.
func WitnessOf(v *localstore.Vault) Witness {
	w := WitnessIn(v.Dir, v.WitnessIdentity())
	if v.StoreIdentity() == v.WitnessIdentity() {
		return w
	}
	if _, done := adopted.LoadOrStore(w.Path, struct{}{}); !done {
		if _, err := os.Lstat(w.Path); errors.Is(err, os.ErrNotExist) {
			_ = os.Rename(WitnessIn(v.Dir, v.StoreIdentity()).Path, w.Path) // none there: nothing to take over
		}
	}
	return w
}

// adopted holds the witness paths WitnessOf has looked at taking over.
var adopted sync.Map

// WitnessIn is the witness, in the vault directory dir, of the store named
// by storeID (localstore.Vault.WitnessIdentity; see WitnessOf).
func WitnessIn(dir, storeID string) Witness {
	return Witness{Path: filepath.Join(dir, localstore.WitnessFileName(storeID))}
}

// The witness file is written in place, with no temporary file and
// rename (which cost a command a file creation and a rename, and left the
// vault directory for the next command's first sync to write out), and
// without fsync when it moves forward: it holds two slots,
// witnessSlotSize bytes each at offsets 0 and witnessStride, and a write
// replaces, with one pwrite under the file's lock, the slot that does not
// hold the newest head. A crash or a torn write can then damage only the
// slot being replaced: a reader that finds it torn uses the other, which
// holds the head before — a witness behind the store, which is normal
// (see Witness); a write that moves the witness back is synced (set).
// The slots are a page apart, so that writing one never writes the
// other's page or sector out again.
//
// A slot is witnessMagic, the write's number (8 bytes, big-endian), the
// length of the head's JSON (4 bytes), the CRC-32C of all that and the
// JSON (4 bytes), then the JSON, then zeros. The write's number is one
// more than the newest slot's, and the newest write is the one a reader
// uses — not the one naming the highest record: Set (after a migration
// to a store at the place of an earlier one) and a rebased Note move the
// witness back to an earlier record on purpose.
//
// Older releases wrote the witness as one JSON head (renamed into place):
// such a file is read as slot 0, and the first write puts the new head in
// slot 1, the next one over the old head.
const (
	witnessSlotSize = 512
	witnessStride   = 4096
	witnessHeader   = 24
)

var witnessMagic = []byte("certwit2")

// slotCRC is the CRC-32C (crc32.Castagnoli) of a slot's first 20 bytes
// and its JSON, computed a bit at a time: a slot's couple of hundred bytes
// take about 2 µs so, where hash/crc32's first use of the polynomial
// builds its tables for long inputs (on amd64, 2,048 checksums of up to
// 1,344 bytes) — about 0.2 ms of every command that writes the vault.
// TestSlotCRCIsHashCRC32s checks it against hash/crc32.
func slotCRC(header, data []byte) uint32 {
	crc := ^uint32(0)
	for _, p := range [2][]byte{header, data} {
		for _, b := range p {
			crc ^= uint32(b)
			for range 8 {
				crc = crc>>1 ^ crc32.Castagnoli&-(crc&1)
			}
		}
	}
	return ^crc
}

// slot is a head read from one slot of a witness file, with the number of
// the write that put it there (0: the single head of an older release).
type slot struct {
	gen uint64
	h   *head
}

// slots are the heads a witness file holds, by slot (nil: empty, torn or
// garbage).
type slots [2]*slot

// encodeSlot is the slot holding h, written as write number gen.
func encodeSlot(gen uint64, h *head) ([]byte, error) {
	data, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(data) > witnessSlotSize-witnessHeader {
		return nil, fmt.Errorf("audit witness: a head of %d bytes does not fit in a slot", len(data))
	}
	b := make([]byte, witnessSlotSize)
	copy(b, witnessMagic)
	binary.BigEndian.PutUint64(b[8:], gen)
	binary.BigEndian.PutUint32(b[16:], uint32(len(data)))
	copy(b[witnessHeader:], data)
	binary.BigEndian.PutUint32(b[20:], slotCRC(b[:20], data))
	return b, nil
}

// parseSlot reads the head in b, one slot of a witness file (shorter when
// the file ends inside it); legacy accepts an older release's single JSON
// head too (slot 0). ok is false for an empty, torn or garbage slot.
func parseSlot(b []byte, legacy bool) (s slot, ok bool) {
	if len(b) > witnessSlotSize {
		b = b[:witnessSlotSize]
	}
	if bytes.HasPrefix(b, witnessMagic) && len(b) >= witnessHeader {
		n := binary.BigEndian.Uint32(b[16:])
		if n > uint32(len(b)-witnessHeader) {
			return slot{}, false
		}
		data := b[witnessHeader : witnessHeader+int(n)]
		if slotCRC(b[:20], data) != binary.BigEndian.Uint32(b[20:]) {
			return slot{}, false
		}
		var h head
		if json.Unmarshal(data, &h) != nil {
			return slot{}, false
		}
		return slot{gen: binary.BigEndian.Uint64(b[8:]), h: &h}, true
	}
	// An older release's head: one JSON object (no torn write: it was
	// renamed into place), followed by the zeros (or hole) up to slot 1
	// once a write of this release put a head there. A slot 0 this release
	// began to write over it and did not finish is not JSON any more, or
	// is the old head still.
	data := bytes.TrimRight(b, "\x00")
	if !legacy || len(data) == 0 || data[0] != '{' {
		return slot{}, false
	}
	var h head
	if json.Unmarshal(data, &h) != nil {
		return slot{}, false
	}
	return slot{h: &h}, true
}

// parseWitness reads the slots of a witness file's content.
func parseWitness(data []byte) slots {
	var ss slots
	for i := range ss {
		off := i * witnessStride
		if off >= len(data) {
			break
		}
		if s, ok := parseSlot(data[off:min(len(data), off+witnessSlotSize)], i == 0); ok {
			ss[i] = &s
		}
	}
	return ss
}

// newest is the slot holding the newest write that is tagged under key,
// -1 when none. Writes take the file's lock (set), so no two slots hold
// one write number.
func (ss slots) newest(key []byte) int {
	best := -1
	for i, s := range ss {
		if s == nil || !s.h.valid(key) {
			continue
		}
		if best < 0 || s.gen > ss[best].gen {
			best = i
		}
	}
	return best
}

// head is the newest head tagged under key (nil: none).
func (ss slots) head(key []byte) *head {
	if i := ss.newest(key); i >= 0 {
		return ss[i].h
	}
	return nil
}

// readSlots reads the slots of the witness file f.
func readSlots(f io.ReaderAt) (slots, error) {
	buf := make([]byte, witnessStride+witnessSlotSize)
	n, err := f.ReadAt(buf, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return slots{}, err
	}
	return parseWitness(buf[:n]), nil
}

// witnessReads is how many times read reads a file in which no slot
// parses before it takes that for the answer.
const witnessReads = 3

// read reads the witness file's slots, for a check that tells the valid
// head by its key later (Seen.valid). Readers take no lock: one write
// replaces only the slot that does not hold the newest head, but a read
// of both slots is not atomic, so a reader that took slot 0 while one
// write was under way and slot 1 while the next was sees neither; it
// reads again, as a reader that finds the file empty of heads does.
func (w Witness) read() (slots, error) {
	f, err := fsutil.OpenNoFollow(w.Path, os.O_RDONLY, 0)
	if err != nil {
		return slots{}, err
	}
	defer f.Close()
	return readSlotsAgain(f)
}

// readSlotsAgain is readSlots, read again up to witnessReads times while
// no slot parses (see read).
func readSlotsAgain(f io.ReaderAt) (ss slots, err error) {
	for range witnessReads {
		if ss, err = readSlots(f); err != nil || ss[0] != nil || ss[1] != nil {
			break
		}
	}
	return ss, err
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
	return w.set(key, r.Seq, r.chainMAC, r.clock, r.rebased)
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

// Set writes the witness (in place, mode 0600: see witnessSlotSize), after
// what NoteSoon holds back (which it then supersedes), naming record seq
// with HMAC m; it keeps no clock of the chain (see head), so a restore is
// not told from a rollback until this host's next change notes its
// record.
func (w Witness) Set(key []byte, seq int64, m []byte) error {
	if err := w.Flush(); err != nil {
		return err
	}
	return w.set(key, seq, m, 0, true)
}

// set writes the head naming record seq into the witness file, in the
// slot that does not hold the newest head tagged under key — unless, when
// always is false, that head names seq or a later record (Note).
//
// Writers (two commands, a server and a command) take the file's lock
// for the read and the write, so that only the slot that does not hold
// the newest head is ever being written: a write under way never leaves
// the file without a complete head. The lock is the system's on the open
// file (fsutil.LockOpen), released with the descriptor if the process
// dies.
//
// A write that moves the witness back (always: Set after a migration, a
// Note after a restore) is synced: the other slot holds a head of the log
// that is gone, which a crash must not bring back (Check would refuse the
// store as rolled back). A forward write is not: the other slot holds the
// head before, and a witness behind the store is normal (see Witness).
func (w Witness) set(key []byte, seq int64, m []byte, clock int64, always bool) error {
	f, err := w.openForWrite()
	if err != nil {
		return err
	}
	unlock, err := fsutil.LockOpen(f)
	if err == nil {
		err = writeSlot(f, key, seq, m, clock, always)
		if err == nil && always {
			err = f.Sync()
		}
		unlock()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// writeSlot is set's work on the open witness file f.
func writeSlot(f *os.File, key []byte, seq int64, m []byte, clock int64, always bool) error {
	ss, err := readSlots(f)
	if err != nil {
		return err
	}
	cur := ss.newest(key)
	if cur >= 0 && !always && ss[cur].h.Seq >= seq {
		return nil
	}
	// Over the slot that does not hold the newest valid head; with none,
	// over one that holds nothing that parses, if any (a head under
	// another key proves nothing, but costs nothing to keep).
	to := 0
	switch {
	case cur >= 0:
		to = 1 - cur
	case ss[0] != nil && ss[1] == nil:
		to = 1
	}
	var gen uint64
	for _, s := range ss {
		if s != nil && s.gen > gen {
			gen = s.gen
		}
	}
	h := newHead(key, seq, m, clock, 0)
	b, err := encodeSlot(gen+1, &h)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, int64(to*witnessStride))
	return err
}

// openForWrite opens the witness file to read and write it, created mode
// 0600 when missing. A symbolic link in its place (which no certctl
// makes) is replaced by a file, as the rename of older releases did,
// rather than written through.
//
// A file found with a wider mode (copied in, or made by hand) is put back
// to 0600, as the rename of older releases did with every write (on Unix:
// Windows has no such mode bits).
func (w Witness) openForWrite() (*os.File, error) {
	const flag = os.O_RDWR | os.O_CREATE
	f, err := fsutil.OpenNoFollow(w.Path, flag, 0o600)
	if err != nil {
		if fi, lerr := os.Lstat(w.Path); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
			if rerr := os.Remove(w.Path); rerr == nil {
				return fsutil.OpenNoFollow(w.Path, flag|os.O_EXCL, 0o600)
			}
		}
		return nil, err
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&^0o600 != 0 && runtime.GOOS != "windows" {
		if err := f.Chmod(0o600); err != nil {
			f.Close()
			return nil, err
		}
	}
	return f, nil
}

// Seen is what a witness held when it was read (Witness.Seen).
type Seen struct {
	slots slots
	err   error
	path  string
}

// valid is the newest head seen that is tagged under key (nil when there
// is none: see Check). A torn slot (a write under way, or cut by a crash)
// is not seen; the other slot holds the head before.
func (s Seen) valid(key []byte) *head {
	if s.err != nil {
		return nil
	}
	return s.slots.head(key)
}

// CheckNotEmptied refuses (exit 6) a store whose audit log is empty while
// this host's witness (seen, read before tx began) names a record of it:
// its database was deleted, truncated or replaced by a new one outside
// certctl — certctl never empties a log — and a read would show an empty
// vault as if nothing were lost (a cron job's renew --due would report
// success). It needs no key: the witness's record number is taken as it
// is, unauthenticated — a forged witness can only make certctl refuse,
// as removing the database could.
func CheckNotEmptied(tx localstore.Tx, seen Seen) error {
	if seen.err != nil {
		return nil
	}
	var named int64
	for _, sl := range seen.slots {
		if sl != nil && sl.h != nil {
			named = max(named, sl.h.Seq)
		}
	}
	if named == 0 {
		return nil
	}
	if _, err := tx.LastAudit(); !errors.Is(err, localstore.ErrNotFound) {
		return err
	}
	return rolledBack(seen, fmt.Sprintf("the log is empty, and this host last saw its record %d: the vault's database was deleted, truncated or replaced", named))
}

// Record is the record the witness seen names when it is tagged under key
// (0: none).
func (s Seen) Record(key []byte) int64 {
	if h := s.valid(key); h != nil {
		return h.Seq
	}
	return 0
}

// Seen reads the witness, with what this process holds back, for Check.
// Read it before the transaction Check is given begins: every record it
// names was committed before it was written, so that transaction's
// snapshot holds it. Read inside, it could name a record another process
// committed after the snapshot, which would seem removed.
func (w Witness) Seen() Seen {
	// What this process holds back is part of its witness.
	_ = w.Flush()
	ss, err := w.read()
	return Seen{slots: ss, err: err, path: w.Path}
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
		seen := Seen{slots: slots{{h: &h}}, path: w.Path}
		soon.mu.Unlock()
		return seen
	}
	soon.mu.Unlock()
	ss, err := w.read()
	return Seen{slots: ss, err: err, path: w.Path}
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
		// The first record removed: the one after the log's end when
		// the log was cut short (tester: the witnessed record was named
		// though the ones before it were gone too).
		first := h.Seq
		last, err := tx.LastAudit()
		switch {
		case errors.Is(err, localstore.ErrNotFound):
			first = 1
		case err != nil:
			return nil, err
		case last.Seq < h.Seq:
			first = last.Seq + 1
		}
		msg := fmt.Sprintf("removed: this host appended record %d, which the log no longer holds", h.Seq)
		if first < h.Seq {
			msg = fmt.Sprintf("removed: records %d to %d are no longer in the log, which ends at record %d (this host appended record %d)", first, h.Seq, first-1, h.Seq)
		}
		return &Problem{Seq: first, Msg: msg + onPurpose}, nil
	}
	return &Problem{Seq: h.Seq, Msg: "replaced: the log holds a different record where this host appended one" + onPurpose, Replaced: true}, nil
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
