package localstore

import (
	"context"
	"errors"
	"fmt"
)

// BulkTx is what a transaction of either backend can do beyond Tx, for the
// operations on a whole vault (`certctl vault …`): backup, restore and
// migration copy rows table by table, verification reads them; key rotation
// walks every secret and audit record in pages and writes them back in
// batches. Both SQLite and PostgreSQL transactions implement it; AsBulk
// returns it.
type BulkTx interface {
	Tx

	// ScanTable calls fn with the rows of table (one of Tables), in key
	// order, at most batch at a time. Each row holds its columns in the
	// order of TableColumns, as string, int64, bool, []byte or nil (a NULL).
	// fn must not use this transaction: the scan is still under way.
	ScanTable(table string, batch int, fn func(rows [][]any) error) error
	// InsertRows adds rows (as ScanTable returns them) to table. Meta rows
	// replace a value of the same key; other tables must not hold a row
	// with the same key. Event sequence numbers go on after the highest
	// inserted.
	InsertRows(table string, rows [][]any) error
	// RowCounts returns the number of rows of every table.
	RowCounts() (map[string]int64, error)
	// MetaKeys returns the keys of the meta table, in order.
	MetaKeys() ([]string, error)
	// DeleteMeta removes a meta value (none is not an error).
	DeleteMeta(key string) error

	// ScanSecrets returns the sealed secrets whose ref is after after, in
	// ref order, at most limit.
	ScanSecrets(after string, limit int) ([]Secret, error)
	// PutSecrets writes sealed secrets (insert or replace).
	PutSecrets(secrets []Secret) error
	// SetAuditMACs replaces the MAC of existing audit records (by Seq):
	// the chain re-keyed under a new master key.
	SetAuditMACs(rows []AuditRow) error
}

// ExclusiveStore is a store that can run a write transaction alone: no
// other write transaction runs while fn does, and those that start meanwhile
// wait and see its outcome. A master key rotation runs so, so that no writer
// can seal anything under the old key once the new one is committed. SQLite
// writers always run alone (BEGIN IMMEDIATE); PostgreSQL takes the
// write_lock table in EXCLUSIVE mode, as the retry of a conflicting
// transaction does.
type ExclusiveStore interface {
	Store
	UpdateExclusive(ctx context.Context, fn func(Tx) error) error
}

// Secret is a sealed secret and its reference.
type Secret struct {
	Ref    string
	Sealed []byte
}

// ErrNoBulk is returned by AsBulk for a transaction of a backend without
// the bulk operations.
var ErrNoBulk = errors.New("this store does not support whole-vault operations")

// AsBulk returns tx's bulk operations.
func AsBulk(tx Tx) (BulkTx, error) {
	if b, ok := tx.(BulkTx); ok {
		return b, nil
	}
	return nil, ErrNoBulk
}

// UpdateExclusive runs fn in a write transaction of s that runs alone
// (see ExclusiveStore).
func UpdateExclusive(ctx context.Context, s Store, fn func(Tx) error) error {
	if x, ok := s.(ExclusiveStore); ok {
		return x.UpdateExclusive(ctx, fn)
	}
	return fmt.Errorf("%w: no exclusive transactions", ErrNoBulk)
}

// columnKind is how a column's values are represented in a row.
type columnKind int

const (
	colText     columnKind = iota // string
	colInt                        // int64
	colNullInt                    // int64 or nil
	colBool                       // bool (an INTEGER 0/1 in SQLite)
	colBlob                       // []byte
	colNullBlob                   // []byte or nil
)

type column struct {
	name string
	kind columnKind
}

type tableSpec struct {
	name string
	cols []column
	key  string // ORDER BY of a scan
}

// tableSpecs are the tables of the vault schema, the same in both backends,
// in the order a copy writes them.
var tableSpecs = []tableSpec{
	{"certificates", []column{{"id", colText}, {"domain_name", colText}, {"status", colText}, {"type", colText},
		{"origin", colText}, {"key_algorithm", colText}, {"not_after", colNullInt}, {"created_at", colInt},
		{"exportable", colBool}, {"in_use", colBool}, {"eligibility", colText}, {"data", colBlob},
		{"tags", colNullBlob}, {"updated_at", colNullInt}, {"summary", colNullBlob}}, "id"},
	{"cert_versions", []column{{"cert_id", colText}, {"version", colInt}, {"data", colBlob}}, "cert_id, version"},
	{"secrets", []column{{"ref", colText}, {"sealed", colBlob}}, "ref"},
	{"serials", []column{{"issuer", colText}, {"serial", colText}, {"cert_id", colText}, {"created_at", colInt},
		{"revoked_at", colNullInt}, {"reason", colInt}, {"der", colNullBlob}, {"template", colText},
		{"requester", colText}, {"subject", colText}, {"not_before", colNullInt}, {"not_after", colNullInt}}, "issuer, serial"},
	{"objects", []column{{"kind", colText}, {"id", colText}, {"data", colBlob}, {"updated_at", colNullInt}}, "kind, id"},
	{"meta", []column{{"key", colText}, {"value", colBlob}}, "key"},
	{"events", []column{{"seq", colInt}, {"time", colInt}, {"data", colBlob}}, "seq"},
	{"audit", []column{{"seq", colInt}, {"time", colInt}, {"data", colBlob}, {"mac", colBlob}}, "seq"},
}

// Tables are the names of the vault's tables, in copy order.
func Tables() []string {
	out := make([]string, len(tableSpecs))
	for i, t := range tableSpecs {
		out[i] = t.name
	}
	return out
}

// TableColumns are the columns of table, in the order of a row.
func TableColumns(table string) []string {
	spec, err := lookupTable(table)
	if err != nil {
		return nil
	}
	out := make([]string, len(spec.cols))
	for i, c := range spec.cols {
		out[i] = c.name
	}
	return out
}

func lookupTable(name string) (*tableSpec, error) {
	for i := range tableSpecs {
		if tableSpecs[i].name == name {
			return &tableSpecs[i], nil
		}
	}
	return nil, fmt.Errorf("no table %q in the vault schema", name)
}

func (s *tableSpec) colNames() []string {
	out := make([]string, len(s.cols))
	for i, c := range s.cols {
		out[i] = c.name
	}
	return out
}

// checkRow verifies that row has the shape of the table's rows, so that a
// copy never writes a value of the wrong type.
func (s *tableSpec) checkRow(row []any) error {
	if len(row) != len(s.cols) {
		return fmt.Errorf("table %s: row of %d values, want %d", s.name, len(row), len(s.cols))
	}
	for i, c := range s.cols {
		ok := false
		switch v := row[i].(type) {
		case string:
			ok = c.kind == colText
		case int64:
			ok = c.kind == colInt || c.kind == colNullInt
		case nil:
			ok = c.kind == colNullInt || c.kind == colNullBlob
		case bool:
			ok = c.kind == colBool
		case []byte:
			ok = (c.kind == colBlob || c.kind == colNullBlob) && v != nil
		}
		if !ok {
			return fmt.Errorf("table %s: column %s holds %T", s.name, c.name, row[i])
		}
	}
	return nil
}

// scanDest returns pointers to scan one row of the table into, and a
// function that turns what they hold into the row's values.
func (s *tableSpec) scanDest() ([]any, func() []any) {
	dest := make([]any, len(s.cols))
	for i, c := range s.cols {
		switch c.kind {
		case colText:
			dest[i] = new(string)
		case colInt:
			dest[i] = new(int64)
		case colNullInt:
			dest[i] = new(*int64)
		case colBool:
			dest[i] = new(bool)
		case colBlob, colNullBlob:
			dest[i] = new([]byte)
		}
	}
	return dest, func() []any {
		row := make([]any, len(dest))
		for i, d := range dest {
			switch p := d.(type) {
			case *string:
				row[i] = *p
			case *int64:
				row[i] = *p
			case **int64:
				if *p == nil {
					row[i] = nil
				} else {
					row[i] = **p
				}
				*p = nil
			case *bool:
				row[i] = *p
			case *[]byte:
				b := *p
				switch {
				case b == nil && s.cols[i].kind == colNullBlob:
					row[i] = nil
				case b == nil:
					row[i] = []byte{}
				default:
					row[i] = b
				}
				*p = nil
			}
		}
		return row
	}
}

// MasterKeyMeta are the meta keys that record the master key rather than
// data: a vault whose meta table holds only these is empty.
var MasterKeyMeta = []string{MetaMasterKeyWrapped, MetaMasterKeyCheck, MetaMasterKeyID, MetaKeySharers, MetaRestoreClaim}

// IsEmpty reports whether tx's store holds no data: no row in any table but
// the master key's records in meta.
func IsEmpty(tx BulkTx) (bool, error) {
	counts, err := tx.RowCounts()
	if err != nil {
		return false, err
	}
	for table, n := range counts {
		if table != "meta" && n > 0 {
			return false, nil
		}
	}
	keys, err := tx.MetaKeys()
	if err != nil {
		return false, err
	}
	for _, k := range keys {
		isKey := false
		for _, m := range MasterKeyMeta {
			isKey = isKey || k == m
		}
		if !isKey {
			return false, nil
		}
	}
	return true, nil
}
