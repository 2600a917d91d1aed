package localstore

import (
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
)

// EachRevocation reads the revoked serials of issuer from the covering
// partial index serials_crl (migration 6) in serial order, as SQLite's;
// a serial is the driver's buffer (pgtype.DriverBytes), not a copy.
func (t *pgTx) EachRevocation(issuer string, fn RevocationFunc) error {
	var serial pgtype.DriverBytes
	var revoked int64
	var reason int
	dest := []any{&serial, &revoked, &reason} // one for every row: no allocation a row
	return t.rows(`SELECT serial, revoked_at, reason FROM serials
		WHERE issuer = $1 AND revoked_at IS NOT NULL ORDER BY serial`, []any{issuer},
		func(r pgx.Rows) error {
			if err := r.Scan(dest...); err != nil {
				return err
			}
			return fn(serial, time.Unix(0, revoked).UTC(), reason)
		})
}
