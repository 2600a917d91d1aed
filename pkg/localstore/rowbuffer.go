package localstore

import (
	"encoding/json"
	"time"

	"github.com/certctl/certctl/pkg/timeutil"
)

// certificateRow is the row PutCertificate writes for c, in the order of
// the certificates columns of tableSpecs (as InsertRows takes it): both
// backends' PutCertificate and RowBuffer write exactly these values.
func certificateRow(c *Certificate) ([]any, error) {
	data, tags, err := encodeCertificate(c)
	if err != nil {
		return nil, err
	}
	return []any{c.ID, c.DomainName, c.Status, c.Type, c.KeyPairOrigin, c.KeyAlgorithm, nullNanos(c.NotAfter),
		timeutil.UnixNano(c.CreatedAt), c.Exportable(), c.InUse(), c.RenewalEligibility, data, tags, nullNanos(c.UpdatedAt),
		encodeSummary(c)}, nil
}

// versionRow is the row PutVersion writes (cert_versions columns).
func versionRow(certID string, v *CertificateVersion) ([]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return []any{certID, int64(v.Number), data}, nil
}

// nullNanos is a nullable time column: its Unix nanoseconds (clamped: a
// time after 2262 is the largest int64, see timeutil.UnixNano), or nil
// (NULL) for the zero time.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return timeutil.UnixNano(t)
}

// RowBuffer is a transaction whose PutCertificate, PutVersion and
// PutSecret add rows to a buffer instead of writing them one statement
// at a time; Flush then writes them table by table with InsertRows (one
// COPY on PostgreSQL, one prepared statement on SQLite). The rows are
// exactly those the transaction's own methods write (the same encoding,
// summary, tags and updated_at columns), but only new rows may be
// buffered: InsertRows refuses a key already stored, where the Put
// methods replace. Everything else goes to the transaction. For loading
// many new records at once (the benchmarks' seeding).
type RowBuffer struct {
	Tx
	bulk                     BulkTx
	certs, versions, secrets [][]any
}

// NewRowBuffer returns a buffer over tx, which must be a write
// transaction of a backend with the bulk operations (AsBulk).
func NewRowBuffer(tx Tx) (*RowBuffer, error) {
	b, err := AsBulk(tx)
	if err != nil {
		return nil, err
	}
	return &RowBuffer{Tx: tx, bulk: b}, nil
}

// PutCertificate buffers c's row.
func (b *RowBuffer) PutCertificate(c *Certificate) error {
	row, err := certificateRow(c)
	if err != nil {
		return err
	}
	b.certs = append(b.certs, row)
	return nil
}

// PutVersion buffers the row of certificate certID's version v.
func (b *RowBuffer) PutVersion(certID string, v *CertificateVersion) error {
	row, err := versionRow(certID, v)
	if err != nil {
		return err
	}
	b.versions = append(b.versions, row)
	return nil
}

// PutSecret buffers a sealed secret's row.
func (b *RowBuffer) PutSecret(ref string, sealed []byte) error {
	b.secrets = append(b.secrets, []any{ref, nonNil(sealed)})
	return nil
}

// Flush writes the buffered rows (secrets, versions, then certificates)
// and empties the buffer.
func (b *RowBuffer) Flush() error {
	for _, t := range []struct {
		table string
		rows  *[][]any
	}{{"secrets", &b.secrets}, {"cert_versions", &b.versions}, {"certificates", &b.certs}} {
		if len(*t.rows) == 0 {
			continue
		}
		if err := b.bulk.InsertRows(t.table, *t.rows); err != nil {
			return err
		}
		*t.rows = nil
	}
	return nil
}
