package localstore

import "time"

// Revocation is a revoked serial as a CRL lists it: the serial, when and
// why (RFC 5280 reason code), and nothing else of the serial's record.
type Revocation struct {
	Serial    string
	RevokedAt time.Time
	Reason    int
}

// ListRevocations reads the revoked serials of issuer from the covering
// partial index serials_crl (migration 7: serial, revocation time and
// reason of revoked serials only), in serial order: no table row and no
// column a CRL does not print.
func (t *sqliteTx) ListRevocations(issuer string) ([]Revocation, error) {
	rows, err := t.rawQuery(`SELECT serial, revoked_at, reason FROM serials INDEXED BY serials_crl
		WHERE issuer = ? AND revoked_at IS NOT NULL ORDER BY serial`, issuer)
	if err != nil {
		return nil, wrapSQLiteErr(err)
	}
	defer rows.Close()
	out := make([]Revocation, 0, 1024)
	var revoked int64
	for rows.Next() {
		out = append(out, Revocation{})
		r := &out[len(out)-1]
		if err := rows.Scan(&r.Serial, &revoked, &r.Reason); err != nil {
			return nil, wrapSQLiteErr(err)
		}
		r.RevokedAt = time.Unix(0, revoked).UTC()
	}
	return out, wrapSQLiteErr(rows.Err())
}
