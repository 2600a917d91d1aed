package localstore

import (
	"time"

	"github.com/jackc/pgx/v5"
)

// ListRevocations reads the revoked serials of issuer from the covering
// partial index serials_crl (migration 5) in serial order, as SQLite's.
func (t *pgTx) ListRevocations(issuer string) ([]Revocation, error) {
	out := make([]Revocation, 0, 1024)
	var revoked int64
	err := t.rows(`SELECT serial, revoked_at, reason FROM serials
		WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY serial`, []any{issuer},
		func(r pgx.Rows) error {
			out = append(out, Revocation{})
			rv := &out[len(out)-1]
			if err := r.Scan(&rv.Serial, &revoked, &rv.Reason); err != nil {
				return err
			}
			rv.RevokedAt = time.Unix(0, revoked).UTC()
			return nil
		})
	return out, err
}
