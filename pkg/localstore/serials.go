package localstore

import (
	"database/sql"
	"errors"
	"time"
)

// Serial is an issued serial number, its revocation state and, once the
// certificate carrying it is signed (RecordIssued), that certificate.
type Serial struct {
	Issuer    string
	Serial    string
	CertID    string
	IssuedAt  time.Time
	RevokedAt time.Time // zero when not revoked
	Reason    int

	// Set by RecordIssued; empty for a serial reserved before certctl
	// recorded issued certificates.
	Subject   string
	NotBefore time.Time
	NotAfter  time.Time
	Template  string // the template name (AWS Private CA's) it was issued with
	Requester string // who asked (the audit actor)
	DER       []byte // the certificate; GetSerial only (ListIssued leaves it out)
}

const serialColumns = `serial, cert_id, created_at, revoked_at, reason, subject, not_before, not_after, template, requester`

func (t *sqliteTx) GetSerial(issuer, serial string) (*Serial, error) {
	s := &Serial{Issuer: issuer}
	row := t.rawQueryRow(`SELECT `+serialColumns+`, der FROM serials WHERE issuer = ? AND serial = ?`, issuer, serial)
	err := scanSerial(row.Scan, s, &s.DER)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	return s, nil
}

// scanSerial scans serialColumns (and extra) into s.
func scanSerial(scan func(...any) error, s *Serial, extra ...any) error {
	var created int64
	var revoked, nb, na sql.NullInt64
	dest := append([]any{&s.Serial, &s.CertID, &created, &revoked, &s.Reason, &s.Subject, &nb, &na, &s.Template, &s.Requester}, extra...)
	if err := scan(dest...); err != nil {
		return err
	}
	s.IssuedAt = time.Unix(0, created).UTC()
	s.RevokedAt, s.NotBefore, s.NotAfter = nullTime(revoked), nullTime(nb), nullTime(na)
	return nil
}

func nullTime(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

func (t *sqliteTx) RecordIssued(s *Serial) error {
	res, err := t.rawExec(`UPDATE serials SET der = ?, subject = ?, not_before = ?, not_after = ?, template = ?, requester = ?
		WHERE issuer = ? AND serial = ?`,
		s.DER, s.Subject, nullNanos(s.NotBefore), nullNanos(s.NotAfter), s.Template, s.Requester, s.Issuer, s.Serial)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *sqliteTx) ListIssued(issuer string) ([]Serial, error) {
	rows, err := t.rawQuery(`SELECT `+serialColumns+` FROM serials WHERE issuer = ? ORDER BY created_at, serial`, issuer)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []Serial
	for rows.Next() {
		s := Serial{Issuer: issuer}
		if err := scanSerial(rows.Scan, &s); err != nil {
			return nil, wrapSQLiteErr(err)
		}
		out = append(out, s)
	}
	return out, wrapSQLiteErr(rows.Err())
}

func (t *sqliteTx) RevokeSerial(issuer, serial string, at time.Time, reason int) error {
	res, err := t.rawExec(`UPDATE serials SET revoked_at = ?, reason = ? WHERE issuer = ? AND serial = ?`,
		at.UnixNano(), reason, issuer, serial)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

func (t *sqliteTx) ListRevoked(issuer string) ([]Serial, error) {
	// The partial index of revoked serials, not serials_issued (which
	// covers this query too but holds every serial the issuer issued).
	rows, err := t.rawQuery(`SELECT serial, cert_id, created_at, revoked_at, reason FROM serials INDEXED BY serials_revoked
		WHERE issuer = ? AND revoked_at IS NOT NULL`, issuer) // a CRL needs no order
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	var out []Serial
	for rows.Next() {
		s := Serial{Issuer: issuer}
		var created, revoked int64
		if err := rows.Scan(&s.Serial, &s.CertID, &created, &revoked, &s.Reason); err != nil {
			return nil, err
		}
		s.IssuedAt = time.Unix(0, created).UTC()
		s.RevokedAt = time.Unix(0, revoked).UTC()
		out = append(out, s)
	}
	return out, wrapSQLiteErr(rows.Err())
}
