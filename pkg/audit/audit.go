// Package audit is certctl's record of who changed what (the CloudTrail
// analogue, SPEC "audit"): one record per change, appended in the same
// transaction as the change, each chained to the record before it by an
// HMAC under a key derived from the vault's master key, so that someone who
// can write the database but does not hold the master key cannot alter,
// remove or insert a record without Verify noticing.
//
// Chain: mac(n) = HMAC-SHA256(K, mac(n-1) ‖ seq(n) ‖ time(n) ‖ data(n)),
// with mac(0) empty. The head (the last seq and its mac) is also kept,
// under its own HMAC, in the store's meta table, so that dropping the
// newest records is noticed too.
package audit

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// Actor types.
const (
	ActorUser        = "USER"
	ActorACMEAccount = "ACME_ACCOUNT"
	ActorScheduler   = "SCHEDULER"
)

// Outcomes.
const (
	OutcomeSuccess = "SUCCESS"
	OutcomeFailure = "FAILURE"
)

// Actor is who made a change: a person at a shell (the OS user), an ACME
// account, or the renewal scheduler; Host is the machine it ran on.
type Actor struct {
	Type string `json:"Type"`
	ID   string `json:"Id"`
	Host string `json:"Host,omitempty"`
}

// Record is one audit record, as `certctl audit list` prints it.
type Record struct {
	EventID           string         `json:"EventId"`
	EventTime         string         `json:"EventTime"`
	EventName         string         `json:"EventName"`
	Actor             Actor          `json:"Actor"`
	Resources         []string       `json:"Resources"`
	Outcome           string         `json:"Outcome"`
	ErrorCode         string         `json:"ErrorCode,omitempty"`
	ErrorMessage      string         `json:"ErrorMessage,omitempty"`
	RequestParameters map[string]any `json:"RequestParameters"`
	// Seq is the record's place in the chain (not part of the stored JSON).
	Seq int64 `json:"-"`
	// chainMAC is the record's HMAC once appended (for the witness).
	chainMAC []byte
	// clock is the chain's clock once the record was appended (see head;
	// 0 when the chain keeps none): the witness keeps it.
	clock int64
	// rebased is set on the records of a transaction that accepted a log
	// restored since this host's witness was written (see
	// checkWitnessed): the witness takes them although it names a record
	// further on, which the restored log no longer holds.
	rebased bool
}

// Rebased reports whether r was appended after its transaction accepted
// a log restored since this host last wrote: the witness must take it
// even though it names a later record of the log before the restore.
func (r *Record) Rebased() bool { return r != nil && r.rebased }

// RestoreEvent is the name of the record vault restore appends to the log
// it puts in place, and AcceptRestoreEvent the record a host appends when
// it accepts such a log although its witness names a record the restore
// removed.
const (
	RestoreEvent       = "RestoreVault"
	AcceptRestoreEvent = "AcceptRestoredAuditLog"
)

// headKey is the meta key of the chain's head.
const headKey = "audit.head"

// secretParam matches parameter names whose values are never recorded.
var secretParam = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)(passphrase|password|secret|mac.?key|private.?key|hmac|pin|approval.?code|^code$|token.?value)`)
}) // compiled on first use, not at start-up

// secretWords and secretPairs are secretParam for an ASCII name, checked
// without the regular expression, which cost a request more instructions
// than the rest of its audit record: the words whose presence (any case)
// keeps a value out of the record, and the pairs of words that do so next
// to each other or with one character between them (macKey, mac_key,
// private-key, approvalCode, token.value). FuzzSecretName keeps them equal
// to the expression.
var (
	secretWords = []string{"passphrase", "password", "secret", "hmac", "pin"}
	secretPairs = [][2]string{{"mac", "key"}, {"private", "key"}, {"approval", "code"}, {"token", "value"}}
)

// secretName reports whether a parameter named name is never recorded.
func secretName(name string) bool {
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			// Unicode case folding (ſ is s, K is k): the expression.
			return secretParam().MatchString(name)
		}
	}
	n := strings.ToLower(name)
	if n == "code" {
		return true
	}
	for _, w := range secretWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	for _, p := range secretPairs {
		if nearby(n, p[0], p[1]) {
			return true
		}
	}
	return false
}

// nearby reports whether the ASCII s holds a followed by b, directly or
// with one character (not a newline) between them.
func nearby(s, a, b string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], a)
		if j < 0 {
			return false
		}
		rest := s[i+j+len(a):]
		if strings.HasPrefix(rest, b) {
			return true
		}
		if rest != "" && rest[0] != '\n' && strings.HasPrefix(rest[1:], b) {
			return true
		}
		i += j + 1
	}
}

// secretNames caches secretName's verdict on each parameter name seen
// (mostly the fixed names of the code's Param calls; names inside nested
// values come from input, so the cache stops growing at secretNamesMax).
var (
	secretNames     sync.Map
	secretNamesSize atomic.Int32
)

const secretNamesMax = 4096

// isSecret reports whether a parameter named name is never recorded.
func isSecret(name string) bool {
	if v, ok := secretNames.Load(name); ok {
		return v.(bool)
	}
	secret := secretName(name)
	if len(name) <= 64 && secretNamesSize.Add(1) <= secretNamesMax {
		secretNames.Store(name, secret)
	}
	return secret
}

// Redacted replaces a secret parameter's value.
const Redacted = "HIDDEN_DUE_TO_SECURITY_REASONS"

// Scrub returns params with the values of secret-looking names replaced,
// at any depth (inside maps, lists and structs, which it reads in their
// JSON form), so that no key, passphrase, MAC key or approval code reaches
// the log even if a caller passes one by mistake. params is not changed.
func Scrub(params map[string]any) map[string]any {
	if params == nil {
		return map[string]any{}
	}
	if out, ok := scrubKnown(params); ok {
		// Values whose JSON form is known without encoding them (flat
		// parameters, a request's Options and Tags): scrubbed as they
		// are, not through a JSON round trip that cost more than the
		// rest of the record.
		return out.(map[string]any)
	}
	return scrubGeneric(params)
}

// scrubGeneric is Scrub through the parameters' JSON form, for values
// whose JSON scrubKnown cannot tell: structs, pointers, other types.
func scrubGeneric(params map[string]any) map[string]any {
	var generic map[string]any
	if b, err := json.Marshal(params); err == nil {
		// Numbers are kept as their JSON text (json.Number), so that an
		// integer beyond 2^53 is recorded exactly, as scrubKnown keeps
		// it, not rounded through a float64.
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if d.Decode(&generic) == nil {
			return scrubValue(generic).(map[string]any)
		}
	}
	// Not JSON (Append fails on it anyway): scrub what can be seen.
	out := make(map[string]any, len(params))
	for k, v := range params {
		if isSecret(k) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

// scrubKnown is v scrubbed as scrubGeneric would scrub it — a copy, v
// untouched — when v is made only of values whose JSON is the same
// before and after that round trip: nil, booleans, finite float64s,
// ints and int64s, valid UTF-8 strings, tags, and maps (of string keys)
// and lists of these. ok is false for anything else, which scrubGeneric
// then takes: a struct's JSON names are not its Go names and invalid
// UTF-8 comes back replaced, and the stored record keeps what the round
// trip gives.
func scrubKnown(v any) (out any, ok bool) {
	switch t := v.(type) {
	case nil, bool:
		return v, true
	case string:
		return v, utf8.ValidString(t)
	case float64:
		return v, !math.IsInf(t, 0) && !math.IsNaN(t)
	case int, int64:
		return v, true
	case []string:
		for _, s := range t {
			if !utf8.ValidString(s) {
				return nil, false
			}
		}
		return v, true
	case []localstore.Tag:
		// A tag's JSON names (Key, Value) are in the order the round
		// trip's map sorts them into; its key and value are data.
		for _, tag := range t {
			if !utf8.ValidString(tag.Key) || !utf8.ValidString(tag.Value) {
				return nil, false
			}
		}
		return v, true
	case map[string]any:
		if t == nil {
			return v, true
		}
		m := make(map[string]any, len(t))
		for k, x := range t {
			if !utf8.ValidString(k) {
				return nil, false
			}
			if isSecret(k) {
				m[k] = Redacted
				continue
			}
			if m[k], ok = scrubKnown(x); !ok {
				return nil, false
			}
		}
		return m, true
	case []any:
		if t == nil {
			return v, true
		}
		l := make([]any, len(t))
		for i, x := range t {
			if l[i], ok = scrubKnown(x); !ok {
				return nil, false
			}
		}
		return l, true
	case []map[string]any:
		if t == nil {
			return v, true
		}
		l := make([]map[string]any, len(t))
		for i, x := range t {
			y, ok := scrubKnown(x)
			if !ok {
				return nil, false
			}
			l[i] = y.(map[string]any)
		}
		return l, true
	}
	return nil, false
}

// scrubValue scrubs a value of the JSON form in place and returns it.
func scrubValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if isSecret(k) {
				t[k] = Redacted
				continue
			}
			t[k] = scrubValue(x)
		}
	case []any:
		for i, x := range t {
			t[i] = scrubValue(x)
		}
	}
	return v
}

func mac(key, prev []byte, seq int64, at time.Time, data []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(prev)
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(seq))
	binary.BigEndian.PutUint64(b[8:], uint64(at.UnixNano()))
	h.Write(b[:])
	h.Write(data)
	return h.Sum(nil)
}

// head names the end of the chain: in the store's meta table (its head)
// and in a host's witness file.
//
// Clock and Restore, under their own tag Mark (Tag keeps the form older
// versions of certctl check, so they still accept the head), are what a
// host needs to tell a deliberate restore from a rollback (checkWitnessed):
// Clock is the latest time any record of the chain claims, up to and
// including the one the head names (Unix nanoseconds), and Restore the
// place of the chain's newest RestoreVault record (0: none). The head of a
// chain whose clock is not known in full (written by an older certctl, or
// with its Mark taken off) has no Mark, and neither have the heads written
// after it until a restore or a key rotation, which read the whole chain,
// work it out again. A witness keeps the chain's clock at the record it
// names (its Restore is 0); one without a Mark (an older file, or a chain
// without a clock) is never taken as explained by a restore.
type head struct {
	Seq     int64  `json:"seq"`
	MAC     []byte `json:"mac"`
	Tag     []byte `json:"tag"`
	Clock   int64  `json:"clock,omitempty"`
	Restore int64  `json:"restore,omitempty"`
	Mark    []byte `json:"mark,omitempty"`
}

func headTag(key []byte, seq int64, m []byte) []byte {
	return mac(key, []byte("certctl audit head"), seq, time.Unix(0, 0), m)
}

func markTag(key []byte, seq int64, m []byte, clock, restore int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(restore))
	return mac(key, []byte("certctl audit head clock"), seq, time.Unix(0, clock), append(b[:], m...))
}

// newHead is the head naming record seq (with HMAC m) of a chain whose
// clock and newest restore are clock and restore (clock 0: not known).
func newHead(key []byte, seq int64, m []byte, clock, restore int64) head {
	h := head{Seq: seq, MAC: m, Tag: headTag(key, seq, m)}
	if clock > 0 {
		h.Clock, h.Restore, h.Mark = clock, restore, markTag(key, seq, m, clock, restore)
	}
	return h
}

// valid reports whether h is tagged under key.
func (h *head) valid(key []byte) bool {
	return hmac.Equal(h.Tag, headTag(key, h.Seq, h.MAC))
}

// clocked reports whether h (valid) carries a clock tagged under key.
func (h *head) clocked(key []byte) bool {
	return h.Clock > 0 && len(h.Mark) > 0 && hmac.Equal(h.Mark, markTag(key, h.Seq, h.MAC, h.Clock, h.Restore))
}

// Append adds r to the log in tx, chained to the newest record. It fills
// EventID and EventTime and scrubs the parameters. It checks the log's
// end against its head, not against a host's witness: a change of the
// vault appends through a Tail that carries it (AppendAfter).
func Append(tx localstore.Tx, key []byte, r *Record, at time.Time) error {
	return AppendAfter(tx, key, r, at, nil)
}

// Tail is the end of the chain as a transaction has seen it: appends that
// follow one another in one transaction (a batch of changes) pass the same
// Tail, so that only the first reads and checks the log's end, and the
// chain's head is written once, by Flush, which the transaction calls
// before it commits.
type Tail struct {
	// Witnessed is this host's witness of the chain as read before the
	// transaction began (Witness.Held): the first append refuses a log
	// that does not pass through the record it names. The zero value
	// checks nothing (no witness).
	Witnessed Seen

	known bool
	dirty bool // appended since the head was written
	seq   int64
	mac   []byte
	// clocked: the chain's clock is known (see head); clock and restore
	// are then the chain's.
	clocked bool
	clock   int64
	restore int64
	// rebased: this transaction accepted a restored log (checkWitnessed).
	rebased bool
}

// Flush writes the chain's head after the appends made through t (nothing
// when there were none). A transaction that appends with a Tail must call
// it before committing: otherwise the next append refuses the log, whose
// end no longer matches its head.
func (t *Tail) Flush(tx localstore.Tx, key []byte) error {
	if t == nil || !t.dirty {
		return nil
	}
	t.dirty = false
	hd, _ := json.Marshal(newHead(key, t.seq, t.mac, t.clock, t.restore))
	return tx.PutMeta(headKey, hd)
}

// AppendAfter is Append continuing from tail when tail knows the end of
// the chain in tx (nil: read it). With a tail, the head is left to
// tail.Flush.
func AppendAfter(tx localstore.Tx, key []byte, r *Record, at time.Time, tail *Tail) error {
	if len(key) == 0 {
		return errors.New("audit: no chain key")
	}
	t := tail
	if t == nil {
		t = &Tail{}
	}
	if !t.known {
		if err := t.load(tx, key, r, at); err != nil {
			return err
		}
	}
	if err := t.append(tx, key, r, at); err != nil {
		return err
	}
	if tail == nil {
		return t.Flush(tx, key)
	}
	return nil
}

// load reads the end of the chain in tx and checks it against the head
// and this host's witness. When the witness names a record that a restore
// made since removed, the acceptance is recorded first, in r's actor's
// name, before r.
func (t *Tail) load(tx localstore.Tx, key []byte, r *Record, at time.Time) error {
	rs, err := t.read(tx, key)
	if err != nil || rs == nil {
		return err
	}
	t.rebased = true
	return t.append(tx, key, &Record{EventName: AcceptRestoreEvent, Actor: r.Actor, Outcome: OutcomeSuccess,
		RequestParameters: map[string]any{
			"RestoreRecord":   rs.seq,
			"RestoredAt":      rs.at.UTC().Format(time.RFC3339Nano),
			"WitnessedRecord": rs.witnessed,
		}}, at)
}

// CheckEnd checks the end of the chain in tx as the first append of a
// change would (its head, and this host's witness seen), writing nothing:
// an error when no change could be recorded now. What is handed out
// before its record is written (a key export) checks it first, so that
// a log cut or rolled back outside certctl refuses the export instead of
// letting the key out unrecorded (tester).
func CheckEnd(tx localstore.Tx, key []byte, seen Seen) error {
	_, err := (&Tail{Witnessed: seen}).read(tx, key)
	return err
}

// read reads the end of the chain in tx and checks it against the head
// and the witness t carries, and returns the restore the witness names
// when one removed the record it names (load records its acceptance).
func (t *Tail) read(tx localstore.Tx, key []byte) (*restored, error) {
	last, err := lastRecord(tx)
	if err != nil {
		return nil, err
	}
	hd, err := checkHead(tx, key, last)
	if err != nil {
		return nil, err
	}
	if last != nil {
		t.seq, t.mac = last.Seq, last.MAC
	}
	switch {
	case hd == nil:
		// An empty log: its clock is known in full from its first record.
		t.clocked = true
	case hd.clocked(key):
		t.clocked, t.clock, t.restore = true, hd.Clock, hd.Restore
	}
	rs, err := checkWitnessed(tx, key, last, t.Witnessed, hd)
	if err != nil {
		return nil, err
	}
	t.known = true
	return rs, nil
}

// append adds r after the end of the chain t knows.
func (t *Tail) append(tx localstore.Tx, key []byte, r *Record, at time.Time) error {
	at = at.UTC()
	if r.EventID == "" {
		r.EventID = uuid.NewString()
	}
	r.EventTime = at.Format(time.RFC3339Nano)
	r.RequestParameters = Scrub(r.RequestParameters)
	if r.Resources == nil {
		r.Resources = []string{}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	seq := t.seq + 1
	m := mac(key, t.mac, seq, at, data)
	if err := tx.AppendAudit(localstore.AuditRow{Seq: seq, Time: at, Data: data, MAC: m}); err != nil {
		return err
	}
	restore := isRestore(r)
	if restore && !t.clocked {
		// A restore has just put the whole log in place: reading it once
		// gives the chain a clock again (see head).
		clock, newest, err := chainClock(tx, seq-1)
		if err != nil {
			return err
		}
		t.clocked, t.clock, t.restore = true, clock, newest
	}
	if t.clocked {
		t.clock = max(t.clock, at.UnixNano())
		if restore {
			t.restore = seq
		}
		r.clock = t.clock
	}
	r.Seq, r.chainMAC, r.rebased = seq, m, t.rebased
	t.known, t.dirty, t.seq, t.mac = true, true, seq, m
	return nil
}

// isRestore reports whether the record r is a restore's own.
func isRestore(r *Record) bool {
	return r.EventName == RestoreEvent && r.Outcome == OutcomeSuccess
}

// chainClock reads the records up to seq end and returns the latest time
// they claim and the place of the newest restore record among them.
func chainClock(tx localstore.Tx, end int64) (clock, restore int64, err error) {
	var after int64 = math.MinInt64
	for {
		rows, err := tx.ListAudit(after, verifyBatch)
		if err != nil {
			return 0, 0, err
		}
		for _, row := range rows {
			if row.Seq > end {
				return clock, restore, nil
			}
			clock = max(clock, row.Time.UnixNano())
			if r, err := Decode(row); err == nil && isRestore(r) {
				restore = row.Seq
			}
			after = row.Seq
		}
		if len(rows) < verifyBatch {
			return clock, restore, nil
		}
	}
}

// checkHead refuses to extend a log whose newest record is not the head
// the store keeps: chaining onto it would hide records dropped from the
// end (or a record put there) behind a fresh, valid head. It returns the
// head (nil for an empty log without one).
func checkHead(tx localstore.Tx, key []byte, last *localstore.AuditRow) (*head, error) {
	raw, err := tx.GetMeta(headKey)
	if errors.Is(err, localstore.ErrNotFound) {
		if last == nil {
			return nil, nil
		}
		return nil, brokenEnd("the log has records but no head")
	}
	if err != nil {
		return nil, err
	}
	var h head
	if json.Unmarshal(raw, &h) != nil || !h.valid(key) {
		return nil, brokenEnd("its head was altered")
	}
	switch {
	case last == nil:
		return nil, brokenEnd(fmt.Sprintf("the log is empty but its head is record %d", h.Seq))
	case last.Seq != h.Seq || !hmac.Equal(last.MAC, h.MAC):
		return nil, brokenEnd(fmt.Sprintf("the log ends at record %d but its head is record %d", last.Seq, h.Seq))
	}
	return &h, nil
}

// Reanchor makes the chain's head name the log's newest record as it is,
// when it does not (the log's end was cut or changed outside certctl),
// and says what it accepted ("" when the head already named the end):
// for vault restore --allow-damaged, whose operator asked for a damaged
// log as it is — its own record is appended after it, naming the damage
// accepted — where the append was refused and left a vault directory
// with a key and no database (tester). The records themselves are not
// changed: audit verify still finds any altered one.
func Reanchor(tx localstore.BulkTx, key []byte) (string, error) {
	last, err := lastRecord(tx)
	if err != nil {
		return "", err
	}
	_, err = checkHead(tx, key, last)
	var e *endError
	if err == nil || !errors.As(err, &e) {
		return "", err
	}
	if last == nil {
		// An emptied log has no head (checkHead refuses one): the next
		// record starts it again (review: a head of record 0 was
		// refused).
		return e.why, tx.DeleteMeta(headKey)
	}
	seq, m := last.Seq, last.MAC
	clock, restore, err := chainClock(tx, seq)
	if err != nil {
		return "", err
	}
	hd, _ := json.Marshal(newHead(key, seq, m, clock, restore))
	if err := tx.PutMeta(headKey, hd); err != nil {
		return "", err
	}
	return e.why, nil
}

// lastRecord is the log's newest record, nil when it is empty.
func lastRecord(tx localstore.Tx) (*localstore.AuditRow, error) {
	last, err := tx.LastAudit()
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	return last, err
}

// restored is a restore that explains why the log no longer holds the
// record a host's witness names (restoredSince).
type restored struct {
	seq       int64     // the restore's record
	at        time.Time // its time
	witnessed int64     // the record the witness named
}

// checkWitnessed refuses to extend a log that does not pass through the
// record this host's witness names (seen, read before tx began; last is
// the log's newest record, which checkHead found to be its head hd): a
// log that ends before it, or holds another record in its place, was
// rolled back or cut — its database files put back from a copy, its
// newest records dropped with the head saved before them. Chaining onto
// it would make the witness name the new chain and hide the loss from
// audit verify. A witness behind the log is normal (another host's or
// process's appends, a crash before the witness was written): its record
// must still be there, with its MAC. That costs nothing when the witness
// names the head (a host that writes alone), else one read of one record
// by its seq.
//
// The one loss accepted is a restore's (vault restore, by another host of
// a shared store) made after this host last wrote: restoredSince says
// when the log shows one, and the restore is then returned, for the
// caller to record the acceptance.
func checkWitnessed(tx localstore.Tx, key []byte, last *localstore.AuditRow, seen Seen, hd *head) (*restored, error) {
	h := seen.valid(key)
	if h == nil {
		return nil, nil
	}
	var end int64
	if last != nil {
		end = last.Seq
	}
	refuse := func(why string) (*restored, error) {
		rs, err := restoredSince(tx, key, h, hd, last)
		if err != nil || rs != nil {
			return rs, err
		}
		return nil, rolledBack(seen, why)
	}
	if h.Seq > end {
		now := fmt.Sprintf("ends at record %d", end)
		if last == nil {
			now = "is empty"
		}
		return refuse(fmt.Sprintf("this host appended record %d, but the log %s", h.Seq, now))
	}
	at := last
	if last == nil || h.Seq != last.Seq {
		rows, err := tx.ListAudit(h.Seq-1, 1)
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 || rows[0].Seq != h.Seq {
			return refuse(fmt.Sprintf("this host appended record %d, which the log (ending at record %d) no longer holds", h.Seq, end))
		}
		at = &rows[0]
	}
	if !hmac.Equal(at.MAC, h.MAC) {
		return refuse(fmt.Sprintf("the log holds a different record %d from the one this host appended (the log ends at record %d)", h.Seq, end))
	}
	return nil, nil
}

// restoredSince reports whether the log, which no longer holds the record
// the witness w names, is explained by a restore made after the host
// wrote that record: the log's head hd (checked against its last record)
// names the chain's newest restore record, which must be a RestoreVault
// record, chained under key from the record before it to the head (so a
// genuine restore record put into an older copy of the log does not pass),
// and claim a later time than the chain's clock at the record w names.
//
// Why that tells a restore from a rollback: the witness's clock is the
// latest time any record of the chain up to the witnessed record claims,
// restore records included, so no restore the host's chain had been
// through — none that a copy of the log taken before the host wrote can
// hold — claims a later time, whatever the clocks of the hosts that made
// them; a genuine restore made later claims one, unless its host's clock
// lags, and then the loss is refused as before (never accepted wrongly).
// Nil when the witness or the head keeps no clock (older files and heads,
// see head): the loss is refused as before.
func restoredSince(tx localstore.Tx, key []byte, w, hd *head, last *localstore.AuditRow) (*restored, error) {
	if hd == nil || last == nil || !w.clocked(key) || !hd.clocked(key) || hd.Restore < 1 || hd.Restore > last.Seq {
		return nil, nil
	}
	var prev []byte
	if hd.Restore > 1 {
		rows, err := tx.ListAudit(hd.Restore-2, 1)
		if err != nil || len(rows) == 0 || rows[0].Seq != hd.Restore-1 {
			return nil, err
		}
		prev = rows[0].MAC
	}
	var rs *restored
	for want := hd.Restore; want <= last.Seq; {
		rows, err := tx.ListAudit(want-1, verifyBatch)
		if err != nil || len(rows) == 0 {
			return nil, err
		}
		for _, row := range rows {
			if row.Seq != want || !hmac.Equal(row.MAC, mac(key, prev, row.Seq, row.Time, row.Data)) {
				return nil, nil
			}
			if row.Seq == hd.Restore {
				r, err := Decode(row)
				if err != nil || !isRestore(r) || row.Time.UnixNano() <= w.Clock {
					return nil, nil
				}
				rs = &restored{seq: row.Seq, at: row.Time, witnessed: w.Seq}
			}
			prev = row.MAC
			if want++; want > last.Seq {
				break
			}
		}
	}
	if rs == nil || !hmac.Equal(prev, hd.MAC) {
		return nil, nil
	}
	return rs, nil
}

// rolledBack is the refusal of checkWitnessed.
func rolledBack(seen Seen, why string) error {
	return (&errs.Error{Exit: errs.ExitVaultUnavailable, Code: "AuditChainBroken",
		Msg: "the audit log was rolled back or cut outside certctl (" + why + "); no change is made until it is repaired"}).
		WithHint("run certctl audit verify to see where; if the vault's database was restored from a copy on purpose, remove %s to accept the log as it is now (certctl vault restore does that for the host that restores, and the other hosts sharing the store accept by themselves a log vault restore put in place after they last wrote)", seen.path)
}

func brokenEnd(why string) error {
	return &endError{why: why, err: (&errs.Error{Exit: errs.ExitVaultUnavailable, Code: "AuditChainBroken",
		Msg: "the audit log's end was changed outside certctl (" + why + "); no change is made until it is repaired"}).
		WithHint("run certctl audit verify to see where")}
}

// endError is brokenEnd's error, which says why the log's end does not
// match its head (for Reanchor).
type endError struct {
	why string
	err *errs.Error
}

func (e *endError) Error() string { return e.err.Error() }
func (e *endError) Unwrap() error { return e.err }

// Decode parses a stored record.
func Decode(row localstore.AuditRow) (*Record, error) {
	r := &Record{}
	if err := json.Unmarshal(row.Data, r); err != nil {
		return nil, err
	}
	r.Seq = row.Seq
	return r, nil
}

// Problem is the first break Verify found in the chain.
type Problem struct {
	Seq     int64
	EventID string
	Msg     string
	// Replaced is set when the log holds another record where this host
	// appended one (Witness.Check): the chain is whole through it, so
	// the records before it may have been replaced too.
	Replaced bool
}

func (p *Problem) Error() string {
	if p.EventID != "" {
		return fmt.Sprintf("audit record %d (%s): %s", p.Seq, p.EventID, p.Msg)
	}
	return fmt.Sprintf("audit record %d: %s", p.Seq, p.Msg)
}

// verifyBatch is how many records Verify reads at a time.
const verifyBatch = 2000

// Verify walks the whole chain and returns the first record that was
// altered, removed or inserted (nil when the chain is whole), and how many
// records it checked.
func Verify(tx localstore.Tx, key []byte) (int64, *Problem, error) {
	var prev []byte
	var want int64 = 1
	// The chain's clock and newest restore, to compare with its head's.
	var clock, restore int64
	// From the lowest seq there can be: a row put below 1 is inserted too.
	var after int64 = math.MinInt64
	for {
		rows, err := tx.ListAudit(after, verifyBatch)
		if err != nil {
			return want - 1, nil, err
		}
		for _, row := range rows {
			id := ""
			if r, err := Decode(row); err == nil {
				id = r.EventID
			}
			if row.Seq != want {
				if row.Seq > want {
					// Either the records between were removed or this one
					// was put here: the chain cannot tell which.
					return want - 1, &Problem{Seq: want, Msg: fmt.Sprintf("removed, or a record inserted after it: record %d (%s) follows record %d", row.Seq, id, want-1)}, nil
				}
				return want - 1, &Problem{Seq: row.Seq, EventID: id, Msg: "inserted (out of sequence)"}, nil
			}
			if !hmac.Equal(row.MAC, mac(key, prev, row.Seq, row.Time, row.Data)) {
				msg := "altered: its HMAC does not match its content"
				// A record made up and chained by someone without the key
				// fails the same way; say both.
				if len(prev) > 0 || row.Seq == 1 {
					msg = "altered or inserted: its HMAC does not match its content and the record before it"
				}
				return want - 1, &Problem{Seq: row.Seq, EventID: id, Msg: msg}, nil
			}
			r, err := Decode(row)
			if err != nil {
				return want - 1, &Problem{Seq: row.Seq, Msg: "unreadable"}, nil
			}
			clock = max(clock, row.Time.UnixNano())
			if isRestore(r) {
				restore = row.Seq
			}
			prev = row.MAC
			want++
			after = row.Seq
		}
		if len(rows) < verifyBatch {
			break
		}
	}
	n := want - 1
	raw, err := tx.GetMeta(headKey)
	if errors.Is(err, localstore.ErrNotFound) {
		if n == 0 {
			return 0, nil, nil
		}
		return n, &Problem{Seq: n, Msg: "the chain's head record is missing"}, nil
	}
	if err != nil {
		return n, nil, err
	}
	var h head
	if json.Unmarshal(raw, &h) != nil || !h.valid(key) {
		return n, &Problem{Seq: n, Msg: "the chain's head record was altered"}, nil
	}
	if h.Seq != n || !hmac.Equal(h.MAC, prev) {
		if h.Seq > n {
			return n, &Problem{Seq: n + 1, Msg: fmt.Sprintf("removed: the log ends at %d but the chain's head is %d", n, h.Seq)}, nil
		}
		return n, &Problem{Seq: h.Seq + 1, Msg: fmt.Sprintf("inserted: the chain's head is %d but the log goes on to %d", h.Seq, n)}, nil
	}
	// A clock on the head is the chain's own: certctl only writes one it
	// knows in full (see head), and only the key holder can tag one.
	if (len(h.Mark) > 0 || h.Clock != 0 || h.Restore != 0) && (!h.clocked(key) || h.Clock != clock || h.Restore != restore) {
		return n, &Problem{Seq: n, Msg: "the chain's head record was altered (its clock is not the chain's)"}, nil
	}
	return n, nil, nil
}

// Filter selects records for List.
type Filter struct {
	Since, Until time.Time
	EventName    string
	Resource     string
	Actor        string
}

// Match reports whether r passes f.
func (f Filter) Match(r *Record, at time.Time) bool {
	if !f.Since.IsZero() && at.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && at.After(f.Until) {
		return false
	}
	if f.EventName != "" && r.EventName != f.EventName {
		return false
	}
	if f.Actor != "" && r.Actor.ID != f.Actor && r.Actor.Type != f.Actor && r.Actor.Host != f.Actor {
		return false
	}
	if f.Resource != "" {
		found := false
		for _, res := range r.Resources {
			if resourceMatches(res, f.Resource) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// resourceMatches reports whether the recorded ARN res is named by arg:
// the ARN itself, a resource under it (an endpoint's account or order), or
// — as everywhere certctl takes an identifier — its UUID or a prefix of
// that UUID of at least 6 characters.
func resourceMatches(res, arg string) bool {
	if res == arg || strings.HasPrefix(res, arg+"/") {
		return true
	}
	if strings.Contains(arg, ":") || len(arg) < 6 {
		return false
	}
	for _, part := range strings.Split(res, "/")[1:] {
		if strings.HasPrefix(part, arg) {
			return true
		}
	}
	return false
}

// List returns the records after afterSeq that pass f, oldest first, at
// most limit (0: all).
func List(tx localstore.Tx, f Filter, afterSeq int64, limit int) ([]*Record, error) {
	var out []*Record
	err := Each(tx, f, afterSeq, limit, func(r *Record) error {
		out = append(out, r)
		return nil
	})
	return out, err
}

// Each calls fn with each record after afterSeq that passes f, oldest
// first (the store lists them by seq), at most limit (0: all), reading
// them verifyBatch at a time; fn's error stops it.
func Each(tx localstore.Tx, f Filter, afterSeq int64, limit int, fn func(*Record) error) error {
	after, n := afterSeq, 0
	for {
		rows, err := tx.ListAudit(after, verifyBatch)
		if err != nil {
			return err
		}
		for _, row := range rows {
			after = row.Seq
			r, err := Decode(row)
			if err != nil {
				continue
			}
			if f.Match(r, row.Time) {
				if err := fn(r); err != nil {
					return err
				}
				if n++; limit > 0 && n >= limit {
					return nil
				}
			}
		}
		if len(rows) < verifyBatch {
			return nil
		}
	}
}
