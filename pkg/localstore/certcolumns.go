package localstore

import (
	"bytes"
	"fmt"
	"time"
)

// A certificates row holds the record (data, with the tags and updated_at
// columns) and, beside it, columns that PutCertificate derives from the
// record: the ID, the filters of CertificateFilter and the list summary.
// list and search read those columns instead of the record, so a row whose
// columns disagree with its record (written other than by PutCertificate,
// or damaged) is listed, filtered and counted as a certificate describe
// does not show. CertificateFromRow finds such rows for vault verify.

// derivedCertificateColumns are the indexes, in a certificates row (the
// order of certificateRow and of the table's TableColumns, which
// TestCertificateRowOrder holds equal), of the columns derived from the
// record, with their names.
var derivedCertificateColumns = []struct {
	at   int
	name string
}{
	{0, "id"}, {1, "domain_name"}, {2, "status"}, {3, "type"}, {4, "origin"}, {5, "key_algorithm"},
	{6, "not_after"}, {7, "created_at"}, {8, "exportable"}, {9, "in_use"}, {10, "eligibility"}, {14, "summary"},
}

// Positions in a certificates row of the columns the record is read from.
const (
	certRowData    = 11
	certRowTags    = 12
	certRowUpdated = 13
	certRowSummary = 14
	certRowColumns = 15
)

// CertificateFromRow decodes a row of the certificates table, as ScanTable
// returns it, and lists the derived columns that disagree with the record
// (each "name: column value, record value", or the name alone for the
// summary). A summary still NULL (a row written before the migration that
// added it) is no disagreement: a list decodes the record for that row.
// The error is for a record that does not decode.
func CertificateFromRow(row []any) (*Certificate, []string, error) {
	if len(row) != certRowColumns {
		return nil, nil, fmt.Errorf("a certificates row has %d columns, not %d", len(row), certRowColumns)
	}
	r := certRow{}
	r.data, _ = row[certRowData].([]byte)
	r.tags, _ = row[certRowTags].([]byte)
	if u, ok := row[certRowUpdated].(int64); ok {
		r.updated = &u
	}
	c, err := r.decode()
	if err != nil {
		return nil, nil, err
	}
	want, err := certificateRow(c)
	if err != nil {
		return nil, nil, err
	}
	var drift []string
	for _, col := range derivedCertificateColumns {
		got := row[col.at]
		if col.at == certRowSummary && got == nil {
			continue
		}
		if sameColumn(got, want[col.at]) {
			continue
		}
		if col.at == certRowSummary {
			drift = append(drift, col.name)
			continue
		}
		drift = append(drift, fmt.Sprintf("%s: %s in the column, %s in the record", col.name, showColumn(col.name, got), showColumn(col.name, want[col.at])))
	}
	return c, drift, nil
}

// sameColumn compares a column as scanned (string, int64, bool, []byte or
// nil) with the value PutCertificate writes.
func sameColumn(got, want any) bool {
	if g, ok := got.([]byte); ok {
		w, ok := want.([]byte)
		return ok && bytes.Equal(g, w)
	}
	return got == want
}

// showColumn is a column's value in a message: times as times.
func showColumn(name string, v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return fmt.Sprintf("%q", x)
	case int64:
		if name == "not_after" || name == "created_at" {
			return time.Unix(0, x).UTC().Format(time.RFC3339)
		}
	}
	return fmt.Sprint(v)
}
