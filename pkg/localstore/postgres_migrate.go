package localstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// pgMigrations are the schema versions of the PostgreSQL store, applied in
// order and recorded in schema_migrations. Never edit a released migration:
// append a new one.
//
// The tables are those of the SQLite store. Times are Unix nanoseconds in
// BIGINT, as in SQLite, so that both stores keep them exactly. Keys and
// sorted text columns use the "C" collation, so that ordering and prefix
// matching are bytewise like SQLite's whatever the database's locale.
// Records are BYTEA, not JSONB: they are stored and returned byte for byte
// (JSONB would reorder them and refuses \u0000). write_lock holds no rows:
// retried write transactions lock it (see Postgres.Update).
var pgMigrations = []string{
	// 1: the schema of SQLite's migrations 1 to 3.
	`CREATE TABLE certificates (
		id TEXT COLLATE "C" PRIMARY KEY,
		domain_name TEXT COLLATE "C" NOT NULL,
		status TEXT NOT NULL,
		type TEXT NOT NULL,
		origin TEXT NOT NULL,
		key_algorithm TEXT NOT NULL,
		not_after BIGINT,
		created_at BIGINT NOT NULL,
		exportable BOOLEAN NOT NULL DEFAULT FALSE,
		in_use BOOLEAN NOT NULL DEFAULT FALSE,
		eligibility TEXT NOT NULL DEFAULT '',
		data BYTEA NOT NULL
	);
	CREATE INDEX certificates_created ON certificates(created_at, id);
	CREATE INDEX certificates_not_after ON certificates(not_after NULLS FIRST, id);
	CREATE INDEX certificates_domain ON certificates(domain_name, id);
	CREATE TABLE cert_versions (
		cert_id TEXT COLLATE "C" NOT NULL,
		version INTEGER NOT NULL,
		data BYTEA NOT NULL,
		PRIMARY KEY (cert_id, version)
	);
	CREATE TABLE secrets (ref TEXT COLLATE "C" PRIMARY KEY, sealed BYTEA NOT NULL);
	CREATE TABLE serials (
		issuer TEXT COLLATE "C" NOT NULL,
		serial TEXT COLLATE "C" NOT NULL,
		cert_id TEXT NOT NULL,
		created_at BIGINT NOT NULL,
		revoked_at BIGINT,
		reason INTEGER NOT NULL DEFAULT 0,
		PRIMARY KEY (issuer, serial)
	);
	CREATE INDEX serials_revoked ON serials(issuer, revoked_at) WHERE revoked_at IS NOT NULL;
	CREATE TABLE objects (
		kind TEXT COLLATE "C" NOT NULL,
		id TEXT COLLATE "C" NOT NULL,
		data BYTEA NOT NULL,
		updated_at BIGINT,
		PRIMARY KEY (kind, id)
	);
	CREATE TABLE meta (key TEXT COLLATE "C" PRIMARY KEY, value BYTEA NOT NULL);
	CREATE TABLE events (
		seq BIGSERIAL PRIMARY KEY,
		time BIGINT NOT NULL,
		data BYTEA NOT NULL
	);
	CREATE INDEX events_time ON events(time);
	CREATE TABLE write_lock (id INTEGER PRIMARY KEY);`,
	// 2: the audit log, as SQLite's migration 4.
	`CREATE TABLE audit (
		seq BIGINT PRIMARY KEY,
		time BIGINT NOT NULL,
		data BYTEA NOT NULL,
		mac BYTEA NOT NULL
	);
	CREATE INDEX audit_time ON audit(time);`,
	// 3: issued certificates, as SQLite's migration 5.
	`ALTER TABLE serials ADD COLUMN der BYTEA;
	ALTER TABLE serials ADD COLUMN template TEXT NOT NULL DEFAULT '';
	ALTER TABLE serials ADD COLUMN requester TEXT NOT NULL DEFAULT '';
	ALTER TABLE serials ADD COLUMN subject TEXT NOT NULL DEFAULT '';
	ALTER TABLE serials ADD COLUMN not_before BIGINT;
	ALTER TABLE serials ADD COLUMN not_after BIGINT;
	CREATE INDEX serials_issued ON serials(issuer, created_at, serial)
		INCLUDE (revoked_at, reason, subject, not_before, not_after, template, requester, cert_id);`,
	// 4: acme nonces, as SQLite's migration 6.
	`CREATE TABLE acme_nonces (
		nonce TEXT COLLATE "C" PRIMARY KEY,
		expires_at BIGINT NOT NULL
	);
	CREATE INDEX acme_nonces_expires ON acme_nonces(expires_at);`,
	// 5: certificate tags and UpdatedAt in columns of their own, as
	// SQLite's migration 7.
	`ALTER TABLE certificates ADD COLUMN tags BYTEA;
	ALTER TABLE certificates ADD COLUMN updated_at BIGINT;`,
	// 6: crl, as SQLite's migration 8: a covering partial index of revoked
	// serials in serial order (an index-only scan for EachRevocation).
	`CREATE INDEX serials_crl ON serials(issuer, serial) INCLUDE (revoked_at, reason) WHERE revoked_at IS NOT NULL;`,
	// 7: list summaries, as SQLite's migration 9.
	`ALTER TABLE certificates ADD COLUMN summary BYTEA;`,
	// 8: list covering indexes, as SQLite's migration 10 but PostgreSQL's
	// way: the created_at and not_after orders again, with every column a
	// summary list filters on and reads when it needs no tags INCLUDEd, so
	// that such a list is an index-only scan in order (no sort of the
	// table). A B-tree entry holds at most 2704 bytes, so these indexes
	// are partial: a summary longer than pgListSummaryMax (a certificate
	// with very many SANs) stays out of them, and so do rows without a
	// summary; certificates_list_uncovered finds those at once, and a list
	// reads the table when there are any (see pgTx.listCovered). The
	// first indexes stay, for lists of whole records. Not the tags: a tag
	// change still rewrites no index.
	`CREATE INDEX certificates_list_created ON certificates(created_at, id)
		INCLUDE (not_after, ` + pgListIndexColumns + `) WHERE ` + pgListCovered + `;
	CREATE INDEX certificates_list_not_after ON certificates(not_after NULLS FIRST, id)
		INCLUDE (created_at, ` + pgListIndexColumns + `) WHERE ` + pgListCovered + `;
	CREATE INDEX certificates_list_uncovered ON certificates(id) WHERE NOT (` + pgListCovered + `) OR summary IS NULL;`,
	// 9: a NotAfter past 2262-04-11 is the largest int64, not a wrapped
	// time in the past, as SQLite's migration 11. The record's notAfter is
	// read as the 19 bytes after its key (an unescaped quote cannot occur
	// inside a JSON string, so the key is found only as a key), encoded
	// as text so that no record, corrupt or not, fails the migration: 0.2 s
	// for 200,000 rows, where converting each record and matching a
	// regular expression took 2 s.
	`UPDATE certificates SET not_after = 9223372036854775807
		WHERE not_after IS NOT NULL AND position('"notAfter":"'::bytea in data) > 0
		AND encode(substring(data from position('"notAfter":"'::bytea in data) + 12 for 19), 'escape') >= '2262-04-11T23:47:17';`,
	// 10: no audit_time, as SQLite's migration 12: no query reads the
	// audit log by time, and every change paid for the index entry.
	`DROP INDEX IF EXISTS audit_time;`,
	// 11: revocation epochs, as SQLite's migration 13: triggers give an
	// issuer a new random token whenever a revocation of its serials is
	// written, deleted or inserted; issuers that revoked before get one
	// now. The function writes the meta table of the schema of the table
	// it fired on (TG_TABLE_SCHEMA), never one found through a search_path:
	// a revoking session's, such as the default "$user", public, would find
	// another role's store, or none, or a temporary table named meta; one
	// pinned at migration would break when the schema is renamed or
	// restored under another name (reviews). gen_random_uuid is
	// PostgreSQL's own from 13.
	`CREATE OR REPLACE FUNCTION certctl_revocation_epoch() RETURNS trigger LANGUAGE plpgsql AS $$
	DECLARE
		k TEXT := '` + revocationEpochPrefix + `' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.issuer ELSE NEW.issuer END);
		mark TEXT := 'certctl.epoch_' || md5(k);
	BEGIN
		-- One new token a transaction is enough (readers see the one
		-- before or the one after it): the first change writes it and
		-- marks the transaction (a setting local to it, undone at its
		-- end and with a savepoint rolled back over the write), the
		-- others find the mark. A row upserted again and again in one
		-- transaction makes each upsert walk every version before it.
		IF current_setting(mark, true) IS DISTINCT FROM 'written' THEN
			EXECUTE format('INSERT INTO %I.meta (key, value) VALUES ($1, uuid_send(gen_random_uuid()))
				ON CONFLICT (key) DO UPDATE SET value = excluded.value', TG_TABLE_SCHEMA) USING k;
			PERFORM set_config(mark, 'written', true);
		END IF;
		RETURN NULL;
	END $$;
	DROP TRIGGER IF EXISTS serials_revocation_epoch ON serials;
	CREATE TRIGGER serials_revocation_epoch AFTER UPDATE OF revoked_at, reason ON serials
		FOR EACH ROW EXECUTE FUNCTION certctl_revocation_epoch();
	DROP TRIGGER IF EXISTS serials_revoked_inserted ON serials;
	CREATE TRIGGER serials_revoked_inserted AFTER INSERT ON serials
		FOR EACH ROW WHEN (NEW.revoked_at IS NOT NULL) EXECUTE FUNCTION certctl_revocation_epoch();
	DROP TRIGGER IF EXISTS serials_revoked_deleted ON serials;
	CREATE TRIGGER serials_revoked_deleted AFTER DELETE ON serials
		FOR EACH ROW WHEN (OLD.revoked_at IS NOT NULL) EXECUTE FUNCTION certctl_revocation_epoch();
	INSERT INTO meta (key, value) SELECT '` + revocationEpochPrefix + `' || issuer, uuid_send(gen_random_uuid()) FROM serials
		WHERE revoked_at IS NOT NULL GROUP BY issuer
		ON CONFLICT (key) DO NOTHING;`,
	// 12: as SQLite's 14 — the compromise rule for the revocations of
	// earlier releases (MetaUpgradeCompromisedKeys), and a version they
	// refuse.
	`INSERT INTO meta (key, value) SELECT '` + MetaUpgradeCompromisedKeys + `', '\x01'::bytea
		WHERE EXISTS (SELECT 1 FROM serials WHERE revoked_at IS NOT NULL AND reason IN (1, 2))
		ON CONFLICT (key) DO NOTHING;`,
	// 13: as SQLite's 15 — certificate versions hold their PEM as text
	// (PEMText), which earlier releases cannot read: a version they
	// refuse, and nothing to rewrite.
	`SELECT 1;`,
}

// pgListIndexColumns are the columns that the list covering indexes
// (migration 8) INCLUDE after their sort key: the filters of
// CertificateFilter, then the summary. Never change it: a released
// migration uses it.
const pgListIndexColumns = "origin, status, type, key_algorithm, eligibility, exportable, in_use, summary"

// pgListCovered is the predicate of the rows in the list covering indexes
// (migration 8): a summary short enough for a B-tree entry (at most 2704
// bytes, with the other columns). A query uses those indexes only when
// its WHERE states this predicate word for word (a literal, not a
// parameter). Never change it: a released migration uses it.
const pgListCovered = "octet_length(summary) <= 2000"

// PostgresSchemaVersion is the schema version of the PostgreSQL store this
// build writes.
var PostgresSchemaVersion = len(pgMigrations)

// schemaIsCurrent reports whether the schema is this build's, in one
// query (and reads the upgrade marks then). An error from the server
// (*pgconn.PgError) is a schema without its tables.
func (p *Postgres) schemaIsCurrent(ctx context.Context) (bool, error) {
	var current, marks int
	err := p.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0),
		(SELECT count(*) FROM meta WHERE key = '`+MetaUpgradeCompromisedKeys+`') FROM schema_migrations`,
		pgx.QueryExecModeSimpleProtocol).Scan(&current, &marks)
	if err != nil || current != len(pgMigrations) {
		return false, err
	}
	p.marks = marksFrom(marks)
	return true, nil
}

// migrate brings the schema up to date in one transaction. The transaction
// first takes an advisory lock (keyed by the schema, released at commit), so
// that machines opening a new database at once apply the migrations once:
// the others wait, then find them applied. DDL is transactional in
// PostgreSQL, so a failed migration leaves nothing behind.
//
// A schema already up to date, the usual case, is found with one query
// (the simple protocol: one round trip, no statement prepared) and no
// transaction or lock: every command opens the store, and those six round
// trips were a tenth of a short list's time on PostgreSQL. The query also
// counts the upgrade marks (upgrademark.go).
func (p *Postgres) migrate(ctx context.Context) error {
	current, err := p.schemaIsCurrent(ctx)
	var pe *pgconn.PgError
	switch {
	case current:
		return nil
	case err != nil && !errors.As(err, &pe):
		return err // no connection: the transaction below would wait for one again
	}
	// No table yet, a schema behind (or ahead: reported below), or an
	// error the transaction reports better.
	tx, err := p.pool.BeginTx(ctx, pgx.TxOptions{})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // no-op after commit
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended('certctl:migrate:' || coalesce(current_schema(), ''), 0))`); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
	)`); err != nil {
		return fmt.Errorf("schema migrations table: %w", err)
	}
	var v int
	if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v); err != nil {
		return err
	}
	if err := checkSchemaVersion("store", v, len(pgMigrations)); err != nil {
		return err
	}
	for i := v; i < len(pgMigrations); i++ {
		if _, err := tx.Exec(ctx, pgMigrations[i]); err != nil {
			return fmt.Errorf("schema migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, i+1); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}
