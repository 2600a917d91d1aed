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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
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
}

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
	if allPlain(params) {
		// Nothing nested to look into: only the names need checking.
		out := make(map[string]any, len(params))
		for k, v := range params {
			if isSecret(k) {
				v = Redacted
			}
			out[k] = v
		}
		return out
	}
	var generic map[string]any
	if b, err := json.Marshal(params); err == nil && json.Unmarshal(b, &generic) == nil {
		return scrubValue(generic).(map[string]any)
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

// allPlain reports whether every value of params is a scalar, a list of
// strings or a list of tags, with no name inside it to scrub (a tag's
// JSON names are Key and Value; its key and value are data, not names).
func allPlain(params map[string]any) bool {
	for _, v := range params {
		switch v.(type) {
		case nil, string, bool, int, int64, float64, []string, []localstore.Tag:
		default:
			return false
		}
	}
	return true
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

type head struct {
	Seq int64  `json:"seq"`
	MAC []byte `json:"mac"`
	Tag []byte `json:"tag"`
}

func headTag(key []byte, seq int64, m []byte) []byte {
	return mac(key, []byte("certctl audit head"), seq, time.Unix(0, 0), m)
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
	return putHead(tx, key, t.seq, t.mac)
}

func putHead(tx localstore.Tx, key []byte, seq int64, m []byte) error {
	hd, _ := json.Marshal(head{Seq: seq, MAC: m, Tag: headTag(key, seq, m)})
	return tx.PutMeta(headKey, hd)
}

// AppendAfter is Append continuing from tail when tail knows the end of
// the chain in tx (nil: read it). With a tail, the head is left to
// tail.Flush.
func AppendAfter(tx localstore.Tx, key []byte, r *Record, at time.Time, tail *Tail) error {
	if len(key) == 0 {
		return errors.New("audit: no chain key")
	}
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
	var prev []byte
	seq := int64(1)
	if tail != nil && tail.known {
		prev, seq = tail.mac, tail.seq+1
	} else {
		last, err := tx.LastAudit()
		switch {
		case err == nil:
			prev, seq = last.MAC, last.Seq+1
		case errors.Is(err, localstore.ErrNotFound):
			last = nil
		default:
			return err
		}
		if err := checkHead(tx, key, last); err != nil {
			return err
		}
		if tail != nil {
			if err := checkWitnessed(tx, key, last, tail.Witnessed); err != nil {
				return err
			}
		}
	}
	m := mac(key, prev, seq, at, data)
	if err := tx.AppendAudit(localstore.AuditRow{Seq: seq, Time: at, Data: data, MAC: m}); err != nil {
		return err
	}
	r.Seq, r.chainMAC = seq, m
	if tail != nil {
		tail.known, tail.dirty, tail.seq, tail.mac = true, true, seq, m
		return nil
	}
	return putHead(tx, key, seq, m)
}

// checkHead refuses to extend a log whose newest record is not the head
// the store keeps: chaining onto it would hide records dropped from the
// end (or a record put there) behind a fresh, valid head.
func checkHead(tx localstore.Tx, key []byte, last *localstore.AuditRow) error {
	raw, err := tx.GetMeta(headKey)
	if errors.Is(err, localstore.ErrNotFound) {
		if last == nil {
			return nil
		}
		return brokenEnd("the log has records but no head")
	}
	if err != nil {
		return err
	}
	var h head
	if json.Unmarshal(raw, &h) != nil || !hmac.Equal(h.Tag, headTag(key, h.Seq, h.MAC)) {
		return brokenEnd("its head was altered")
	}
	switch {
	case last == nil:
		return brokenEnd(fmt.Sprintf("the log is empty but its head is record %d", h.Seq))
	case last.Seq != h.Seq || !hmac.Equal(last.MAC, h.MAC):
		return brokenEnd(fmt.Sprintf("the log ends at record %d but its head is record %d", last.Seq, h.Seq))
	}
	return nil
}

// checkWitnessed refuses to extend a log that does not pass through the
// record this host's witness names (seen, read before tx began; last is
// the log's newest record, which checkHead found to be its head): a log
// that ends before it, or holds another record in its place, was rolled
// back or cut — its database files put back from a copy, its newest
// records dropped with the head saved before them. Chaining onto it would
// make the witness name the new chain and hide the loss from audit
// verify. A witness behind the log is normal (another host's or process's
// appends, a crash before the witness was written): its record must still
// be there, with its MAC. That costs nothing when the witness names the
// head (a host that writes alone), else one read of one record by its seq.
func checkWitnessed(tx localstore.Tx, key []byte, last *localstore.AuditRow, seen Seen) error {
	h := seen.valid(key)
	if h == nil {
		return nil
	}
	var end int64
	if last != nil {
		end = last.Seq
	}
	if h.Seq > end {
		now := fmt.Sprintf("ends at record %d", end)
		if last == nil {
			now = "is empty"
		}
		return rolledBack(seen, fmt.Sprintf("this host appended record %d, but the log %s", h.Seq, now))
	}
	at := last
	if last == nil || h.Seq != last.Seq {
		rows, err := tx.ListAudit(h.Seq-1, 1)
		if err != nil {
			return err
		}
		if len(rows) == 0 || rows[0].Seq != h.Seq {
			return rolledBack(seen, fmt.Sprintf("this host appended record %d, which the log (ending at record %d) no longer holds", h.Seq, end))
		}
		at = &rows[0]
	}
	if !hmac.Equal(at.MAC, h.MAC) {
		return rolledBack(seen, fmt.Sprintf("the log holds another record %d than the one this host appended (the log ends at record %d)", h.Seq, end))
	}
	return nil
}

// rolledBack is the refusal of checkWitnessed.
func rolledBack(seen Seen, why string) error {
	return (&errs.Error{Exit: errs.ExitVaultUnavailable, Code: "AuditChainBroken",
		Msg: "the audit log was rolled back or cut outside certctl (" + why + "); no change is made until it is repaired"}).
		WithHint("run certctl audit verify to see where; if the vault's database was restored from a copy on purpose, remove %s to accept the log as it is now (certctl vault restore does that for the host that restores; every other host sharing the store removes its own)", seen.path)
}

func brokenEnd(why string) error {
	return (&errs.Error{Exit: errs.ExitVaultUnavailable, Code: "AuditChainBroken",
		Msg: "the audit log's end was changed outside certctl (" + why + "); no change is made until it is repaired"}).
		WithHint("run certctl audit verify to see where")
}

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
			if _, err := Decode(row); err != nil {
				return want - 1, &Problem{Seq: row.Seq, Msg: "unreadable"}, nil
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
	if json.Unmarshal(raw, &h) != nil || !hmac.Equal(h.Tag, headTag(key, h.Seq, h.MAC)) {
		return n, &Problem{Seq: n, Msg: "the chain's head record was altered"}, nil
	}
	if h.Seq != n || !hmac.Equal(h.MAC, prev) {
		if h.Seq > n {
			return n, &Problem{Seq: n + 1, Msg: fmt.Sprintf("removed: the log ends at %d but the chain's head is %d", n, h.Seq)}, nil
		}
		return n, &Problem{Seq: h.Seq + 1, Msg: fmt.Sprintf("inserted: the chain's head is %d but the log goes on to %d", h.Seq, n)}, nil
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
	after := afterSeq
	for {
		rows, err := tx.ListAudit(after, verifyBatch)
		if err != nil {
			return nil, err
		}
		for _, row := range rows {
			after = row.Seq
			r, err := Decode(row)
			if err != nil {
				continue
			}
			if f.Match(r, row.Time) {
				out = append(out, r)
				if limit > 0 && len(out) >= limit {
					return out, nil
				}
			}
		}
		if len(rows) < verifyBatch {
			break
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}
