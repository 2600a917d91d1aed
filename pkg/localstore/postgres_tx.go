package localstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/certctl/certctl/pkg/timeutil"
)

// pgTx is a transaction of the PostgreSQL store. A statement that fails
// aborts a PostgreSQL transaction (every later statement fails too), so no
// method relies on a failing statement for an expected outcome: duplicates
// and missing rows are found from rows affected.
type pgTx struct {
	ctx context.Context
	tx  pgx.Tx
	// failed is the first statement error; retry the first serialization
	// failure or deadlock, which makes the whole transaction run again.
	failed error
	retry  error
	// eventsLocked is set once the transaction holds the event log's lock.
	eventsLocked bool
	// auditLocked is set once it holds the audit log's lock.
	auditLocked bool
}

// note records a statement error and maps it to the package's errors.
func (t *pgTx) note(err error) error {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if t.failed == nil {
		t.failed = err
	}
	if t.retry == nil && isRetryable(err) {
		t.retry = err
	}
	return wrapPgErr(err)
}

func (t *pgTx) exec(q string, args ...any) (int64, error) {
	tag, err := t.tx.Exec(t.ctx, q, args...)
	if err != nil {
		return 0, t.note(err)
	}
	return tag.RowsAffected(), nil
}

// queryRow scans one row; ErrNotFound when there is none.
func (t *pgTx) queryRow(q string, args []any, dest ...any) error {
	err := t.tx.QueryRow(t.ctx, q, args...).Scan(dest...)
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	return t.note(err)
}

// rows runs q and calls scan for each row.
func (t *pgTx) rows(q string, args []any, scan func(pgx.Rows) error) error {
	rows, err := t.tx.Query(t.ctx, q, args...)
	if err != nil {
		return t.note(err)
	}
	defer rows.Close()
	for rows.Next() {
		// Rows already received are read on after the context is
		// cancelled: a scan that hands them out a block at a time
		// (ScanCertificateSummaries) stops at the next row instead.
		if err := t.ctx.Err(); err != nil {
			return err
		}
		if err := scan(rows); err != nil {
			return err
		}
	}
	return t.note(rows.Err())
}

func (t *pgTx) strings(q string, args ...any) ([]string, error) {
	var out []string
	err := t.rows(q, args, func(r pgx.Rows) error {
		var s string
		if err := r.Scan(&s); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	})
	return out, err
}

// nonNil stores a nil value as empty: the data columns are NOT NULL.
func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// pgNanos is a time as stored: Unix nanoseconds, NULL for the zero time.
func pgNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := timeutil.UnixNano(t)
	return &n
}

func fromNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return time.Unix(0, *n).UTC()
}

// pgLimit is a LIMIT argument: NULL (no limit) for a negative limit, as
// SQLite treats LIMIT -1.
func pgLimit(limit int) *int {
	if limit < 0 {
		return nil
	}
	return &limit
}

func (t *pgTx) GetCertificate(id string) (*Certificate, error) {
	var r certRow
	if err := t.queryRow(`SELECT data, tags, updated_at FROM certificates WHERE id = $1`, []any{id}, &r.data, &r.tags, &r.updated); err != nil {
		return nil, err
	}
	c, err := r.decode()
	if err != nil {
		return nil, fmt.Errorf("%w: certificate %s: %v", ErrCorrupt, id, err)
	}
	return c, nil
}

func (t *pgTx) PutCertificate(c *Certificate) error {
	row, err := certificateRow(c)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO certificates
		(id, domain_name, status, type, origin, key_algorithm, not_after, created_at, exportable, in_use, eligibility, data, tags, updated_at, summary)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
		ON CONFLICT (id) DO UPDATE SET domain_name=excluded.domain_name, status=excluded.status,
		type=excluded.type, origin=excluded.origin, key_algorithm=excluded.key_algorithm,
		not_after=excluded.not_after, created_at=excluded.created_at, exportable=excluded.exportable,
		in_use=excluded.in_use, eligibility=excluded.eligibility, data=excluded.data,
		tags=excluded.tags, updated_at=excluded.updated_at, summary=excluded.summary`,
		row...)
	return err
}

func (t *pgTx) GetCertificateTags(id string) ([]Tag, error) {
	var tags, data []byte
	// The record is read only when the tags are still in it.
	if err := t.queryRow(`SELECT tags, CASE WHEN tags IS NULL THEN data END FROM certificates WHERE id = $1`, []any{id}, &tags, &data); err != nil {
		return nil, err
	}
	return rowTags(id, tags, data)
}

func (t *pgTx) ListCertificateTags(ids []string) (map[string][]Tag, error) {
	out := make(map[string][]Tag, len(ids))
	err := t.rows(`SELECT id, tags, CASE WHEN tags IS NULL THEN data END FROM certificates WHERE id = ANY($1)`, []any{ids}, func(r pgx.Rows) error {
		var id string
		var tags, data []byte
		if err := r.Scan(&id, &tags, &data); err != nil {
			return err
		}
		var err error
		out[id], err = rowTags(id, tags, data)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (t *pgTx) SetCertificateTags(id string, tags []Tag, updatedAt time.Time) error {
	b, err := encodeTags(tags)
	if err != nil {
		return err
	}
	n, err := t.exec(`UPDATE certificates SET tags = $1, updated_at = $2 WHERE id = $3`, b, pgNanos(updatedAt), id)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *pgTx) DeleteCertificate(id string) error {
	n, err := t.exec(`DELETE FROM certificates WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	// Versions and their sealed keys go with the certificate.
	var refs []string
	err = t.rows(`DELETE FROM cert_versions WHERE cert_id = $1 RETURNING data`, []any{id}, func(r pgx.Rows) error {
		var data []byte
		if err := r.Scan(&data); err != nil {
			return err
		}
		ref, err := versionKeyRef(id, data)
		if err != nil {
			return err
		}
		if ref != "" {
			refs = append(refs, ref)
		}
		return nil
	})
	if err != nil || len(refs) == 0 {
		return err
	}
	_, err = t.exec(`DELETE FROM secrets WHERE ref = ANY($1)`, refs)
	return err
}

// escapeLike makes %, _ and \ literal in a LIKE pattern (ESCAPE '\').
func escapeLike(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return r.Replace(s)
}

// likePrefix is a LIKE pattern matching the strings that start with prefix:
// LIKE is case-sensitive in PostgreSQL, and escaping makes %, _ and \
// literal.
func likePrefix(prefix string) string { return escapeLike(prefix) + "%" }

func (t *pgTx) EachCertificateTags(fn func(id string, tags []Tag) error) error {
	var id string
	var tags, data []byte
	dest := []any{&id, &tags, &data}
	return t.rows(`SELECT id, tags, CASE WHEN tags IS NULL THEN data END FROM certificates`, nil, func(r pgx.Rows) error {
		if err := r.Scan(dest...); err != nil {
			return err
		}
		ts, err := rowTags(id, tags, data)
		if err != nil {
			return err
		}
		return fn(id, ts)
	})
}

func (t *pgTx) FindCertificateIDs(prefix string, limit int) ([]string, error) {
	return t.strings(`SELECT id FROM certificates WHERE id LIKE $1 ESCAPE E'\\' ORDER BY id LIMIT $2`,
		likePrefix(prefix), pgLimit(limit))
}

// pgArgs numbers the placeholders of a query as its arguments are added.
type pgArgs []any

func (a *pgArgs) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

func (t *pgTx) ListCertificates(f CertificateFilter) ([]*Certificate, error) {
	return t.listCertificates(f, false, nil)
}

// listCertificates runs ListCertificates, or ListCertificateSummaries when
// summaries.
func (t *pgTx) listCertificates(f CertificateFilter, reuse bool, summaries func([]*Certificate) error) ([]*Certificate, error) {
	var where []string
	var args pgArgs
	for _, in := range []struct {
		col  string
		vals []string
	}{
		{"id", f.IDs}, {"status", f.Statuses}, {"key_algorithm", f.KeyAlgorithms}, {"type", f.Types},
		{"origin", f.Origins}, {"eligibility", f.Eligibility},
	} {
		if len(in.vals) > 0 {
			where = append(where, in.col+" = ANY("+args.add(in.vals)+")")
		}
	}
	if f.Exportable != nil {
		where = append(where, "exportable = "+args.add(*f.Exportable))
	}
	if f.InUse != nil {
		where = append(where, "in_use = "+args.add(*f.InUse))
	}
	if !f.NotAfterBefore.IsZero() {
		where = append(where, "not_after < "+args.add(timeutil.UnixNano(f.NotAfterBefore)))
	}
	if f.IDPrefix != "" {
		where = append(where, "id LIKE "+args.add(likePrefix(f.IDPrefix))+" ESCAPE E'\\\\'")
	}
	if f.After != nil {
		where = append(where, afterClause(sortColumn(f.SortBy), f.Descending, *f.After, args.add))
	}
	q := "SELECT data, tags, updated_at, NULL::bytea FROM certificates"
	covered := false
	if summaries != nil {
		q = "SELECT " + summaryColumns + " FROM certificates"
		if f.NoTags {
			var err error
			if covered, err = t.listCovered(); err != nil {
				return nil, err
			}
			if covered {
				q = "SELECT summary FROM certificates"
				where = append(where, pgListCovered)
			} else {
				q = "SELECT " + pgSummaryColumnsNoTags + " FROM certificates"
			}
		}
	}
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	col := sortColumn(f.SortBy)
	// NULL (no NotAfter yet) sorts first ascending, as in SQLite. Only
	// not_after may be NULL: the other keys take plain ASC or DESC, so
	// that the order is their index's (forward or backward), and a first
	// page reads a page of the index instead of sorting the whole table.
	dir, nulls := "ASC", ""
	if f.Descending {
		dir = "DESC"
	}
	if col == "not_after" {
		nulls = " NULLS FIRST"
		if f.Descending {
			nulls = " NULLS LAST"
		}
	}
	q += fmt.Sprintf(" ORDER BY %s %s%s, id %s", col, dir, nulls, dir)
	if f.Limit > 0 {
		q += " LIMIT " + args.add(f.Limit)
	}
	if f.Offset > 0 {
		q += " OFFSET " + args.add(f.Offset)
	}
	if covered {
		return nil, t.scanCoveredSummaries(q, args, reuse, summaries)
	}
	if summaries != nil {
		return nil, t.scanSummaries(q, args, reuse, summaries)
	}
	d := newCertDecoder()
	defer d.stop()
	err := t.rows(q, args, func(r pgx.Rows) error {
		var row certRow
		if err := r.Scan(&row.data, &row.tags, &row.updated, &row.summary); err != nil {
			return err
		}
		d.add(row)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return d.result()
}

// scanSummaries runs q, a query of summaryColumns, and decodes its rows
// as they come (see summaryList).
func (t *pgTx) scanSummaries(q string, args pgArgs, reuse bool, fn func([]*Certificate) error) error {
	l := newSummaryList(fn, reuse)
	err := t.rows(q, args, func(r pgx.Rows) error {
		var row certRow
		if err := r.Scan(&row.data, &row.tags, &row.updated, &row.summary); err != nil {
			return err
		}
		var legacy func() (*Certificate, error)
		if row.summary == nil || row.tags == nil {
			legacy = func() (*Certificate, error) {
				c, err := row.decode()
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
				}
				return c, nil
			}
		}
		l.add(row.summary, row.tags, row.updated, legacy)
		return l.err
	})
	if err != nil {
		return err
	}
	return l.close()
}

// listCovered reports whether every certificate is in the list covering
// indexes (migration 8): then a summary list without tags reads only
// their columns, in order (an index-only scan). An index of the others
// (certificates_list_uncovered, empty but for rows written before the
// summary column and certificates with very long summaries) answers at
// once. It runs before the list: a connection streams one query at a time.
func (t *pgTx) listCovered() (bool, error) {
	var uncovered bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM certificates WHERE NOT (`+pgListCovered+`) OR summary IS NULL)`, nil, &uncovered)
	return !uncovered, err
}

// scanCoveredSummaries runs q, a query of the summary alone of rows that
// all have one, and decodes its rows as they come (see summaryList). The
// summary is read where the driver received it (summaryList copies it).
func (t *pgTx) scanCoveredSummaries(q string, args pgArgs, reuse bool, fn func([]*Certificate) error) error {
	l := newSummaryList(fn, reuse)
	noTags := []byte("[]")
	// One destination for every row (the summary is copied out of the
	// driver's buffer by add): no allocation a row.
	var summary pgtype.DriverBytes
	dest := []any{&summary}
	err := t.rows(q, args, func(r pgx.Rows) error {
		if err := r.Scan(dest...); err != nil {
			return err
		}
		if summary == nil { // never: the covered rows have a summary
			return fmt.Errorf("%w: certificate without a summary in a covered list", ErrCorrupt)
		}
		l.add(summary, noTags, nil, nil)
		return l.err
	})
	if err != nil {
		return err
	}
	return l.close()
}

func (t *pgTx) CountCertificates() (int, error) {
	var n int
	err := t.queryRow(`SELECT count(*) FROM certificates`, nil, &n)
	return n, err
}

func (t *pgTx) PutVersion(certID string, v *CertificateVersion) error {
	row, err := versionRow(certID, v)
	if err != nil {
		return err
	}
	_, err = t.exec(`INSERT INTO cert_versions (cert_id, version, data) VALUES ($1,$2,$3)
		ON CONFLICT (cert_id, version) DO UPDATE SET data=excluded.data`, row...)
	return err
}

func (t *pgTx) GetVersion(certID string, number int) (*CertificateVersion, error) {
	var data []byte
	if err := t.queryRow(`SELECT data FROM cert_versions WHERE cert_id = $1 AND version = $2`,
		[]any{certID, number}, &data); err != nil {
		return nil, err
	}
	v := &CertificateVersion{}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return v, nil
}

func (t *pgTx) ListVersions(certID string) ([]*CertificateVersion, error) {
	var out []*CertificateVersion
	err := t.rows(`SELECT data FROM cert_versions WHERE cert_id = $1 ORDER BY version`, []any{certID},
		func(r pgx.Rows) error {
			var data []byte
			if err := r.Scan(&data); err != nil {
				return err
			}
			v := &CertificateVersion{}
			if err := json.Unmarshal(data, v); err != nil {
				return fmt.Errorf("%w: %v", ErrCorrupt, err)
			}
			out = append(out, v)
			return nil
		})
	return out, err
}

func (t *pgTx) PutSecret(ref string, sealed []byte) error {
	_, err := t.exec(`INSERT INTO secrets (ref, sealed) VALUES ($1,$2)
		ON CONFLICT (ref) DO UPDATE SET sealed=excluded.sealed`, ref, nonNil(sealed))
	return err
}

func (t *pgTx) DeleteSecret(ref string) error {
	_, err := t.exec(`DELETE FROM secrets WHERE ref = $1`, ref)
	return err
}

func (t *pgTx) GetSecret(ref string) ([]byte, error) {
	var b []byte
	if err := t.queryRow(`SELECT sealed FROM secrets WHERE ref = $1`, []any{ref}, &b); err != nil {
		return nil, err
	}
	return b, nil
}

func (t *pgTx) PutObject(o *Object) error {
	_, err := t.exec(`INSERT INTO objects (kind, id, data, updated_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (kind, id) DO UPDATE SET data=excluded.data, updated_at=excluded.updated_at`,
		o.Kind, o.ID, nonNil(o.Data), pgNanos(o.UpdatedAt))
	return err
}

func (t *pgTx) GetObject(kind, id string) (*Object, error) {
	o := &Object{Kind: kind, ID: id}
	var upd *int64
	if err := t.queryRow(`SELECT data, updated_at FROM objects WHERE kind = $1 AND id = $2`,
		[]any{kind, id}, &o.Data, &upd); err != nil {
		return nil, err
	}
	o.UpdatedAt = fromNanos(upd)
	return o, nil
}

func (t *pgTx) DeleteObject(kind, id string) error {
	n, err := t.exec(`DELETE FROM objects WHERE kind = $1 AND id = $2`, kind, id)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *pgTx) ListObjects(kind string) ([]*Object, error) {
	return t.objects(kind, `SELECT id, data, updated_at FROM objects WHERE kind = $1 ORDER BY id`, kind)
}

// objects runs query, which selects id, data and updated_at of objects of
// kind, and returns them.
func (t *pgTx) objects(kind, query string, args ...any) ([]*Object, error) {
	var out []*Object
	err := t.rows(query, args,
		func(r pgx.Rows) error {
			o := &Object{Kind: kind}
			var upd *int64
			if err := r.Scan(&o.ID, &o.Data, &upd); err != nil {
				return err
			}
			o.UpdatedAt = fromNanos(upd)
			out = append(out, o)
			return nil
		})
	return out, err
}

func (t *pgTx) FindObjectIDs(kind, prefix string, limit int) ([]string, error) {
	return t.strings(`SELECT id FROM objects WHERE kind = $1 AND id LIKE $2 ESCAPE E'\\' ORDER BY id LIMIT $3`,
		kind, likePrefix(prefix), pgLimit(limit))
}

func (t *pgTx) FindObjects(kind, prefix string, limit int) ([]*Object, error) {
	return t.objects(kind, `SELECT id, data, updated_at FROM objects WHERE kind = $1 AND id LIKE $2 ESCAPE E'\\' ORDER BY id LIMIT $3`,
		kind, likePrefix(prefix), pgLimit(limit))
}

func (t *pgTx) GetMeta(key string) ([]byte, error) {
	var b []byte
	if err := t.queryRow(`SELECT value FROM meta WHERE key = $1`, []any{key}, &b); err != nil {
		return nil, err
	}
	return b, nil
}

func (t *pgTx) PutMeta(key string, value []byte) error {
	_, err := t.exec(`INSERT INTO meta (key, value) VALUES ($1,$2)
		ON CONFLICT (key) DO UPDATE SET value=excluded.value`, key, nonNil(value))
	return err
}
