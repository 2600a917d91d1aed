package localstore

import (
	"crypto/x509"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/certctl/certctl/pkg/timeutil"
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
	return s, farValidity(s, s.DER)
}

func (t *sqliteTx) SerialRevocation(issuer, serial string) (time.Time, int, error) {
	var revoked sql.NullInt64
	var reason int
	err := t.rawQueryRow(`SELECT revoked_at, reason FROM serials WHERE issuer = ? AND serial = ?`, issuer, serial).Scan(&revoked, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, 0, ErrNotFound
	}
	if err != nil {
		return time.Time{}, 0, wrapSQLiteErr(err)
	}
	return nullTime(revoked), reason, nil
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
	if err := rows.Err(); err != nil {
		return nil, wrapSQLiteErr(err)
	}
	rows.Close()
	return out, farValidityOf(out, t.GetSerial)
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

// A serial's NotBefore and NotAfter are kept in int64 Unix nanoseconds
// (timeutil.UnixNano), which hold 1677-09-21 to 2262-04-11: a certificate
// valid past that (RFC 5280's 9999-12-31 "no well-defined expiration
// date", the leaf of a long-lived root) is stored with the range's end.
// Both stores give such a serial its certificate's own times instead:
// GetSerial from the DER it reads, ListIssued by reading those rare rows
// again (farValidityOf).

// clampedTime reports whether t is an end of the nanosecond range, where
// a time beyond it was stored.
func clampedTime(t time.Time) bool {
	n := timeutil.UnixNano(t)
	return !t.IsZero() && (n == math.MaxInt64 || n == math.MinInt64)
}

// farValidity gives s the validity of its certificate der when a time of
// it was stored at an end of the nanosecond range.
func farValidity(s *Serial, der []byte) error {
	if len(der) == 0 || !clampedTime(s.NotBefore) && !clampedTime(s.NotAfter) {
		return nil
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%w: issued certificate %s of %s unreadable: %v", ErrCorrupt, s.Serial, s.Issuer, err)
	}
	s.NotBefore, s.NotAfter = c.NotBefore.UTC(), c.NotAfter.UTC()
	return nil
}

// farValidityOf gives the serials of list stored with a clamped time the
// validity GetSerial (get) reads from their certificates.
func farValidityOf(list []Serial, get func(issuer, serial string) (*Serial, error)) error {
	for i := range list {
		s := &list[i]
		if !clampedTime(s.NotBefore) && !clampedTime(s.NotAfter) {
			continue
		}
		full, err := get(s.Issuer, s.Serial)
		if err != nil {
			return err
		}
		s.NotBefore, s.NotAfter = full.NotBefore, full.NotAfter
	}
	return nil
}
