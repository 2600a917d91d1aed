package vault

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/testbin"
)

// The master key of a vault directory is never replaced, nor a new one
// made, while data sealed under the one it has (or under one it lacks)
// would stop opening: the failures a tester found, each of which left
// every key of a vault unreadable for good.

// request issues a private certificate in the vault, with env, and fails
// the test unless it succeeds.
func mustRequest(t *testing.T, vault string, env []string, name string) {
	t.Helper()
	if r := runEnv(vault, env, "request", "--domain-name", name, "--certificate-authority-arn", "default",
		"--key-algorithm", "EC_prime256v1", "-o", "json"); r.Code != 0 {
		t.Fatalf("request: %v", r)
	}
}

// wantExit fails the test unless r exited with code and its stderr holds
// msg.
func wantExit(t *testing.T, r testbin.Result, code int, msg, what string) {
	t.Helper()
	if r.Code != code || !strings.Contains(string(r.Stderr), msg) {
		t.Fatalf("%s: %v, want exit %d", what, r, code)
	}
}

// mustHold fails the test (with what went wrong) unless the file at path
// holds data.
func mustHold(t *testing.T, path string, data []byte, wrong string) {
	t.Helper()
	if !bytes.Equal(readFile(t, path), data) {
		t.Fatal(wrong)
	}
}

// editBackup runs statement on the backup file at path (a SQLite
// database), as someone damaging it would.
func editBackup(t *testing.T, path, statement string) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(statement); err != nil {
		t.Fatal(err)
	}
}

// mustVerify runs vault verify, with env, and fails the test unless it
// passes.
func mustVerify(t *testing.T, vault string, env []string) {
	t.Helper()
	if r := runEnv(vault, env, "vault", "verify", "-o", "json"); r.Code != 0 {
		t.Fatalf("vault verify: %v", r)
	}
}

// TestMigratedStoreRecordsItsKey: after `vault migrate --to postgres://`,
// a second machine with the passphrase fetches the key the data is sealed
// under (the migration records it); with a key in clear it is refused and
// makes none. The first machine's key file is never replaced.
func TestMigratedStoreRecordsItsKey(t *testing.T) {
	for _, wrapped := range []bool{true, false} {
		name := "clear"
		if wrapped {
			name = "wrapped"
		}
		t.Run(name, func(t *testing.T) {
			store := pgtest.FreshSchema(t)
			root := t.TempDir()
			a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
			var env []string
			keyFile := "master.key"
			if wrapped {
				newWrappedVault(t, a)
				env = []string{"CERTCTL_VAULT_PASSPHRASE=" + testPassphrase}
				keyFile = "master.key.enc"
			}
			mustRequest(t, a, env, "a.internal")
			aKey := readFile(t, filepath.Join(a, keyFile))
			if r := runEnv(a, env, "vault", "migrate", "--to", store, "-o", "json"); r.Code != 0 {
				t.Fatalf("migrate: %v", r)
			}
			onStore := append([]string{"CERTCTL_STORE=" + store}, env...)
			r := runEnv(b, onStore, "request", "--domain-name", "b.internal", "--certificate-authority-arn", "default",
				"--key-algorithm", "EC_prime256v1", "-o", "json")
			if wrapped {
				if r.Code != 0 {
					t.Fatalf("request on a second machine with the passphrase: %v", r)
				}
				if got := readFile(t, filepath.Join(b, keyFile)); !bytes.Equal(got, aKey) {
					t.Error("the second machine did not fetch the store's key")
				}
			} else {
				wantExit(t, r, 6, "master key of the shared store is not in", "request on a second machine without the key")
				if _, err := os.Stat(filepath.Join(b, keyFile)); !os.IsNotExist(err) {
					t.Errorf("the second machine made a key: %v", err)
				}
			}
			mustRequest(t, a, onStore, "a2.internal")
			if got := readFile(t, filepath.Join(a, keyFile)); !bytes.Equal(got, aKey) {
				t.Fatal("the first machine's key file was replaced")
			}
			mustVerify(t, a, env)
			mustVerify(t, a, onStore)
		})
	}
}

// TestKeyOfAnotherStoreIsKept: a restore into a shared store, or a
// rotation of it, is refused (exit 5) when it would replace the master key
// of a vault directory whose own vault.db holds data sealed under it.
func TestKeyOfAnotherStoreIsKept(t *testing.T) {
	root := t.TempDir()
	src, dir := filepath.Join(root, "src"), filepath.Join(root, "dir")
	mustRequest(t, src, nil, "src.internal")
	backup := filepath.Join(root, "src.backup")
	if r := run(src, "vault", "backup", "--out-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	mustRequest(t, dir, nil, "keep.internal")
	key := readFile(t, filepath.Join(dir, "master.key"))

	onStore := []string{"CERTCTL_STORE=" + pgtest.FreshSchema(t)}
	r := runEnv(dir, onStore, "vault", "restore", "--from-file", backup, "-o", "json")
	wantExit(t, r, 5, "also seals the data of", "restore into a shared store beside a vault.db with data")
	mustHold(t, filepath.Join(dir, "master.key"), key, "restore replaced the master key")
	mustVerify(t, dir, nil)

	// The same directory on a shared store that it migrated to: the
	// rotation of that store would leave vault.db unreadable.
	migrated := []string{"CERTCTL_STORE=" + pgtest.FreshSchema(t)}
	if r := run(dir, "vault", "migrate", "--to", strings.TrimPrefix(migrated[0], "CERTCTL_STORE="), "-o", "json"); r.Code != 0 {
		t.Fatalf("migrate: %v", r)
	}
	r = runEnv(dir, migrated, "vault", "rotate-key", "-o", "json")
	wantExit(t, r, 5, "also seals the data of", "rotate-key of a shared store beside a vault.db with data")
	mustHold(t, filepath.Join(dir, "master.key"), key, "rotate-key replaced the master key")
	mustVerify(t, dir, nil)
	mustVerify(t, dir, migrated)
}

// TestMissingKeyIsNotRemade: a vault whose master.key is gone is not given
// a new one (which would open none of its keys and break its audit
// chain): every command that needs the key fails with exit 6 naming the
// missing file, and putting the file back repairs it.
func TestMissingKeyIsNotRemade(t *testing.T) {
	dir := t.TempDir()
	mustRequest(t, dir, nil, "a.internal")
	path := filepath.Join(dir, "master.key")
	key := readFile(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"vault", "verify", "-o", "json"},
		{"request", "--domain-name", "b.internal", "--certificate-authority-arn", "default", "-o", "json"},
	} {
		r := run(dir, args...)
		if r.Code != 6 || !strings.Contains(string(r.Stderr), "master key is missing") {
			t.Errorf("%s without master.key: %v, want exit 6", args[0], r)
		}
		for _, name := range []string{"master.key", "master.key.enc"} {
			if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
				t.Fatalf("%s made %s: %v", args[0], name, err)
			}
		}
	}
	if err := os.WriteFile(path, key, 0o600); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, dir, nil)
}

// TestDamagedBackupIsNotRestored: a backup whose records are damaged
// inside (the file's own checks pass: here a certificate version's data
// rewritten) is refused (exit 4) and nothing is restored; the same backup
// undamaged restores and verifies.
func TestDamagedBackupIsNotRestored(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	mustRequest(t, src, nil, "a.internal")
	mustRequest(t, src, nil, "b.internal")
	good := filepath.Join(root, "good.backup")
	if r := run(src, "vault", "backup", "--out-file", good, "-o", "json"); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	bad := filepath.Join(root, "bad.backup")
	if err := os.WriteFile(bad, readFile(t, good), 0o600); err != nil {
		t.Fatal(err)
	}
	editBackup(t, bad, `UPDATE cert_versions SET data = CAST('{"number":1,"certificatePem":"!!"}' AS BLOB) WHERE rowid = (SELECT min(rowid) FROM cert_versions)`)
	dst := filepath.Join(root, "dst")
	r := run(dst, "vault", "restore", "--from-file", bad, "-o", "json")
	wantExit(t, r, 4, "the backup is damaged", "restore of a damaged backup")
	if n := len(listARNs(t, dst)); n != 0 {
		t.Fatalf("%d certificates restored from a damaged backup", n)
	}
	if r := run(dst, "vault", "restore", "--from-file", good, "-o", "json"); r.Code != 0 {
		t.Fatalf("restore of the good backup after: %v", r)
	}
	mustVerify(t, dst, nil)
}

// TestDamagedBackupLeavesASharedStoreFree: a damaged backup refused by a
// restore into a shared store leaves the store free of any key record, so
// that a good backup made under another key restores into it.
func TestDamagedBackupLeavesASharedStoreFree(t *testing.T) {
	root := t.TempDir()
	backup := func(name string) string {
		src := filepath.Join(root, name)
		mustRequest(t, src, nil, name+".internal")
		out := filepath.Join(root, name+".backup")
		if r := run(src, "vault", "backup", "--out-file", out, "-o", "json"); r.Code != 0 {
			t.Fatalf("backup: %v", r)
		}
		return out
	}
	bad, good := backup("s1"), backup("s2")
	editBackup(t, bad, `UPDATE cert_versions SET data = CAST('{"number":1,"certificatePem":"!!"}' AS BLOB)`)
	onStore := []string{"CERTCTL_STORE=" + pgtest.FreshSchema(t)}
	if r := runEnv(filepath.Join(root, "d1"), onStore, "vault", "restore", "--from-file", bad, "-o", "json"); r.Code != 4 {
		t.Fatalf("restore of a damaged backup: %v, want exit 4", r)
	}
	dst := filepath.Join(root, "d2")
	if r := runEnv(dst, onStore, "vault", "restore", "--from-file", good, "-o", "json"); r.Code != 0 {
		t.Fatalf("restore of a good backup under another key after: %v", r)
	}
	mustVerify(t, dst, onStore)
}

// TestRotationElsewhereKeepsSiblingKey: after another machine rotates the
// key of a shared store, a vault directory whose own vault.db holds data
// under the old key does not take the new one (that data would no longer
// open): its commands on the shared store are refused (exit 6), and its
// vault.db keeps working.
func TestRotationElsewhereKeepsSiblingKey(t *testing.T) {
	store := pgtest.FreshSchema(t)
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	newWrappedVault(t, a)
	env := []string{"CERTCTL_VAULT_PASSPHRASE=" + testPassphrase}
	mustRequest(t, a, env, "a.internal")
	if r := runEnv(a, env, "vault", "migrate", "--to", store, "-o", "json"); r.Code != 0 {
		t.Fatalf("migrate: %v", r)
	}
	onStore := append([]string{"CERTCTL_STORE=" + store}, env...)
	mustRequest(t, b, onStore, "b.internal")
	if r := runEnv(b, onStore, "vault", "rotate-key", "-o", "json"); r.Code != 0 {
		t.Fatalf("rotate-key on the second machine: %v", r)
	}
	key := readFile(t, filepath.Join(a, "master.key.enc"))
	r := runEnv(a, onStore, "request", "--domain-name", "a2.internal", "--certificate-authority-arn", "default", "-o", "json")
	wantExit(t, r, 6, "holds data sealed under this directory's key", "the first machine on the rotated store")
	mustHold(t, filepath.Join(a, "master.key.enc"), key, "the first machine's key file was replaced")
	mustVerify(t, a, env)
	mustVerify(t, b, onStore)
}

// TestRotateAfterMigrateKeepsTheTarget: a vault migrated to a shared store
// shares its directory's key with it (each records the other). Rotating
// the vault's own key keeps the previous key file and says so: the shared
// store, still sealed under it, opens in a directory given that file.
// A restored copy shares its key with nothing.
func TestRotateAfterMigrateKeepsTheTarget(t *testing.T) {
	store := pgtest.FreshSchema(t)
	root := t.TempDir()
	dir := filepath.Join(root, "v")
	mustRequest(t, dir, nil, "a.internal")
	if r := run(dir, "vault", "migrate", "--to", store, "-o", "json"); r.Code != 0 {
		t.Fatalf("migrate: %v", r)
	}
	key := readFile(t, filepath.Join(dir, "master.key"))
	r := run(dir, "vault", "rotate-key", "-o", "json")
	var res struct{ PreviousMasterKeyId string }
	if r.Code != 0 || json.Unmarshal(r.Stdout, &res) != nil || !strings.Contains(string(r.Stderr), "also seals postgres:") {
		t.Fatalf("rotate-key of a migrated vault: %v", r)
	}
	kept := filepath.Join(dir, "master.key.replaced-"+res.PreviousMasterKeyId)
	if !bytes.Equal(readFile(t, kept), key) {
		t.Fatal("the previous key was not kept")
	}
	mustVerify(t, dir, nil)
	// The new key is the vault's alone: the next rotation keeps nothing
	// and says nothing of the shared store (tester: every later rotation
	// kept another key in clear, claiming that store needed it).
	if r := run(dir, "vault", "rotate-key", "-o", "json"); r.Code != 0 || strings.Contains(string(r.Stderr), "also seals") {
		t.Fatalf("second rotate-key of a migrated vault: %v", r)
	}
	if kept, _ := filepath.Glob(filepath.Join(dir, "master.key.replaced-*")); len(kept) != 1 {
		t.Errorf("kept key files %v, want the one the shared store needs", kept)
	}
	mustVerify(t, dir, nil)
	other := filepath.Join(root, "for-the-shared-store")
	if err := os.MkdirAll(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, other, []string{"CERTCTL_STORE=" + store})

	// A backup restored into a new directory rotates without keeping.
	backup := filepath.Join(root, "v.backup")
	if r := run(dir, "vault", "backup", "--out-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	copyDir := filepath.Join(root, "copy")
	if r := run(copyDir, "vault", "restore", "--from-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("restore: %v", r)
	}
	if r := run(copyDir, "vault", "rotate-key", "-o", "json"); r.Code != 0 || strings.Contains(string(r.Stderr), "also seals") {
		t.Fatalf("rotate-key of a restored copy: %v", r)
	}
	mustVerify(t, copyDir, nil)
}

// TestBackupWithoutKeyIsNotRestored: a backup that holds data but no
// master key (its key_form emptied) is refused (exit 4): its records would
// open under no key.
func TestBackupWithoutKeyIsNotRestored(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	mustRequest(t, src, nil, "a.internal")
	backup := filepath.Join(root, "src.backup")
	if r := run(src, "vault", "backup", "--out-file", backup, "-o", "json"); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	editBackup(t, backup, `UPDATE backup_info SET value = CAST('' AS BLOB) WHERE key IN ('key_form', 'master_key')`)
	dst := filepath.Join(root, "dst")
	r := run(dst, "vault", "restore", "--from-file", backup, "-o", "json")
	wantExit(t, r, 4, "no master key", "restore of a backup without its key")
	if n := len(listARNs(t, dst)); n != 0 {
		t.Fatalf("%d certificates restored", n)
	}
}

// TestBackupOfADamagedVaultIsRefused: a vault damaged inside its records (a
// sealed key flipped, as a restore's checks see it) gives no backup — exit
// 6, saying what `vault verify` would, and the last backup, which
// restores, is left in place (tester: the backup exited 0 and every
// restore of it was refused, so a nightly job replaced good backups with
// useless ones).
func TestBackupOfADamagedVaultIsRefused(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	mustRequest(t, src, nil, "a.internal")
	out := filepath.Join(root, "nightly.backup")
	if r := run(src, "vault", "backup", "--out-file", out, "-o", "json"); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	good := readFile(t, out)
	editBackup(t, filepath.Join(src, "vault.db"), `UPDATE secrets SET sealed = substr(sealed, 1, 20) || x'00' || substr(sealed, 22) WHERE ref = (SELECT min(ref) FROM secrets WHERE ref LIKE 'cert%')`)
	r := run(src, "vault", "backup", "--out-file", out, "-o", "json")
	wantExit(t, r, 6, "the vault is damaged, and a backup of it would not restore", "backup of a damaged vault")
	if string(readFile(t, out)) != string(good) {
		t.Fatal("the refused backup replaced the last one")
	}
	if entries, _ := os.ReadDir(root); len(entries) != 2 {
		t.Errorf("files left beside the backup: %v", entries)
	}
	if r := run(filepath.Join(root, "dst"), "vault", "restore", "--from-file", out, "-o", "json"); r.Code != 0 {
		t.Fatalf("restore of the last good backup: %v", r)
	}
}

// TestRollbackSeenThroughAnotherPath: the audit log of a vault rolled back
// (its database file replaced by an older copy) is refused through a
// symbolic link to the vault as through its own path — one store, one
// witness of this host (tester: the link found no witness, and appended
// to the rolled-back log).
func TestRollbackSeenThroughAnotherPath(t *testing.T) {
	root := t.TempDir()
	v := filepath.Join(root, "v")
	mustRequest(t, v, nil, "a.internal")
	if r := run(v, "vault", "backup", "--out-file", filepath.Join(root, "unused.backup")); r.Code != 0 {
		t.Fatalf("backup (which folds the log into the file): %v", r)
	}
	old := readFile(t, filepath.Join(v, "vault.db"))
	mustRequest(t, v, nil, "b.internal")
	mustRequest(t, v, nil, "c.internal")
	if r := run(v, "vault", "backup", "--out-file", filepath.Join(root, "unused2.backup")); r.Code != 0 {
		t.Fatalf("backup: %v", r)
	}
	for _, f := range []string{"vault.db-wal", "vault.db-shm"} {
		os.Remove(filepath.Join(v, f))
	}
	if err := os.WriteFile(filepath.Join(v, "vault.db"), old, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(root, "link")
	if err := os.Symlink(v, link); err != nil {
		t.Fatal(err)
	}
	wantExit(t, run(link, "audit", "verify"), 6, "no longer in the log", "audit verify through a link to the rolled-back vault")
	wantExit(t, run(v, "audit", "verify"), 6, "no longer in the log", "audit verify of the rolled-back vault")
}

// TestExportOfADamagedKeyIsVaultError: an export whose sealed key does
// not open (the vault damaged) fails exit 6, the vault's fault (SPEC:
// corrupt), not 5 as a rule refusing the export (tester); an export of a
// key that is there still works.
func TestExportOfADamagedKeyIsVaultError(t *testing.T) {
	root := t.TempDir()
	src := filepath.Join(root, "src")
	mustRequest(t, src, nil, "a.internal")
	mustRequest(t, src, nil, "b.internal")
	pass := filepath.Join(root, "pass.txt")
	if err := os.WriteFile(pass, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := run(src, "list", "-o", "json", "--query", "CertificateSummaryList[?DomainName=='a.internal'].CertificateArn | [0]")
	arn := strings.Trim(strings.TrimSpace(string(list.Stdout)), `"`)
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	editBackup(t, filepath.Join(src, "vault.db"), `UPDATE secrets SET sealed = x'0001' WHERE ref LIKE 'certificate/`+id+`/%'`)
	wantExit(t, run(src, "export", arn, "--passphrase-file", pass), 6, "does not open under its reference", "export of a damaged key")
	other := run(src, "list", "-o", "json", "--query", "CertificateSummaryList[?DomainName=='b.internal'].CertificateArn | [0]")
	if r := run(src, "export", strings.Trim(strings.TrimSpace(string(other.Stdout)), `"`), "--passphrase-file", pass); r.Code != 0 {
		t.Fatalf("export of the other certificate: %v", r)
	}
}
