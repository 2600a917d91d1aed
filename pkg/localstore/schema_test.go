package localstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// writeVaultRows writes a row of every kind the vault keeps (several of
// the tables the migrations rebuild or re-index), as a build of any schema
// since 11 writes them.
func writeVaultRows(tx localstore.Tx) error {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range 3 {
		id := fmt.Sprintf("cert-%d", i)
		if err := tx.PutCertificate(&localstore.Certificate{ID: id, DomainName: id + ".test", Status: "ISSUED",
			Type: "PRIVATE", KeyPairOrigin: "VAULT", KeyAlgorithm: "EC_prime256v1", CreatedAt: t0.Add(time.Duration(i) * time.Second),
			NotAfter: t0.AddDate(0, 0, i+1), Version: 1, Tags: []localstore.Tag{{Key: "n", Value: id}}}); err != nil {
			return err
		}
		if err := tx.PutVersion(id, &localstore.CertificateVersion{Number: 1, Serial: fmt.Sprintf("0%d", i), NotAfter: t0.AddDate(0, 0, i+1),
			CertificatePEM: []byte("leaf " + id), ChainPEM: []byte("chain"), KeyRef: id + "/1"}); err != nil {
			return err
		}
		if err := tx.PutSecret(id+"/1", []byte("sealed "+id)); err != nil {
			return err
		}
		serial := fmt.Sprintf("0%d", i)
		if err := tx.ReserveSerial("ca", serial, id, t0); err != nil {
			return err
		}
		if err := tx.RecordIssued(&localstore.Serial{Issuer: "ca", Serial: serial, DER: []byte{0x30, byte(i)}, Subject: "CN=" + id,
			NotBefore: t0, NotAfter: t0.AddDate(0, 0, i+1), Template: "EndEntityCertificate", Requester: "USER:test"}); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(t0.Add(time.Duration(i)*time.Minute), []byte(`{"n":`+fmt.Sprint(i)+`}`)); err != nil {
			return err
		}
		if err := tx.AppendAudit(localstore.AuditRow{Seq: int64(i + 1), Time: t0.Add(time.Duration(i) * time.Minute),
			Data: []byte(`{"a":` + fmt.Sprint(i) + `}`), MAC: []byte{byte(i)}}); err != nil {
			return err
		}
	}
	if err := tx.RevokeSerial("ca", "01", t0.Add(time.Hour), 1); err != nil {
		return err
	}
	if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca", Data: []byte(`{}`), UpdatedAt: t0}); err != nil {
		return err
	}
	return tx.PutMeta("m", []byte("v"))
}

// vaultRows reads every row of every table of the vault.
func vaultRows(t *testing.T, tx localstore.Tx) map[string][][]any {
	t.Helper()
	b, err := localstore.AsBulk(tx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]any{}
	for _, table := range localstore.Tables() {
		if err := b.ScanTable(table, 100, func(rows [][]any) error {
			out[table] = append(out[table], rows...)
			return nil
		}); err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
	return out
}

// sqliteSchema is the schema of the database db: every table, index and
// trigger (with the automatic indexes, which have no SQL) by name.
func sqliteSchema(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	rows, err := db.Query(`SELECT type, name, tbl_name, coalesce(sql, '') FROM sqlite_master`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var typ, name, table, q string
		if err := rows.Scan(&typ, &name, &table, &q); err != nil {
			t.Fatal(err)
		}
		out[name] = typ + " on " + table + ": " + q
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSQLiteMigratesSchema11: a vault written at schema 11 (the last before
// the changes that cut the pages a certificate's commit writes) migrates to
// the schema a new vault has, and reads back every row as it was.
func TestSQLiteMigratesSchema11(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	if err := localstore.UpdateAtSchema(ctx, path, 11, writeVaultRows); err != nil {
		t.Fatal(err)
	}
	var before map[string][][]any
	if err := localstore.UpdateAtSchema(ctx, path, 11, func(tx localstore.Tx) error {
		before = vaultRows(t, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, table := range localstore.Tables() {
		if len(before[table]) == 0 {
			t.Fatalf("the schema 11 vault has no %s", table)
		}
	}
	s, err := localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	var after map[string][][]any
	if err := s.View(ctx, func(tx localstore.Tx) error {
		after = vaultRows(t, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Migration 13 gives the issuer that revoked a revocation epoch, and
	// 14 marks the revocation for keyCompromise (serial 01) for the
	// compromise rule.
	after["meta"] = withoutUpgradeMark(t, withoutEpoch(t, after["meta"], "ca"))
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after the migration the vault reads\n%v\nwant\n%v", after, before)
	}
	fresh := newSQLite(t, localstore.OpenSQLite)
	got, want := sqliteSchema(t, s.DB()), sqliteSchema(t, fresh.DB())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("migrated schema\n%v\nwant (a new vault's)\n%v", got, want)
	}
	if _, ok := got["audit_time"]; ok {
		t.Error("the migrated vault still has audit_time")
	}
}

// TestPostgresMigratesSchema9: a PostgreSQL store at schema 9 (with
// audit_time, without revocation epochs) migrates, and reads back every
// row as it was, with an epoch for the issuer that revoked.
func TestPostgresMigratesSchema9(t *testing.T) {
	u := freshSchema(t)
	s := openPostgresAt(t, u)
	ctx := pgCtx(t)
	if err := s.Update(ctx, writeVaultRows); err != nil {
		t.Fatal(err)
	}
	// Schema 9: audit_time, and no revocation epochs (migration 11).
	if _, err := s.Pool().Exec(ctx, `CREATE INDEX audit_time ON audit(time);
		DROP TRIGGER serials_revocation_epoch ON serials;
		DROP TRIGGER serials_revoked_inserted ON serials;
		DROP TRIGGER serials_revoked_deleted ON serials;
		DROP FUNCTION certctl_revocation_epoch();
		DELETE FROM meta WHERE key LIKE 'revocation-epoch/%';
		DELETE FROM schema_migrations WHERE version >= 10`); err != nil {
		t.Fatal(err)
	}
	var before map[string][][]any
	if err := s.View(ctx, func(tx localstore.Tx) error {
		before = vaultRows(t, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	again := openPostgresAt(t, u)
	var after map[string][][]any
	if err := again.View(ctx, func(tx localstore.Tx) error {
		after = vaultRows(t, tx)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Migration 11 gives the issuer that revoked a revocation epoch, and
	// 12 marks the revocation for keyCompromise (serial 01) for the
	// compromise rule.
	after["meta"] = withoutUpgradeMark(t, withoutEpoch(t, after["meta"], "ca"))
	if !reflect.DeepEqual(after, before) {
		t.Errorf("after the migration the store reads\n%v\nwant\n%v", after, before)
	}
	var n int
	if err := again.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'audit_time'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the migrated store still has audit_time")
	}
}

// withoutUpgradeMark returns the meta rows but the mark of the compromise
// rule's upgrade (SQLite migration 14, PostgreSQL 12), failing the test
// when it is not there.
func withoutUpgradeMark(t *testing.T, meta [][]any) [][]any {
	t.Helper()
	var out [][]any
	for _, row := range meta {
		if row[0] == localstore.MetaUpgradeCompromisedKeys {
			if b, _ := row[1].([]byte); string(b) != "\x01" {
				t.Errorf("upgrade mark = %v", row[1])
			}
			continue
		}
		out = append(out, row)
	}
	if len(out) == len(meta) {
		t.Errorf("no upgrade mark for the compromise rule among the meta rows %v", meta)
	}
	return out
}

// withoutEpoch returns the meta rows less the revocation epoch of issuer,
// which must be among them: a token of 16 bytes.
func withoutEpoch(t *testing.T, meta [][]any, issuer string) [][]any {
	t.Helper()
	var out [][]any
	found := false
	for _, row := range meta {
		if row[0] == "revocation-epoch/"+issuer {
			if b, ok := row[1].([]byte); !ok || len(b) != 16 {
				t.Errorf("revocation epoch of %s = %v, want 16 bytes", issuer, row[1])
			}
			found = true
			continue
		}
		out = append(out, row)
	}
	if !found {
		t.Errorf("no revocation epoch for %s among the meta rows %v", issuer, meta)
	}
	return out
}
