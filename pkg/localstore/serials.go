package localstore

import (
	"database/sql"
	"errors"
	"time"
)

// Serial is an issued serial number and its revocation state.
type Serial struct {
	Issuer    string
	Serial    string
	CertID    string
	IssuedAt  time.Time
	RevokedAt time.Time // zero when not revoked
	Reason    int
}

func (t *sqliteTx) GetSerial(issuer, serial string) (*Serial, error) {
	s := &Serial{Issuer: issuer, Serial: serial}
	var created int64
	var revoked sql.NullInt64
	err := t.tx.QueryRow(`SELECT cert_id, created_at, revoked_at, reason FROM serials WHERE issuer = ? AND serial = ?`,
		issuer, serial).Scan(&s.CertID, &created, &revoked, &s.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	s.IssuedAt = time.Unix(0, created).UTC()
	if revoked.Valid {
		s.RevokedAt = time.Unix(0, revoked.Int64).UTC()
	}
	return s, nil
}

func (t *sqliteTx) RevokeSerial(issuer, serial string, at time.Time, reason int) error {
	res, err := t.tx.Exec(`UPDATE serials SET revoked_at = ?, reason = ? WHERE issuer = ? AND serial = ?`,
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
	rows, err := t.tx.Query(`SELECT serial, cert_id, created_at, revoked_at, reason FROM serials
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
