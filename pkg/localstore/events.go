package localstore

import (
	"time"

	"github.com/certctl/certctl/pkg/timeutil"
)

// EventRow is one stored event.
type EventRow struct {
	Seq  int64
	Time time.Time
	Data []byte
}

func (t *sqliteTx) AppendEvent(at time.Time, data []byte) (int64, error) {
	res, err := t.rawExec(`INSERT INTO events (time, data) VALUES (?, ?)`, at.UnixNano(), data)
	if err != nil {
		return 0, wrapSQLiteErr(err)
	}
	return res.LastInsertId()
}

func (t *sqliteTx) ListEvents(afterSeq int64, since time.Time, limit int) ([]EventRow, error) {
	q := `SELECT seq, time, data FROM events WHERE seq > ? AND time >= ? ORDER BY seq`
	args := []any{afterSeq, timeutil.UnixNano(since)}
	if since.IsZero() {
		args[1] = int64(-1 << 62)
	}
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := t.rawQuery(q, args...)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []EventRow
	for rows.Next() {
		var e EventRow
		var ts int64
		if err := rows.Scan(&e.Seq, &ts, &e.Data); err != nil {
			return nil, err
		}
		e.Time = time.Unix(0, ts).UTC()
		out = append(out, e)
	}
	return out, wrapSQLiteErr(rows.Err())
}
