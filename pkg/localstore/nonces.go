package localstore

import "time"

// The ACME servers' shared set of redeemed nonces (table acme_nonces,
// SQLite migration 6, PostgreSQL migration 4). A nonce is authenticated
// and carries its own expiry (see pkg/acmeserver/nonce.go), so nothing is
// stored when one is issued: a row is written only when one is redeemed,
// and the primary key makes the second redemption of the same nonce — by
// this process or any other on the store — find it taken.

func (t *sqliteTx) RedeemNonce(nonce string, expires time.Time) (bool, error) {
	res, err := t.rawExec(`INSERT INTO acme_nonces (nonce, expires_at) VALUES (?, ?) ON CONFLICT (nonce) DO NOTHING`,
		nonce, expires.UnixNano())
	if err != nil {
		return false, wrapSQLiteErr(err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

func (t *sqliteTx) SweepNonces(before time.Time) (int64, error) {
	res, err := t.rawExec(`DELETE FROM acme_nonces WHERE expires_at < ?`, before.UnixNano())
	if err != nil {
		return 0, wrapSQLiteErr(err)
	}
	return res.RowsAffected()
}

// RedeemNonce relies on the unique index under SERIALIZABLE: of two
// transactions inserting the same nonce, the second waits for the first;
// when the first commits, the second's ON CONFLICT DO NOTHING either
// inserts nothing or fails on serialization, and its retry (Postgres.Update)
// then inserts nothing. Either way one redemption wins.
func (t *pgTx) RedeemNonce(nonce string, expires time.Time) (bool, error) {
	n, err := t.exec(`INSERT INTO acme_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT (nonce) DO NOTHING`,
		nonce, expires.UnixNano())
	return n == 1, err
}

func (t *pgTx) SweepNonces(before time.Time) (int64, error) {
	return t.exec(`DELETE FROM acme_nonces WHERE expires_at < $1`, before.UnixNano())
}
