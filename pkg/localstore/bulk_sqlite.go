package localstore

import (
	"context"
	"fmt"
	"strings"
)

var (
	_ BulkTx         = (*sqliteTx)(nil)
	_ ExclusiveStore = (*SQLite)(nil)
)

// UpdateExclusive is Update: SQLite write transactions (BEGIN IMMEDIATE)
// always run one at a time.
func (s *SQLite) UpdateExclusive(ctx context.Context, fn func(Tx) error) error {
	return s.Update(ctx, fn)
}

func (t *sqliteTx) ScanTable(table string, batch int, fn func(rows [][]any) error) error {
	spec, err := lookupTable(table)
	if err != nil {
		return err
	}
	rows, err := t.rawQuery(`SELECT ` + strings.Join(spec.colNames(), ", ") + ` FROM ` + spec.name + ` ORDER BY ` + spec.key)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer rows.Close()
	dest, take := spec.scanDest()
	out := make([][]any, 0, batch)
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return wrapSQLiteErr(err)
		}
		out = append(out, take())
		if len(out) >= batch {
			if err := fn(out); err != nil {
				return err
			}
			out = make([][]any, 0, batch)
		}
	}
	if err := rows.Err(); err != nil {
		return wrapSQLiteErr(err)
	}
	if len(out) > 0 {
		return fn(out)
	}
	return nil
}

func (t *sqliteTx) InsertRows(table string, rows [][]any) error {
	spec, err := lookupTable(table)
	if err != nil {
		return err
	}
	q := `INSERT INTO ` + spec.name + ` (` + strings.Join(spec.colNames(), ", ") + `) VALUES (` +
		strings.TrimSuffix(strings.Repeat("?,", len(spec.cols)), ",") + `)`
	if spec.name == "meta" {
		q += ` ON CONFLICT(key) DO UPDATE SET value=excluded.value`
	}
	stmt, err := t.tx.Prepare(q)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer stmt.Close()
	for _, row := range rows {
		if err := spec.checkRow(row); err != nil {
			return err
		}
		if _, err := stmt.Exec(row...); err != nil {
			return fmt.Errorf("table %s: %w", spec.name, wrapSQLiteErr(err))
		}
	}
	return nil
}

func (t *sqliteTx) RowCounts() (map[string]int64, error) {
	out := map[string]int64{}
	for _, spec := range tableSpecs {
		var n int64
		if err := t.rawQueryRow(`SELECT count(*) FROM ` + spec.name).Scan(&n); err != nil {
			return nil, wrapSQLiteErr(err)
		}
		out[spec.name] = n
	}
	return out, nil
}

func (t *sqliteTx) MetaKeys() ([]string, error) {
	return t.strings(`SELECT key FROM meta ORDER BY key`)
}

func (t *sqliteTx) DeleteMeta(key string) error {
	return t.exec(`DELETE FROM meta WHERE key = ?`, key)
}

func (t *sqliteTx) ScanSecrets(after string, limit int) ([]Secret, error) {
	rows, err := t.rawQuery(`SELECT ref, sealed FROM secrets WHERE ref > ? ORDER BY ref LIMIT ?`, after, limit)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []Secret
	for rows.Next() {
		var s Secret
		if err := rows.Scan(&s.Ref, &s.Sealed); err != nil {
			return nil, wrapSQLiteErr(err)
		}
		out = append(out, s)
	}
	return out, wrapSQLiteErr(rows.Err())
}

func (t *sqliteTx) PutSecrets(secrets []Secret) error {
	stmt, err := t.tx.Prepare(`INSERT INTO secrets (ref, sealed) VALUES (?,?)
		ON CONFLICT(ref) DO UPDATE SET sealed=excluded.sealed`)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer stmt.Close()
	for _, s := range secrets {
		if _, err := stmt.Exec(s.Ref, s.Sealed); err != nil {
			return wrapSQLiteErr(err)
		}
	}
	return nil
}

func (t *sqliteTx) SetAuditMACs(rows []AuditRow) error {
	stmt, err := t.tx.Prepare(`UPDATE audit SET mac = ? WHERE seq = ?`)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer stmt.Close()
	for _, r := range rows {
		res, err := stmt.Exec(r.MAC, r.Seq)
		if err != nil {
			return wrapSQLiteErr(err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return fmt.Errorf("%w: audit record %d", ErrNotFound, r.Seq)
		}
	}
	return nil
}
