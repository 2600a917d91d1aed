package localstore

import (
	"database/sql"
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
// epoch (RevocationEpoch), 16 random bytes (SQLite's randomblob; on
// PostgreSQL a random UUID's, 122 random bits) that the schema's triggers
// write (SQLite migration 13, PostgreSQL 11). Never change it: released
// migrations use it.
const revocationEpochPrefix = "revocation-epoch/"

// RevocationEpoch returns a token that the schema's triggers replace with
// a new random one whenever a revocation of a serial of issuer is
// written, deleted or inserted, by any writer (RevokeSerial, a copy, an
// earlier build): two reads in transactions that return the same token
// saw the same revoked serials of issuer. A transaction's first such
// change replaces it (on PostgreSQL only the first, on SQLite each), so
// compare tokens read in transactions that revoke nothing. nil when issuer
// never revoked.
func RevocationEpoch(tx Tx, issuer string) ([]byte, error) {
	return getMetaOpt(tx, revocationEpochPrefix+issuer)
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
