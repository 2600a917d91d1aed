package localstore

import (
	"database/sql"
	"errors"
	"time"
	"unsafe"

	sqlite3 "modernc.org/sqlite/lib"
)

// RevocationFunc receives one revoked serial as a CRL lists it: the
// serial as stored (FormatSerial's text), when and why (RFC 5280 reason
// code), and nothing else of the serial's record. serial is the store's
// memory, valid only until the function returns. It runs while the store
// reads: it must not use the transaction.
type RevocationFunc func(serial []byte, revokedAt time.Time, reason int) error

// revocationEpochPrefix prefixes the meta key of an issuer's revocation
// epoch (Tx.RevocationEpoch), 128 random bits that the schema's triggers
// write (SQLite migration 13, PostgreSQL 11). Never change it: released
// migrations use it.
const revocationEpochPrefix = "revocation-epoch/"

// epochOrNil is GetMeta's answer as RevocationEpoch gives it: no token is
// nil, not an error.
func epochOrNil(b []byte, err error) ([]byte, error) {
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// revocationsQuery reads the covering partial index serials_crl
// (migration 8: serial, revocation time and reason of revoked serials
// only), in serial order: no table row and no column a CRL does not print.
const revocationsQuery = `SELECT serial, revoked_at, reason FROM serials INDEXED BY serials_crl
		WHERE issuer = ? AND revoked_at IS NOT NULL ORDER BY serial`

// EachRevocation calls fn for each serial issuer revoked, in serial order.
// On a transaction's pinned connection the rows are read through SQLite's
// C interface (eachRaw): a serial is handed over where SQLite keeps it,
// and nothing is allocated a row.
func (t *sqliteTx) EachRevocation(issuer string, fn RevocationFunc) error {
	handled, err := t.eachRaw(revocationsQuery, []any{issuer}, func(r *rawQuery) error {
		// sqlite3_column_blob before sqlite3_column_bytes, as SQLite asks.
		p := sqlite3.Xsqlite3_column_blob(r.tls, r.stmt, 0)
		n := int(sqlite3.Xsqlite3_column_bytes(r.tls, r.stmt, 0))
		if p == 0 && n > 0 {
			return &rawError{code: sqlite3.SQLITE_NOMEM, msg: "out of memory reading a serial"}
		}
		var serial []byte
		if n > 0 {
			serial = unsafe.Slice((*byte)(unsafe.Add(nil, p)), n)
		}
		at := sqlite3.Xsqlite3_column_int64(r.tls, r.stmt, 1)
		reason := sqlite3.Xsqlite3_column_int64(r.tls, r.stmt, 2)
		return fn(serial, time.Unix(0, at).UTC(), int(reason))
	})
	if handled {
		return err
	}
	rows, err := t.rawQuery(revocationsQuery, issuer)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer rows.Close()
	var serial sql.RawBytes
	var revoked int64
	var reason int
	for rows.Next() {
		if err := rows.Scan(&serial, &revoked, &reason); err != nil {
			return wrapSQLiteErr(err)
		}
		if err := fn(serial, time.Unix(0, revoked).UTC(), reason); err != nil {
			return err
		}
	}
	return wrapSQLiteErr(rows.Err())
}
