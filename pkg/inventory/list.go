package inventory

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// Query is a list request: the store filter plus what is matched in Go.
type Query struct {
	Filter localstore.CertificateFilter
	// Domains are glob patterns matched against the domain name and SANs.
	Domains []string
	// Tags are K=V (or K) conditions that must all hold.
	Tags []localstore.Tag
	// TagValueGiven tells, per tag, whether a value was given.
	TagValueGiven []bool
	// KeyUsages and ExtendedKeyUsages keep certificates that have one of
	// the usages named (ACM's ListCertificates Includes; see
	// MatchKeyUsage and MatchExtendedKeyUsage).
	KeyUsages, ExtendedKeyUsages []string
	MaxItems                     int
	StartingToken                string
	// statuses, set by List, are the statuses matched in Go.
	statuses []string
	// eligibility, set by List, are the renewal eligibilities matched in Go.
	eligibility []string
	// Now, when set, is the time at which statuses are judged: an ISSUED
	// certificate past its NotAfter is listed, and filtered, as EXPIRED.
	Now time.Time
}

// EffectiveStatus is c's status at now: the stored status, except that an
// ISSUED certificate whose NotAfter has passed is EXPIRED (the store is not
// rewritten when a certificate expires).
func EffectiveStatus(c *localstore.Certificate, now time.Time) string {
	if c.Status == StatusIssued && !c.NotAfter.IsZero() && !now.IsZero() && !now.Before(c.NotAfter) {
		return StatusExpired
	}
	return c.Status
}

// RecordedAs returns the statuses recorded for the certificates that
// EffectiveStatus can judge, at some time, to have one of statuses: each
// of them, and ISSUED for EXPIRED. A store selecting these reads every
// certificate a filter on the judged status can keep (list, search).
func RecordedAs(statuses ...string) []string {
	out := append([]string(nil), statuses...)
	if contains(statuses, StatusExpired) && !contains(statuses, StatusIssued) {
		out = append(out, StatusIssued)
	}
	return out
}

// AsOf brings c's time-dependent fields up to now for display: past its
// NotAfter an ISSUED certificate is EXPIRED and never eligible, even before
// renew --due records it.
func AsOf(c *localstore.Certificate, now time.Time) {
	if st := EffectiveStatus(c, now); st != c.Status {
		c.Status = st
		UpdateEligibility(c, now)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Page is one page of a list: its certificates carry only
// localstore.SummaryFields, Tags and UpdatedAt (what NewSummary and the
// filters read).
type Page struct {
	Certificates []*localstore.Certificate
	NextToken    string
}

// Cursor is what a pagination token holds: the order of the list it was
// made for and the position of the page's last certificate in it — its
// sort key and ID (list) or ARN (search), which orders equal keys. The next
// page starts after that position, so that a certificate added or deleted
// meanwhile moves no other one across the boundary (a page cut at an
// offset would repeat or skip one). Which key field is set depends on the
// sort key: Nanos for a time of a list (the store's key, see
// timeutil.UnixNano), At for a time of a search (exact: search sorts by the
// time itself), Missing when the certificate has none, Text for a string,
// Bool for a boolean. Kind is the command whose token it is (CursorList,
// CursorSearch or CursorCAList): they order what they list differently.
type Cursor struct {
	Kind    string    `json:"k"`
	SortBy  string    `json:"s"`
	Desc    bool      `json:"d,omitempty"`
	Missing bool      `json:"m,omitempty"`
	Nanos   int64     `json:"n,omitempty,string"`
	Text    string    `json:"t,omitempty"`
	Bool    bool      `json:"b,omitempty"`
	At      time.Time `json:"a,omitzero"`
	ID      string    `json:"i"`
}

// The kinds of cursor.
const (
	CursorList   = "list"
	CursorSearch = "search"
	// CursorCAList is a token of `ca list`, whose one order is by CA ID.
	CursorCAList = "ca list"
)

// tokenPrefix marks a token of this form (an offset token of older
// releases starts "o:").
const tokenPrefix = "k1:"

// EncodeCursor makes the pagination token of c.
func EncodeCursor(c Cursor) string {
	b, _ := json.Marshal(c) // a struct of strings, numbers and booleans
	return base64.RawURLEncoding.EncodeToString(append([]byte(tokenPrefix), b...))
}

// DecodeCursor reads a pagination token of kind (CursorList or
// CursorSearch) sorted by sortBy, descending or not; nil for no token. A
// token made for another command or order is refused: its position means
// nothing in this one; so is one whose strings hold a NUL or are not UTF-8
// (no name or ID is, and PostgreSQL refuses them as parameters).
func DecodeCursor(tok, kind, sortBy string, desc bool) (*Cursor, error) {
	if tok == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	rest, ok := bytes.CutPrefix(b, []byte(tokenPrefix))
	var c Cursor
	if err != nil || !ok || json.Unmarshal(rest, &c) != nil || c.ID == "" || !storable(c.ID) || !storable(c.Text) {
		return nil, errs.BadStartingToken(tok)
	}
	if c.Kind != kind {
		return nil, errs.Invalidf("--starting-token is a NextToken of %s, not of %s: give each command its own tokens", kindName(c.Kind), kind)
	}
	if c.SortBy != sortBy || c.Desc != desc {
		return nil, errs.Invalidf("--starting-token belongs to a list sorted by %s %s, not %s %s: give the same --sort-by and --sort-order as for the page before",
			c.SortBy, orderName(c.Desc), sortBy, orderName(desc))
	}
	return &c, nil
}

func kindName(k string) string {
	if k == CursorList || k == CursorSearch || k == CursorCAList {
		return k
	}
	return "another command"
}

// storable reports whether s can be a text parameter of both stores:
// UTF-8 without a NUL.
func storable(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func orderName(desc bool) string {
	if desc {
		return "DESCENDING"
	}
	return "ASCENDING"
}

// listSortBy is a list's sort key, CREATED_AT when none is given.
func listSortBy(f localstore.CertificateFilter) string {
	if f.SortBy == "" {
		return "CREATED_AT"
	}
	return f.SortBy
}

// position is the store position a list's cursor names.
func (c *Cursor) position() (*localstore.Position, error) {
	p := &localstore.Position{ID: c.ID}
	switch {
	case c.SortBy == "DOMAIN_NAME":
		p.Key = c.Text
	case c.SortBy == "NOT_AFTER" && c.Missing:
	case c.SortBy == "NOT_AFTER" || c.SortBy == "CREATED_AT":
		p.Key = c.Nanos
	default:
		return nil, errs.Invalidf("invalid --starting-token: no list is sorted by %s", c.SortBy)
	}
	return p, nil
}

// listCursor is the cursor after p in a list sorted by sortBy.
func listCursor(sortBy string, desc bool, p localstore.Position) Cursor {
	c := Cursor{Kind: CursorList, SortBy: sortBy, Desc: desc, ID: p.ID}
	switch k := p.Key.(type) {
	case nil:
		c.Missing = true
	case int64:
		c.Nanos = k
	case string:
		c.Text = k
	}
	return c
}

func (q *Query) matchesGo(c *localstore.Certificate) bool {
	if len(q.eligibility) > 0 && !contains(q.eligibility, EligibilityOf(c)) {
		return false
	}
	if len(q.statuses) > 0 && !contains(q.statuses, c.Status) {
		return false
	}
	if len(q.Domains) > 0 {
		ok := false
		for _, pat := range q.Domains {
			pat = strings.ToLower(pat)
			if m, _ := path.Match(pat, strings.ToLower(c.DomainName)); m {
				ok = true
			}
			for _, n := range c.SubjectAlternativeNames {
				if m, _ := path.Match(pat, strings.ToLower(n)); m {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	if len(q.KeyUsages) > 0 && !MatchKeyUsage(c, q.KeyUsages) {
		return false
	}
	if len(q.ExtendedKeyUsages) > 0 && !MatchExtendedKeyUsage(c, q.ExtendedKeyUsages) {
		return false
	}
	for i, t := range q.Tags {
		var v *string
		if q.TagValueGiven[i] {
			v = &q.Tags[i].Value
		}
		if !HasTag(c.Tags, t.Key, v) {
			return false
		}
	}
	return true
}

// List runs a list query in tx. ACME-origin certificates are left out
// unless the origin filter names ACME, as in ACM.
func List(tx localstore.Tx, q Query) (*Page, error) {
	p := &Page{}
	var err error
	p.NextToken, err = q.scan(tx, true, false, func(block []*localstore.Certificate) error {
		certs := make([]localstore.Certificate, len(block))
		for i, c := range block {
			certs[i] = *c
			p.Certificates = append(p.Certificates, &certs[i])
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// EachSummary runs a list query in tx as List does and hands emit the
// summaries of its page a block at a time, in order (never an empty
// block), so that a caller that prints them as they come never holds the
// whole page; it returns the page's next token. Unless keep, a block and
// what its summaries point to are reused once emit returns; with keep,
// each block is new and the caller may hold on to it. An error of emit
// ends the scan and is returned.
func EachSummary(tx localstore.Tx, q Query, n Names, keep bool, emit func([]Summary) error) (string, error) {
	r := summaryRenderer{reuse: !keep}
	return q.scan(tx, false, !keep, func(block []*localstore.Certificate) error {
		if keep {
			r = summaryRenderer{}
		}
		return emit(r.render(n, block))
	})
}

// errPageFull ends a scan whose page is complete.
var errPageFull = errors.New("page full")

// scan runs q in tx and calls keep with the certificates of its page, in
// order, a block at a time (the certificates are reused once keep
// returns, and with reuse what they point to as well: see
// localstore.Tx.ScanCertificateSummaries); it
// returns the page's next token, or the first error of keep. Unless
// withTags, the certificates carry Tags and UpdatedAt only when q filters
// on tags.
func (q Query) scan(tx localstore.Tx, withTags, reuse bool, keep func([]*localstore.Certificate) error) (string, error) {
	for _, pat := range q.Domains {
		if _, err := path.Match(pat, ""); err != nil {
			// A bad filter is invalid input (SPEC), as search's san:
			// pattern is (review: 2 here, 4 there).
			return "", errs.Invalidf("invalid --domain pattern %q (*, ? and [...] as in the shell)", pat)
		}
		if a, ok := dnsname.ASCIIPattern(pat); ok {
			// bücher.example matches the names certificates hold,
			// xn--bcher-kva.example, too (tester: it matched nothing).
			q.Domains = append(slices.Clip(q.Domains), a)
		}
	}
	f := q.Filter
	sortBy := listSortBy(f)
	cur, err := DecodeCursor(q.StartingToken, CursorList, sortBy, f.Descending)
	if err != nil {
		return "", err
	}
	if cur != nil {
		if f.After, err = cur.position(); err != nil {
			return "", err
		}
	}
	if len(f.Origins) == 0 {
		f.Origins = []string{OriginVault, OriginImported}
	}
	if contains(f.Eligibility, Ineligible) && !contains(f.Eligibility, "") {
		// A record without an eligibility is shown as INELIGIBLE.
		f.Eligibility = append(append([]string(nil), f.Eligibility...), "")
	}
	q.eligibility = nil
	if !q.Now.IsZero() && len(f.Eligibility) > 0 {
		// Eligibility depends on the time too (expired: INELIGIBLE).
		q.eligibility, f.Eligibility = f.Eligibility, nil
	}
	q.statuses = nil
	if !q.Now.IsZero() && (contains(f.Statuses, StatusIssued) || contains(f.Statuses, StatusExpired)) {
		// ISSUED and EXPIRED depend on the time: select in the store what
		// may be judged so, and the effective status in Go.
		q.statuses = f.Statuses
		f.Statuses = RecordedAs(f.Statuses...)
	}
	goFilter := len(q.Domains) > 0 || len(q.Tags) > 0 || len(q.statuses) > 0 || len(q.eligibility) > 0 ||
		len(q.KeyUsages) > 0 || len(q.ExtendedKeyUsages) > 0
	// Summaries show no tags: read them only to filter on them.
	f.NoTags = !withTags && len(q.Tags) == 0
	if !goFilter && q.MaxItems > 0 {
		f.Limit = q.MaxItems + 1
	}
	kept, more := 0, false
	var last localstore.Position // of the last certificate kept
	var page []*localstore.Certificate
	err = tx.ScanCertificateSummaries(f, reuse, func(block []*localstore.Certificate) error {
		page = page[:0]
		for _, c := range block {
			if !q.Now.IsZero() {
				AsOf(c, q.Now)
			}
			if goFilter && !q.matchesGo(c) {
				continue
			}
			if q.MaxItems > 0 && kept == q.MaxItems {
				more = true
				break
			}
			page = append(page, c)
			kept++
		}
		if len(page) > 0 {
			if q.MaxItems > 0 {
				// Taken now: the block is reused once keep returns.
				last = localstore.PositionOf(page[len(page)-1], sortBy)
			}
			if err := keep(page); err != nil {
				return err
			}
		}
		if more {
			return errPageFull
		}
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		return "", err
	}
	if more {
		return EncodeCursor(listCursor(sortBy, f.Descending, last)), nil
	}
	return "", nil
}
