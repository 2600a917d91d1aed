package localstore

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// AuditRow is one stored audit record: its place in the chain, its time,
// its JSON and the HMAC that chains it to the record before it.
type AuditRow struct {
	Seq  int64
	Time time.Time
	Data []byte
	MAC  []byte
}

func (t *sqliteTx) AppendAudit(r AuditRow) error {
	_, err := t.rawExec(`INSERT INTO audit (seq, time, data, mac) VALUES (?, ?, ?, ?)`,
		r.Seq, r.Time.UnixNano(), r.Data, r.MAC)
	return wrapSQLiteErr(err)
}

func (t *sqliteTx) LastAudit() (*AuditRow, error) {
	r := &AuditRow{}
	var ts int64
	err := t.rawQueryRow(`SELECT seq, time, data, mac FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&r.Seq, &ts, &r.Data, &r.MAC)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	r.Time = time.Unix(0, ts).UTC()
	return r, nil
}

func (t *sqliteTx) ListAudit(afterSeq int64, limit int) ([]AuditRow, error) {
	q := `SELECT seq, time, data, mac FROM audit WHERE seq > ? ORDER BY seq`
	args := []any{afterSeq}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := t.rawQuery(q, args...)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var r AuditRow
		var ts int64
		if err := rows.Scan(&r.Seq, &ts, &r.Data, &r.MAC); err != nil {
			return nil, err
		}
		r.Time = time.Unix(0, ts).UTC()
		out = append(out, r)
	}
	return out, wrapSQLiteErr(rows.Err())
}

// AppendAudit takes the audit log's transaction lock first, so that
// concurrent writers append one after the other. A writer whose snapshot
// missed a record committed meanwhile meets it at the insert, which fails
// on serialization (the row is not visible to the snapshot), so the whole
// transaction runs again with the new head.
func (t *pgTx) AppendAudit(r AuditRow) error {
	if err := t.lockAudit(); err != nil {
		return err
	}
	n, err := t.exec(`INSERT INTO audit (seq, time, data, mac) VALUES ($1, $2, $3, $4) ON CONFLICT (seq) DO NOTHING`,
		r.Seq, r.Time.UnixNano(), nonNil(r.Data), nonNil(r.MAC))
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: audit record %d exists", ErrConflict, r.Seq)
	}
	return nil
}

func (t *pgTx) lockAudit() error {
	if t.auditLocked {
		return nil
	}
	if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtextextended('certctl:audit:' || coalesce(current_schema(), ''), 0))`); err != nil {
		return err
	}
	t.auditLocked = true
	return nil
}

func (t *pgTx) LastAudit() (*AuditRow, error) {
	r := &AuditRow{}
	var ts int64
	if err := t.queryRow(`SELECT seq, time, data, mac FROM audit ORDER BY seq DESC LIMIT 1`, nil, &r.Seq, &ts, &r.Data, &r.MAC); err != nil {
		return nil, err
	}
	r.Time = time.Unix(0, ts).UTC()
	return r, nil
}

func (t *pgTx) ListAudit(afterSeq int64, limit int) ([]AuditRow, error) {
	var args pgArgs
	q := `SELECT seq, time, data, mac FROM audit WHERE seq > ` + args.add(afterSeq) + ` ORDER BY seq`
	if limit > 0 {
		q += ` LIMIT ` + args.add(limit)
	}
	var out []AuditRow
	err := t.rows(q, args, func(rows pgx.Rows) error {
		var r AuditRow
		var ts int64
		if err := rows.Scan(&r.Seq, &ts, &r.Data, &r.MAC); err != nil {
			return err
		}
		r.Time = time.Unix(0, ts).UTC()
		out = append(out, r)
		return nil
	})
	return out, err
}
