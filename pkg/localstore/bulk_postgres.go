package localstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

var (
	_ BulkTx         = (*pgTx)(nil)
	_ ExclusiveStore = (*Postgres)(nil)
)

// UpdateExclusive runs fn in a write transaction that holds the write_lock
// table in EXCLUSIVE mode from its first attempt: it waits for the writers
// under way, and writers that begin meanwhile wait for it and take their
// snapshot after it commits.
func (p *Postgres) UpdateExclusive(ctx context.Context, fn func(Tx) error) error {
	return p.run(ctx, txOptions(beginRetry), txOptions(beginRetry), guarded(p.guard, fn))
}

func (t *pgTx) ScanTable(table string, batch int, fn func(rows [][]any) error) error {
	spec, err := lookupTable(table)
	if err != nil {
		return err
	}
	dest, take := spec.scanDest()
	out := make([][]any, 0, batch)
	err = t.rows(`SELECT `+strings.Join(spec.colNames(), ", ")+` FROM `+spec.name+` ORDER BY `+spec.key, nil,
		func(r pgx.Rows) error {
			if err := r.Scan(dest...); err != nil {
				return err
			}
			out = append(out, take())
			if len(out) >= batch {
				if err := fn(out); err != nil {
					return err
				}
				out = make([][]any, 0, batch)
			}
			return nil
		})
	if err != nil {
		return err
	}
	if len(out) > 0 {
		return fn(out)
	}
	return nil
}

// InsertRows copies rows with COPY (meta with upserts). After events, the
// sequence of their numbers is moved past the highest.
func (t *pgTx) InsertRows(table string, rows [][]any) error {
	spec, err := lookupTable(table)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if err := spec.checkRow(row); err != nil {
			return err
		}
	}
	if spec.name == "meta" {
		for _, row := range rows {
			if err := t.PutMeta(row[0].(string), row[1].([]byte)); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := t.tx.CopyFrom(t.ctx, pgx.Identifier{spec.name}, spec.colNames(), pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("table %s: %w", spec.name, t.note(err))
	}
	if spec.name == "events" {
		_, err := t.exec(`SELECT setval(pg_get_serial_sequence('events', 'seq'),
			coalesce((SELECT max(seq) FROM events), 1), (SELECT count(*) FROM events) > 0)`)
		return err
	}
	return nil
}

func (t *pgTx) RowCounts() (map[string]int64, error) {
	out := map[string]int64{}
	for _, spec := range tableSpecs {
		var n int64
		if err := t.queryRow(`SELECT count(*) FROM `+spec.name, nil, &n); err != nil {
			return nil, err
		}
		out[spec.name] = n
	}
	return out, nil
}

func (t *pgTx) MetaKeys() ([]string, error) {
	return t.strings(`SELECT key FROM meta ORDER BY key`)
}

func (t *pgTx) DeleteMeta(key string) error {
	_, err := t.exec(`DELETE FROM meta WHERE key = $1`, key)
	return err
}

func (t *pgTx) ScanSecrets(after string, limit int) ([]Secret, error) {
	var out []Secret
	err := t.rows(`SELECT ref, sealed FROM secrets WHERE ref > $1 ORDER BY ref LIMIT $2`, []any{after, limit},
		func(r pgx.Rows) error {
			var s Secret
			if err := r.Scan(&s.Ref, &s.Sealed); err != nil {
				return err
			}
			out = append(out, s)
			return nil
		})
	return out, err
}

// batch sends the queued statements in one round trip and checks each
// one's rows affected with check (nil: any).
func (t *pgTx) batch(b *pgx.Batch, check func(i int, n int64) error) error {
	if b.Len() == 0 {
		return nil
	}
	br := t.tx.SendBatch(t.ctx, b)
	for i := 0; i < b.Len(); i++ {
		tag, err := br.Exec()
		if err != nil {
			br.Close()
			return t.note(err)
		}
		if check != nil {
			if err := check(i, tag.RowsAffected()); err != nil {
				br.Close()
				return err
			}
		}
	}
	return t.note(br.Close())
}

func (t *pgTx) PutSecrets(secrets []Secret) error {
	b := &pgx.Batch{}
	for _, s := range secrets {
		b.Queue(`INSERT INTO secrets (ref, sealed) VALUES ($1,$2)
			ON CONFLICT (ref) DO UPDATE SET sealed=excluded.sealed`, s.Ref, nonNil(s.Sealed))
	}
	return t.batch(b, nil)
}

func (t *pgTx) SetAuditMACs(rows []AuditRow) error {
	b := &pgx.Batch{}
	for _, r := range rows {
		b.Queue(`UPDATE audit SET mac = $1 WHERE seq = $2`, nonNil(r.MAC), r.Seq)
	}
	return t.batch(b, func(i int, n int64) error {
		if n != 1 {
			return fmt.Errorf("%w: audit record %d", ErrNotFound, rows[i].Seq)
		}
		return nil
	})
}
