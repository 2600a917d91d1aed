package localstore

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations are applied in order; the schema version is PRAGMA user_version.
// Never edit a released migration: append a new one.
var migrations = []string{
	// 1: the inventory, generic objects, secrets, serials and metadata.
	`CREATE TABLE certificates (
		id TEXT PRIMARY KEY,
		domain_name TEXT NOT NULL,
		status TEXT NOT NULL,
		type TEXT NOT NULL,
		origin TEXT NOT NULL,
		key_algorithm TEXT NOT NULL,
		not_after INTEGER,
		created_at INTEGER NOT NULL,
		exportable INTEGER NOT NULL DEFAULT 0,
		in_use INTEGER NOT NULL DEFAULT 0,
		eligibility TEXT NOT NULL DEFAULT '',
		data BLOB NOT NULL
	);
	CREATE INDEX certificates_created ON certificates(created_at, id);
	CREATE INDEX certificates_not_after ON certificates(not_after, id);
	CREATE INDEX certificates_domain ON certificates(domain_name, id);
	CREATE TABLE cert_versions (
		cert_id TEXT NOT NULL,
		version INTEGER NOT NULL,
		data BLOB NOT NULL,
		PRIMARY KEY (cert_id, version)
	);
	CREATE TABLE secrets (ref TEXT PRIMARY KEY, sealed BLOB NOT NULL);
	CREATE TABLE serials (
		issuer TEXT NOT NULL,
		serial TEXT NOT NULL,
		cert_id TEXT NOT NULL,
		created_at INTEGER NOT NULL,
		PRIMARY KEY (issuer, serial)
	);
	CREATE TABLE objects (
		kind TEXT NOT NULL,
		id TEXT NOT NULL,
		data BLOB NOT NULL,
		updated_at INTEGER,
		PRIMARY KEY (kind, id)
	);
	CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);`,
	// 2: revocation state of issued serials (CRL and OCSP read it without
	// decoding certificate records).
	`ALTER TABLE serials ADD COLUMN revoked_at INTEGER;
	ALTER TABLE serials ADD COLUMN reason INTEGER NOT NULL DEFAULT 0;
	CREATE INDEX serials_revoked ON serials(issuer, revoked_at) WHERE revoked_at IS NOT NULL;`,
	// 3: the event log (EventBridge-shaped JSON, in order).
	`CREATE TABLE events (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		time INTEGER NOT NULL,
		data BLOB NOT NULL
	);
	CREATE INDEX events_time ON events(time);`,
	// 4: the audit log (who changed what), each record chained to the one
	// before it by an HMAC under the master key.
	`CREATE TABLE audit (
		seq INTEGER PRIMARY KEY,
		time INTEGER NOT NULL,
		data BLOB NOT NULL,
		mac BLOB NOT NULL
	);
	CREATE INDEX audit_time ON audit(time);`,
	// 5: issued certificates (AWS Private CA keeps every certificate a CA
	// issued): the certificate, its template and requester, and the fields
	// of the audit report, so that a report reads no certificate. The
	// report reads the covering index alone, in order, never the rows
	// with their DER.
	`ALTER TABLE serials ADD COLUMN der BLOB;
	ALTER TABLE serials ADD COLUMN template TEXT NOT NULL DEFAULT '';
	ALTER TABLE serials ADD COLUMN requester TEXT NOT NULL DEFAULT '';
	ALTER TABLE serials ADD COLUMN subject TEXT NOT NULL DEFAULT '';
	ALTER TABLE serials ADD COLUMN not_before INTEGER;
	ALTER TABLE serials ADD COLUMN not_after INTEGER;
	CREATE INDEX serials_issued ON serials(issuer, created_at, serial, revoked_at, reason, subject, not_before, not_after, template, requester, cert_id);`,
	// 6: acme nonces — the ACME servers' shared set of redeemed nonces
	// (see nonces.go).
	`CREATE TABLE acme_nonces (
		nonce TEXT PRIMARY KEY,
		expires_at INTEGER NOT NULL
	) WITHOUT ROWID;
	CREATE INDEX acme_nonces_expires ON acme_nonces(expires_at);`,
	// 7: certificate tags and UpdatedAt in columns of their own (see
	// certtags.go), so that a tag change rewrites neither the record nor
	// an index. NULL: still in the record (written before this migration).
	`ALTER TABLE certificates ADD COLUMN tags BLOB;
	ALTER TABLE certificates ADD COLUMN updated_at INTEGER;`,
	// 8: crl — a covering partial index of revoked serials in serial
	// order, so that a CRL (EachRevocation) reads the index alone.
	`CREATE INDEX serials_crl ON serials(issuer, serial, revoked_at, reason) WHERE revoked_at IS NOT NULL;`,
	// 9: list summaries — what `list` shows and filters on of each
	// certificate, in a column of its own (see certsummary.go), so that a
	// list decodes no record. NULL: written before this migration (the
	// list decodes the record).
	`ALTER TABLE certificates ADD COLUMN summary BLOB;`,
	// 10: list covering indexes — the created_at and not_after indexes
	// (the default order, and the order of an expiring-within list) also
	// hold every column a summary list filters on and reads when it needs
	// no tags (see sqliteSummaryColumns), so that such a list reads its
	// index alone, in order, instead of looking up every row in the
	// table. Not the tags: a tag change still rewrites no index.
	`DROP INDEX certificates_created;
	CREATE INDEX certificates_created ON certificates(created_at, id, not_after, ` + listIndexColumns + `);
	DROP INDEX certificates_not_after;
	CREATE INDEX certificates_not_after ON certificates(not_after, id, created_at, ` + listIndexColumns + `);`,
	// 11: a NotAfter past 2262-04-11 (9999-12-31, RFC 5280's "no
	// well-defined expiration date") wrapped around int64 nanoseconds to
	// a time in the past, so that such a certificate sorted first and
	// showed in every expiring-within list: it is now the largest int64
	// (see timeutil.UnixNano), as PutCertificate writes it.
	`UPDATE certificates SET not_after = 9223372036854775807
		WHERE not_after IS NOT NULL AND CASE WHEN json_valid(CAST(data AS TEXT))
			THEN json_extract(CAST(data AS TEXT), '$.notAfter') >= '2262-04-11T23:47:17' ELSE 0 END;`,
	// 12: no audit_time — no query reads the audit log by time (it is read
	// in seq order, by its primary key), and the index cost every change a
	// page of the log written at commit.
	`DROP INDEX IF EXISTS audit_time;`,
	// 13: revocation epochs (RevocationEpoch) — a new random token for
	// an issuer whenever a revocation of its serials is written, deleted
	// or inserted, by triggers, so that no writer can change what a CRL
	// lists without it: not this build, not a later bulk path, and not an
	// earlier build, which this schema version refuses. Issuers that
	// revoked before get a token now.
	`CREATE TRIGGER IF NOT EXISTS serials_revocation_epoch AFTER UPDATE OF revoked_at, reason ON serials
	BEGIN
		INSERT INTO meta (key, value) VALUES ('` + revocationEpochPrefix + `' || NEW.issuer, randomblob(16))
			ON CONFLICT(key) DO UPDATE SET value = excluded.value;
	END;
	CREATE TRIGGER IF NOT EXISTS serials_revoked_inserted AFTER INSERT ON serials WHEN NEW.revoked_at IS NOT NULL
	BEGIN
		INSERT INTO meta (key, value) VALUES ('` + revocationEpochPrefix + `' || NEW.issuer, randomblob(16))
			ON CONFLICT(key) DO UPDATE SET value = excluded.value;
	END;
	CREATE TRIGGER IF NOT EXISTS serials_revoked_deleted AFTER DELETE ON serials WHEN OLD.revoked_at IS NOT NULL
	BEGIN
		INSERT INTO meta (key, value) VALUES ('` + revocationEpochPrefix + `' || OLD.issuer, randomblob(16))
			ON CONFLICT(key) DO UPDATE SET value = excluded.value;
	END;
	INSERT INTO meta (key, value) SELECT '` + revocationEpochPrefix + `' || issuer, randomblob(16) FROM serials
		WHERE revoked_at IS NOT NULL GROUP BY issuer
		ON CONFLICT(key) DO NOTHING;`,
	// 14: the compromise rule (a key revoked for keyCompromise or
	// cACompromise is signed for or with never again) for revocations an
	// earlier release wrote without its marks, which the next command
	// applies (MetaUpgradeCompromisedKeys: set when there are any); and a
	// version that earlier releases refuse, since they drop the CA's
	// KeyRevoked mark when they rewrite its record.
	`INSERT INTO meta (key, value) SELECT '` + MetaUpgradeCompromisedKeys + `', x'01'
		WHERE EXISTS (SELECT 1 FROM serials WHERE revoked_at IS NOT NULL AND reason IN (1, 2))
		ON CONFLICT(key) DO NOTHING;`,
	// 15: certificate versions hold their certificate and chain as PEM
	// text (PEMText) rather than base64 of it, which earlier releases
	// alone read: a version they refuse. Nothing to rewrite: this build
	// reads both forms, and the rows written before stay as they are.
	`SELECT 1;`,
}

// MetaUpgradeCompromisedKeys is the meta key that says the compromise
// rule has yet to be applied to the revocations already in the store
// (SQLite migration 14, PostgreSQL 12): see authority.BackfillCompromised.
const MetaUpgradeCompromisedKeys = "upgrade:compromised-keys"

// listIndexColumns are the columns that the list covering indexes
// (migration 10) hold after their sort key: the filters of
// CertificateFilter, then what a summary list reads. Never change it: a
// released migration uses it.
const listIndexColumns = "origin, status, type, key_algorithm, eligibility, exportable, in_use, summary"

// upToDateQuery reads the schema version and counts the upgrade marks
// (upgrademark.go) in one statement.
const upToDateQuery = `SELECT user_version, (SELECT count(*) FROM meta WHERE key = '` +
	MetaUpgradeCompromisedKeys + `') FROM pragma_user_version`

// SchemaVersion is the schema version this build writes.
var SchemaVersion = len(migrations)

// checkSchemaVersion refuses a schema version v of a store ("vault",
// "store") that this certctl, which knows n, cannot migrate: a newer one,
// or a negative one, which no certctl writes (tester: PRAGMA user_version
// = -1 made every command fail with an internal error, an index out of
// range).
func checkSchemaVersion(what string, v, n int) error {
	switch {
	case v > n:
		return fmt.Errorf("%s schema version %d is newer than this certctl understands (%d): upgrade certctl", what, v, n)
	case v < 0:
		return fmt.Errorf("%w: %s schema version %d is none certctl writes: not a certctl vault, or damaged", ErrCorrupt, what, v)
	}
	return nil
}

func (s *SQLite) migrate(ctx context.Context) error {
	var v int
	if err := s.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return wrapSQLiteErr(err)
	}
	if v == len(migrations) {
		return nil
	}
	if err := checkSchemaVersion("vault", v, len(migrations)); err != nil {
		return err
	}
	// BEGIN IMMEDIATE (the DSN's txlock) serialises concurrent first opens;
	// the version is read again inside the transaction.
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{})
	if err != nil {
		return wrapSQLiteErr(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after commit
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return wrapSQLiteErr(err)
	}
	if err := checkSchemaVersion("vault", v, len(migrations)); err != nil {
		return err
	}
	if v == 0 {
		// A new vault is an empty database: one that holds tables of its
		// own is another program's, and is not taken over.
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			return wrapSQLiteErr(err)
		}
		if n > 0 {
			return fmt.Errorf("%w: %s holds %d schema objects of another program (its schema version is 0): not a certctl vault", ErrCorrupt, s.path, n)
		}
	}
	for i := v; i < len(migrations); i++ {
		if _, err := tx.ExecContext(ctx, migrations[i]); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, wrapSQLiteErr(err))
		}
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", len(migrations))); err != nil {
		return wrapSQLiteErr(err)
	}
	return wrapSQLiteErr(tx.Commit())
}
