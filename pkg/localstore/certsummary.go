package localstore

import (
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The summary column holds what `list` shows and filters on of a
// certificate (SummaryFields), so that a list never decodes whole records:
// written by PutCertificate beside the record, read by
// ListCertificateSummaries. NULL (a row written before the migration that
// added it): the list decodes the record instead.
//
// Its encoding is compact binary, not JSON (decoding JSON was most of the
// cost of a large list): a version byte, a byte of flags (bit 0: Exported;
// bit 1+i: time i of summaryTimes is present), then every string, list and
// time in a fixed order. A string is its uvarint length and its bytes; a
// list its uvarint count and its strings; a time its varint Unix seconds
// and uvarint nanoseconds.

// summaryVersion is the first byte of every summary this build writes.
const summaryVersion = 1

// summaryTimes are the times of a summary, in order.
func summaryTimes(c *Certificate) [6]*time.Time {
	return [6]*time.Time{&c.NotBefore, &c.NotAfter, &c.CreatedAt, &c.IssuedAt, &c.ImportedAt, &c.RevokedAt}
}

// SummaryFields documents which fields of a Certificate a summary holds;
// ListCertificateSummaries sets these (and Tags, UpdatedAt) and no others.
const SummaryFields = "ID DomainName SubjectAlternativeNames Status Type KeyPairOrigin KeyAlgorithm ExportOption " +
	"RenewalEligibility Exported InUseBy KeyUsages ExtendedKeyUsages NotBefore NotAfter CreatedAt IssuedAt ImportedAt RevokedAt"

// encodeSummary returns the summary column of c.
func encodeSummary(c *Certificate) []byte {
	n := 64 + len(c.ID) + len(c.DomainName)
	for _, s := range c.SubjectAlternativeNames {
		n += len(s) + 2
	}
	b := make([]byte, 0, n)
	var flags byte
	if c.Exported {
		flags |= 1
	}
	times := summaryTimes(c)
	for i, t := range times {
		if !t.IsZero() {
			flags |= 2 << i
		}
	}
	b = append(b, summaryVersion, flags)
	for _, s := range []string{c.ID, c.DomainName, c.Status, c.Type, c.KeyPairOrigin, c.KeyAlgorithm, c.ExportOption, c.RenewalEligibility} {
		b = appendSummaryString(b, s)
	}
	b = appendSummaryList(b, c.SubjectAlternativeNames)
	b = appendSummaryList(b, c.InUseBy)
	b = appendSummaryList(b, c.KeyUsages)
	b = binary.AppendUvarint(b, uint64(len(c.ExtendedKeyUsages)))
	for _, e := range c.ExtendedKeyUsages {
		b = appendSummaryString(b, e.Name)
		b = appendSummaryString(b, e.OID)
	}
	for _, t := range times {
		if !t.IsZero() {
			b = binary.AppendVarint(b, t.Unix())
			b = binary.AppendUvarint(b, uint64(t.Nanosecond()))
		}
	}
	return b
}

func appendSummaryString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendSummaryList(b []byte, l []string) []byte {
	b = binary.AppendUvarint(b, uint64(len(l)))
	for _, s := range l {
		b = appendSummaryString(b, s)
	}
	return b
}

var errSummary = errors.New("malformed certificate summary")

// summaryReader reads the parts of a summary; the first error sticks. It
// reads a string copy of the summary, so that every string it returns
// shares that one allocation; its lists come from arena.
type summaryReader struct {
	s     string
	err   error
	arena *summaryArena
}

// summaryArena hands out the lists of decoded summaries from arrays
// shared by many (a nil arena makes each list its own). What it has
// handed out it hands out again only after reset, which only an arena
// that reuses does.
type summaryArena struct {
	strs  []string
	ekus  []EKU
	reuse bool
}

// strings returns a list of n strings.
func (a *summaryArena) strings(n int) []string {
	if a == nil {
		return make([]string, n)
	}
	return take(&a.strs, n, 4*summaryBlock, a.reuse)
}

// ekuList returns a list of n EKUs.
func (a *summaryArena) ekuList(n int) []EKU {
	if a == nil {
		return make([]EKU, n)
	}
	return take(&a.ekus, n, 2*summaryBlock, a.reuse)
}

// reset hands out the arena's newest arrays again from their start, when
// it reuses (the lists handed out so far are no longer used).
func (a *summaryArena) reset() {
	if a.reuse {
		a.strs, a.ekus = a.strs[:0], a.ekus[:0]
	}
}

// take returns n zero elements of the array of *buf after those it holds
// (its length), making a new array first when they do not fit: of chunk
// elements or n, or, when the array is reused, at least twice the full
// one's (so that it soon holds what a block needs). Lists handed out
// before stay valid in the old array.
func take[T any](buf *[]T, n, chunk int, reuse bool) []T {
	b := *buf
	if cap(b)-len(b) < n {
		size := max(n, chunk)
		if reuse {
			size = max(size, 2*cap(b))
		}
		b = make([]T, 0, size)
	}
	l := b[len(b) : len(b)+n : len(b)+n]
	clear(l)
	*buf = b[:len(b)+n]
	return l
}

func (r *summaryReader) uvarint() uint64 {
	var v uint64
	for i := 0; i < len(r.s) && i < binary.MaxVarintLen64; i++ {
		c := r.s[i]
		if i == binary.MaxVarintLen64-1 && c > 1 {
			break // overflows 64 bits
		}
		v |= uint64(c&0x7f) << (7 * i)
		if c == 0 && i > 0 {
			break // not minimal: the encoder never writes it
		}
		if c < 0x80 {
			r.s = r.s[i+1:]
			return v
		}
	}
	r.err = errSummary
	r.s = ""
	return 0
}

func (r *summaryReader) varint() int64 {
	u := r.uvarint()
	v := int64(u >> 1)
	if u&1 != 0 {
		v = ^v
	}
	return v
}

func (r *summaryReader) string() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)) {
		r.err = errSummary
		return ""
	}
	s := r.s[:n]
	r.s = r.s[n:]
	return s
}

// count reads a list's length, bounded by what is left (each element
// takes at least one byte), so that a corrupt count allocates nothing.
func (r *summaryReader) count() int {
	n := r.uvarint()
	if n > uint64(len(r.s)) {
		r.err = errSummary
		return 0
	}
	return int(n)
}

func (r *summaryReader) list() []string {
	n := r.count()
	if n == 0 || r.err != nil {
		return nil
	}
	l := r.arena.strings(n)
	for i := range l {
		l[i] = r.string()
	}
	return l
}

// decodeSummary returns the certificate that summary b describes, with
// only the SummaryFields set.
func decodeSummary(b []byte) (*Certificate, error) {
	c := &Certificate{}
	if err := decodeSummaryInto(c, string(b), nil); err != nil {
		return nil, err
	}
	return c, nil
}

// decodeSummaryInto sets the SummaryFields of c (a zero Certificate) from
// summary s, its strings shared with s, its lists from arena.
func decodeSummaryInto(c *Certificate, s string, arena *summaryArena) error {
	if len(s) < 2 || s[0] != summaryVersion {
		return errSummary
	}
	flags := s[1]
	r := &summaryReader{s: s[2:], arena: arena}
	c.Exported = flags&1 != 0
	c.ID = r.string()
	c.DomainName = r.string()
	c.Status = r.string()
	c.Type = r.string()
	c.KeyPairOrigin = r.string()
	c.KeyAlgorithm = r.string()
	c.ExportOption = r.string()
	c.RenewalEligibility = r.string()
	c.SubjectAlternativeNames = r.list()
	c.InUseBy = r.list()
	c.KeyUsages = r.list()
	if n := r.count(); n > 0 && r.err == nil {
		c.ExtendedKeyUsages = arena.ekuList(n)
		for i := range c.ExtendedKeyUsages {
			c.ExtendedKeyUsages[i] = EKU{Name: r.string(), OID: r.string()}
		}
	}
	for i, t := range summaryTimes(c) {
		if flags&(2<<i) != 0 {
			sec := r.varint()
			ns := r.uvarint()
			if ns >= 1e9 {
				r.err = errSummary
			}
			*t = time.Unix(sec, int64(ns)).UTC()
			if t.IsZero() || t.Unix() != sec {
				r.err = errSummary // out of time.Time's range, or the zero time
			}
		}
	}
	if flags>>7 != 0 {
		r.err = errSummary
	}
	if r.err != nil {
		return r.err
	}
	if len(r.s) != 0 {
		return errSummary
	}
	return nil
}

// decodeListed returns the certificate of a row read with its summary:
// the SummaryFields, Tags and UpdatedAt.
func (r certRow) decodeListed() (*Certificate, error) {
	c, err := decodeSummary(r.summary)
	if err != nil {
		return nil, err
	}
	if string(r.tags) != "[]" { // "[]": none, the usual case
		if c.Tags, err = rowTags(c.ID, r.tags, r.data); err != nil {
			return nil, err
		}
	}
	if r.updated != nil {
		c.UpdatedAt = time.Unix(0, *r.updated).UTC()
	}
	return c, nil
}

// summaryColumns are the columns a summary list reads, as ListCertificates
// reads data, tags, updated_at and summary: the record only when the row
// has no summary, or its tags are still in the record.
const summaryColumns = "CASE WHEN summary IS NULL OR tags IS NULL THEN data END, tags, updated_at, summary"

// sqliteSummaryColumns are the columns a summary list reads in SQLite:
// only columns of the list covering indexes (migration 10), so that a
// list in their order reads the index alone. The rowid finds the record
// of a row without a summary, or whose tags are still in the record.
const sqliteSummaryColumns = "summary, tags, updated_at, rowid"

// sqliteSummaryColumnsNoTags are sqliteSummaryColumns for a list with
// NoTags: no tags or updated_at, so that the list reads no column outside
// the covering indexes.
const sqliteSummaryColumnsNoTags = "summary, rowid"

// pgSummaryColumnsNoTags are summaryColumns for a list with NoTags.
const pgSummaryColumnsNoTags = "CASE WHEN summary IS NULL THEN data END, '[]'::bytea, NULL::bigint, summary"

// ListCertificateSummaries is ListCertificates with only the
// SummaryFields, Tags and UpdatedAt of each certificate set, read from the
// summary column (the record is decoded only for rows written before it).
func (t *sqliteTx) ListCertificateSummaries(f CertificateFilter) ([]*Certificate, error) {
	return collectSummaries(t.ScanCertificateSummaries, f)
}

// ScanCertificateSummaries is ListCertificateSummaries a block at a time
// (see Tx).
func (t *sqliteTx) ScanCertificateSummaries(f CertificateFilter, reuse bool, fn func([]*Certificate) error) error {
	_, err := t.listCertificates(f, reuse, fn)
	return err
}

// scanSummaries runs q, a query of sqliteSummaryColumns (of
// sqliteSummaryColumnsNoTags with noTags), and decodes its rows as they
// come (see summaryList); a row written before the summary column is read
// whole by its rowid. A list without tags on a pinned connection (a
// command's read, a write) reads its rows through SQLite's C interface
// (scanSummariesRaw).
func (t *sqliteTx) scanSummaries(q string, args []any, noTags, reuse bool, fn func([]*Certificate) error) error {
	if noTags {
		if handled, err := t.scanSummariesRaw(q, args, reuse, fn); handled {
			return err
		}
	}
	rows, err := t.rawQuery(q, args...)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer rows.Close()
	var (
		summary, tags sql.RawBytes
		upd           sql.NullInt64
		rowid         int64
	)
	dest := []any{&summary, &tags, &upd, &rowid}
	none := sql.RawBytes("[]")
	if noTags {
		dest = []any{&summary, &rowid}
	}
	l := newSummaryList(fn, reuse)
	for l.err == nil && rows.Next() {
		// database/sql ends the rows of a cancelled context only when its
		// watcher runs: a block already handed out must be the last.
		if err := t.ctx.Err(); err != nil {
			return err
		}
		if err := rows.Scan(dest...); err != nil {
			return err
		}
		if noTags {
			tags = none
		}
		var u *int64
		if upd.Valid {
			u = &upd.Int64
		}
		var legacy func() (*Certificate, error)
		if summary == nil || tags == nil {
			id := rowid
			legacy = func() (*Certificate, error) { return t.recordByRowid(id) }
		}
		l.add(summary, tags, u, legacy)
	}
	if err := rows.Err(); err != nil {
		return wrapSQLiteErr(err)
	}
	return l.close()
}

// recordByRowid decodes the certificate of a row written before the
// summary or tags column, from its record.
func (t *sqliteTx) recordByRowid(rowid int64) (*Certificate, error) {
	var r certRow
	var upd sql.NullInt64
	if err := t.rawQueryRow(`SELECT data, tags, updated_at, summary FROM certificates WHERE rowid = ?`, rowid).
		Scan(&r.data, &r.tags, &upd, &r.summary); err != nil {
		return nil, wrapSQLiteErr(err)
	}
	if upd.Valid {
		r.updated = &upd.Int64
	}
	c, err := r.decode()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return c, nil
}

// ListCertificateSummaries is ListCertificates with only the
// SummaryFields, Tags and UpdatedAt of each certificate set (see
// sqliteTx.ListCertificateSummaries).
func (t *pgTx) ListCertificateSummaries(f CertificateFilter) ([]*Certificate, error) {
	return collectSummaries(t.ScanCertificateSummaries, f)
}

// ScanCertificateSummaries is ListCertificateSummaries a block at a time
// (see Tx).
func (t *pgTx) ScanCertificateSummaries(f CertificateFilter, reuse bool, fn func([]*Certificate) error) error {
	_, err := t.listCertificates(f, reuse, fn)
	return err
}
