package localstore

import (
	"testing"
	"time"
)

// TestCertificateRowOrder: the columns certificateRow returns are the
// certificates table's, in order, so that CertificateFromRow compares each
// scanned column with the value written to it.
func TestCertificateRowOrder(t *testing.T) {
	spec, err := lookupTable("certificates")
	if err != nil {
		t.Fatal(err)
	}
	row, err := certificateRow(&Certificate{ID: "a", CreatedAt: time.Unix(1, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(row) != len(spec.cols) || len(row) != certRowColumns {
		t.Fatalf("certificateRow has %d values, the table %d columns, CertificateFromRow expects %d", len(row), len(spec.cols), certRowColumns)
	}
	names := map[int]string{certRowData: "data", certRowTags: "tags", certRowUpdated: "updated_at", certRowSummary: "summary"}
	for _, c := range derivedCertificateColumns {
		names[c.at] = c.name
	}
	for i, c := range spec.cols {
		if names[i] != c.name {
			t.Errorf("column %d is %s in the table, %q in certcolumns.go", i, c.name, names[i])
		}
	}
}

// FuzzCertificateFromRow: a row with any record and tags bytes decodes or
// is refused, never panics.
func FuzzCertificateFromRow(f *testing.F) {
	good, _ := certificateRow(&Certificate{ID: "a", DomainName: "d.test", Status: "ISSUED", CreatedAt: time.Unix(1, 0),
		Tags: []Tag{{Key: "k", Value: "v"}}})
	f.Add(good[certRowData].([]byte), good[certRowTags].([]byte))
	f.Add([]byte(`{"id":"a","tags":[{"Key":"k"}]}`), []byte(nil))
	f.Add([]byte(`{`), []byte(`[`))
	f.Fuzz(func(t *testing.T, data, tags []byte) {
		row := append([]any(nil), good...)
		row[certRowData] = data
		if tags == nil {
			row[certRowTags] = nil
		} else {
			row[certRowTags] = tags
		}
		c, drift, err := CertificateFromRow(row)
		if err == nil && c == nil {
			t.Errorf("no certificate and no error, drift %q", drift)
		}
	})
}
