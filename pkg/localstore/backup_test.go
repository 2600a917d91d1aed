package localstore_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

// rows reads every table of s (as a copy does).
func rows(t *testing.T, s localstore.Store) map[string][][]any {
	t.Helper()
	out := map[string][][]any{}
	err := s.View(context.Background(), func(tx localstore.Tx) error {
		b, err := localstore.AsBulk(tx)
		if err != nil {
			return err
		}
		for _, table := range localstore.Tables() {
			if err := b.ScanTable(table, 100, func(r [][]any) error {
				out[table] = append(out[table], r...)
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// withoutMeta drops the meta keys a PostgreSQL store adds for its master
// key (they are not data).
func withoutKeyMeta(in map[string][][]any) map[string][][]any {
	out := map[string][][]any{}
	for k, v := range in {
		out[k] = v
	}
	var meta [][]any
	for _, r := range in["meta"] {
		switch r[0] {
		case localstore.MetaMasterKeyCheck, localstore.MetaMasterKeyWrapped:
		default:
			meta = append(meta, r)
		}
	}
	out["meta"] = meta
	return out
}

func fill(t *testing.T, v *localstore.Vault) {
	t.Helper()
	sealKey(t, v, "certificate/a/v1/key", ecKey(t))
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		now := time.Unix(1700000000, 123456000).UTC()
		if err := tx.PutCertificate(&localstore.Certificate{ID: "a", DomainName: "a.example", Status: "ISSUED",
			Type: "PRIVATE", KeyPairOrigin: "VAULT", KeyAlgorithm: "EC_prime256v1", CreatedAt: now, NotAfter: now.Add(time.Hour)}); err != nil {
			return err
		}
		if err := tx.PutVersion("a", &localstore.CertificateVersion{Number: 1, KeyRef: "certificate/a/v1/key"}); err != nil {
			return err
		}
		if err := tx.ReserveSerial("ca", "01", "a", now); err != nil {
			return err
		}
		if err := tx.PutObject(&localstore.Object{Kind: "ca", ID: "ca", Data: []byte("{}")}); err != nil {
			return err
		}
		for i := range 3 {
			if _, err := tx.AppendEvent(now, []byte("{}")); err != nil {
				return err
			}
			if err := tx.AppendAudit(localstore.AuditRow{Seq: int64(i + 1), Time: now, Data: []byte("{}"), MAC: []byte{1}}); err != nil {
				return err
			}
		}
		return tx.PutMeta("x", []byte{0, 1})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testBackupRoundTrip(t *testing.T, source localstore.Options, target string) {
	ctx := context.Background()
	src := openVault(t, filepath.Join(t.TempDir(), "src"), source)
	fill(t, src)
	out := filepath.Join(t.TempDir(), "backup.db")
	info, err := src.WriteBackup(ctx, out, time.Now())
	if err != nil {
		t.Fatalf("WriteBackup: %v", err)
	}
	fi, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %v, want 0600", fi.Mode().Perm())
	}
	if m, _ := filepath.Glob(out + "*"); len(m) != 1 {
		t.Errorf("files beside the backup: %v", m)
	}
	wantForm := localstore.KeyPlain
	if source.Passphrase != nil {
		wantForm = localstore.KeyWrapped
	}
	if info.Key.Form != wantForm || info.Counts["certificates"] != 1 || info.Counts["audit"] != 3 {
		t.Errorf("backup info %+v", info)
	}

	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dstDir := filepath.Join(t.TempDir(), "dst")
	if err := os.MkdirAll(dstDir, 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := localstore.OpenBackup(ctx, f, dstDir)
	if err != nil {
		t.Fatalf("OpenBackup: %v", err)
	}
	defer b.Close()
	if b.Info.Key.Form != wantForm || !bytes.Equal(b.Info.Key.Data, info.Key.Data) || b.Info.Source != src.StoreKind() {
		t.Errorf("read back info %+v", b.Info)
	}
	dstOpts := source
	dstOpts.StoreURL = target
	dst := openVault(t, dstDir, dstOpts)
	if _, err := dst.InstallKeyMaterial(context.Background(), b.Info.Key); err != nil {
		t.Fatalf("InstallKeyMaterial: %v", err)
	}
	err = dst.Store.Update(ctx, func(tx localstore.Tx) error { return localstore.CopyAll(ctx, b.Store, tx.(localstore.BulkTx)) })
	if err != nil {
		t.Fatalf("CopyAll: %v", err)
	}
	if got, want := withoutKeyMeta(rows(t, dst.Store)), withoutKeyMeta(rows(t, src.Store)); !reflect.DeepEqual(got, want) {
		t.Errorf("restored rows differ:\n got %v\nwant %v", got, want)
	}
	if _, err := openKey(dst, "certificate/a/v1/key"); err != nil {
		t.Errorf("the restored key does not open: %v", err)
	}
}

func TestBackupSQLite(t *testing.T) {
	t.Parallel()
	t.Run("plain", func(t *testing.T) { testBackupRoundTrip(t, localstore.Options{}, "") })
	t.Run("wrapped", func(t *testing.T) {
		testBackupRoundTrip(t, localstore.Options{Passphrase: []byte("p"), Scrypt: cheapScrypt}, "")
	})
}

func TestBackupPostgres(t *testing.T) {
	postgresURL(t)
	t.Parallel()
	t.Run("to sqlite", func(t *testing.T) {
		testBackupRoundTrip(t, localstore.Options{StoreURL: freshSchema(t), Passphrase: []byte("p"), Scrypt: cheapScrypt}, "")
	})
	t.Run("to postgres", func(t *testing.T) {
		testBackupRoundTrip(t, localstore.Options{}, freshSchema(t))
	})
}

func TestOpenBackupRefusesOtherFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	vaultDB := filepath.Join(t.TempDir(), "vault")
	v := openVault(t, vaultDB, localstore.Options{})
	fill(t, v)
	plainDB, _ := os.ReadFile(filepath.Join(vaultDB, localstore.DatabaseFile))
	for name, content := range map[string][]byte{
		"text":             []byte("hello"),
		"empty":            nil,
		"a vault database": plainDB,
	} {
		_, err := localstore.OpenBackup(ctx, bytes.NewReader(content), dir)
		if !errors.Is(err, localstore.ErrInvalidBackup) {
			t.Errorf("%s: %v, want ErrInvalidBackup", name, err)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*")); len(m) != 0 {
		t.Errorf("working copies left: %v", m)
	}
	// A backup whose schema version no certctl writes (tester: -1 made
	// restore fail with an internal error, an index out of range).
	path := filepath.Join(t.TempDir(), "neg.bak")
	if _, err := v.WriteBackup(ctx, path, time.Now()); err != nil {
		t.Fatal(err)
	}
	s, err := localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec("PRAGMA user_version = -1"); err != nil {
		t.Fatal(err)
	}
	if err := s.FoldLog(ctx); err != nil { // into the file read below
		t.Fatal(err)
	}
	s.Close()
	neg, _ := os.ReadFile(path)
	if _, err := localstore.OpenBackup(ctx, bytes.NewReader(neg), dir); !errors.Is(err, localstore.ErrInvalidBackup) || !strings.Contains(err.Error(), "schema version -1") {
		t.Errorf("a backup at schema version -1: %v, want ErrInvalidBackup naming it", err)
	}
}

// TestOpenBackupNewer: a backup a newer certctl made — a schema version
// past SchemaVersion, or a later backup format — is a certctl backup
// (ErrNewerBackup, not ErrInvalidBackup) to restore with that release or
// a newer one (tester: "not a certctl vault backup: schema version 99 is
// newer than this certctl understands"). A backup of a PostgreSQL store
// is a SQLite file of the same schema, read the same way.
func TestOpenBackupNewer(t *testing.T) {
	t.Parallel()
	for _, source := range []string{"sqlite", "postgres"} {
		t.Run(source, func(t *testing.T) {
			opts := localstore.Options{}
			if source == "postgres" {
				postgresURL(t)
				opts.StoreURL = freshSchema(t)
			}
			ctx := context.Background()
			v := openVault(t, t.TempDir(), opts)
			fill(t, v)
			path := filepath.Join(t.TempDir(), "vault.bak")
			if _, err := v.WriteBackup(ctx, path, time.Now()); err != nil {
				t.Fatal(err)
			}
			good, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The schema version is the header's user_version, a
			// big-endian integer at offset 60.
			newer := bytes.Clone(good)
			binary.BigEndian.PutUint32(newer[60:], uint32(localstore.SchemaVersion+1))
			for name, content := range map[string][]byte{
				"schema version": newer,
				"format":         withBackupFormat(t, good, "certctl-vault-backup/2"),
			} {
				_, err := localstore.OpenBackup(ctx, bytes.NewReader(content), t.TempDir())
				if !errors.Is(err, localstore.ErrNewerBackup) || errors.Is(err, localstore.ErrInvalidBackup) ||
					!strings.Contains(err.Error(), "made by a newer certctl") || !strings.HasSuffix(err.Error(), "restore it with that release or a newer one") {
					t.Errorf("a backup of a newer %s: %v, want ErrNewerBackup saying to restore it with that release", name, err)
				}
			}
			if _, err := localstore.OpenBackup(ctx, bytes.NewReader(withBackupFormat(t, good, "other-backup/2")), t.TempDir()); !errors.Is(err, localstore.ErrInvalidBackup) {
				t.Errorf("a backup of another format: %v, want ErrInvalidBackup", err)
			}
		})
	}
}

// withBackupFormat is the backup b with format as its backup_info format.
func withBackupFormat(t *testing.T, b []byte, format string) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "format.bak")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := localstore.OpenSQLite(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB().Exec("UPDATE backup_info SET value = ? WHERE key = 'format'", []byte(format)); err != nil {
		t.Fatal(err)
	}
	if err := s.FoldLog(context.Background()); err != nil { // into the file read below
		t.Fatal(err)
	}
	s.Close()
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
