package localstore

import (
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/pkg/timeutil"
)

// ReserveSerial inserts with ON CONFLICT DO NOTHING and reads the rows
// affected: a unique violation would abort the transaction, and the caller
// must be able to draw another serial and go on.
func (t *pgTx) ReserveSerial(issuer, serial, certID string, at time.Time) error {
	n, err := t.exec(`INSERT INTO serials (issuer, serial, cert_id, created_at) VALUES ($1,$2,$3,$4)
		ON CONFLICT (issuer, serial) DO NOTHING`, issuer, serial, certID, at.UnixNano())
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("%w: serial %s of issuer %s is already issued", ErrConflict, serial, issuer)
	}
	return nil
}

func (t *pgTx) GetSerial(issuer, serial string) (*Serial, error) {
	s := &Serial{Issuer: issuer}
	var sc pgSerialScan
	err := t.queryRow(`SELECT `+serialColumns+`, der FROM serials WHERE issuer = $1 AND serial = $2`,
		[]any{issuer, serial}, sc.dest(s, &s.DER)...)
	if err != nil {
		return nil, err
	}
	sc.done(s)
	return s, farValidity(s, s.DER)
}

func (t *pgTx) SerialRevocation(issuer, serial string) (time.Time, int, error) {
	var revoked *int64
	var reason int
	if err := t.queryRow(`SELECT revoked_at, reason FROM serials WHERE issuer = $1 AND serial = $2`,
		[]any{issuer, serial}, &revoked, &reason); err != nil {
		return time.Time{}, 0, err
	}
	if revoked == nil {
		return time.Time{}, reason, nil
	}
	return time.Unix(0, *revoked).UTC(), reason, nil
}

// pgSerialScan scans serialColumns into a Serial: dest gives the scan
// destinations (and extra), done converts the times.
type pgSerialScan struct {
	created                      int64
	revoked, notBefore, notAfter *int64
}

func (p *pgSerialScan) dest(s *Serial, extra ...any) []any {
	return append([]any{&s.Serial, &s.CertID, &p.created, &p.revoked, &s.Reason, &s.Subject,
		&p.notBefore, &p.notAfter, &s.Template, &s.Requester}, extra...)
}

func (p *pgSerialScan) done(s *Serial) {
	s.IssuedAt = time.Unix(0, p.created).UTC()
	s.RevokedAt, s.NotBefore, s.NotAfter = fromNanos(p.revoked), fromNanos(p.notBefore), fromNanos(p.notAfter)
}

func (t *pgTx) RecordIssued(s *Serial) error {
	n, err := t.exec(`UPDATE serials SET der = $1, subject = $2, not_before = $3, not_after = $4, template = $5, requester = $6
		WHERE issuer = $7 AND serial = $8`,
		s.DER, s.Subject, pgNanos(s.NotBefore), pgNanos(s.NotAfter), s.Template, s.Requester, s.Issuer, s.Serial)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *pgTx) ListIssued(issuer string) ([]Serial, error) {
	var out []Serial
	err := t.rows(`SELECT `+serialColumns+` FROM serials WHERE issuer = $1 ORDER BY created_at, serial`, []any{issuer},
		func(r pgx.Rows) error {
			s := Serial{Issuer: issuer}
			var sc pgSerialScan
			if err := r.Scan(sc.dest(&s)...); err != nil {
				return err
			}
			sc.done(&s)
			out = append(out, s)
			return nil
		})
	if err != nil {
		return nil, err
	}
	return out, farValidityOf(out, t.GetSerial)
}

func (t *pgTx) RevokeSerial(issuer, serial string, at time.Time, reason int) error {
	n, err := t.exec(`UPDATE serials SET revoked_at = $1, reason = $2 WHERE issuer = $3 AND serial = $4`,
		at.UnixNano(), reason, issuer, serial)
	if err != nil {
		return err
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *pgTx) ListRevoked(issuer string) ([]Serial, error) {
	var out []Serial
	// In revocation order, as SQLite's (serials_revoked), whichever index
	// the planner takes.
	err := t.rows(`SELECT serial, cert_id, created_at, revoked_at, reason FROM serials
		WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY revoked_at, serial`, []any{issuer},
		func(r pgx.Rows) error {
			s := Serial{Issuer: issuer}
			var created, revoked int64
			if err := r.Scan(&s.Serial, &s.CertID, &created, &revoked, &s.Reason); err != nil {
				return err
			}
			s.IssuedAt = time.Unix(0, created).UTC()
			s.RevokedAt = time.Unix(0, revoked).UTC()
			out = append(out, s)
			return nil
		})
	return out, err
}

// AppendEvent takes the event log's transaction lock before drawing a
// sequence number, so that appending transactions commit in the order of
// their numbers: without it, a reader that has seen seq 6 (committed first)
// would never see seq 5 (committed later) when it asks for seq > 6.
func (t *pgTx) AppendEvent(at time.Time, data []byte) (int64, error) {
	if !t.eventsLocked {
		if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtextextended('certctl:events:' || coalesce(current_schema(), ''), 0))`); err != nil {
			return 0, err
		}
		t.eventsLocked = true
	}
	var seq int64
	err := t.queryRow(`INSERT INTO events (time, data) VALUES ($1, $2) RETURNING seq`,
		[]any{at.UnixNano(), nonNil(data)}, &seq)
	return seq, err
}

func (t *pgTx) ListEvents(afterSeq int64, since time.Time, limit int) ([]EventRow, error) {
	var args pgArgs
	sinceNanos := int64(-1 << 62)
	if !since.IsZero() {
		sinceNanos = timeutil.UnixNano(since)
	}
	q := `SELECT seq, time, data FROM events WHERE seq > ` + args.add(afterSeq) +
		` AND time >= ` + args.add(sinceNanos) + ` ORDER BY seq`
	if limit > 0 {
		q += ` LIMIT ` + args.add(limit)
	}
	var out []EventRow
	err := t.rows(q, args, func(r pgx.Rows) error {
		var e EventRow
		var ts int64
		if err := r.Scan(&e.Seq, &ts, &e.Data); err != nil {
			return err
		}
		e.Time = time.Unix(0, ts).UTC()
		out = append(out, e)
		return nil
	})
	return out, err
}
