package vaultops_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// freshSchema returns the URL of a new, empty PostgreSQL schema (dropped
// when the test ends); the test is skipped without a server.
func freshSchema(t *testing.T) string {
	t.Helper()
	base := os.Getenv("CERTCTL_TEST_POSTGRES_URL")
	if base == "" {
		if os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" {
			t.Fatal("CERTCTL_TEST_POSTGRES_URL is not set and CERTCTL_REQUIRE_INTEROP=1")
		}
		t.Skip("CERTCTL_TEST_POSTGRES_URL is not set")
	}
	var b [8]byte
	rand.Read(b[:])
	name := "certctl_vaultops_" + hex.EncodeToString(b[:])
	admin := func(q string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	admin("CREATE SCHEMA " + name)
	t.Cleanup(func() { admin("DROP SCHEMA " + name + " CASCADE") })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// outputs is what a vault prints of itself: list, describe --versions of
// every certificate, events, and the audit log (as audit list prints its
// records, and the stored rows with their MACs).
func outputs(t *testing.T, e *clitest.Env, arns []string) map[string]string {
	t.Helper()
	out := map[string]string{
		"list":   mustRun(e, "list", "-o", "json").Stdout,
		"events": mustRun(e, "events", "-o", "json").Stdout,
	}
	for _, a := range arns {
		out["describe "+a] = mustRun(e, "describe", a, "--versions", "-o", "json").Stdout
	}
	withVault(t, e, "", func(v *localstore.Vault) error {
		s, err := v.Sealer()
		if err != nil {
			return err
		}
		return v.Store.View(context.Background(), func(tx localstore.Tx) error {
			n, p, err := audit.Verify(tx, s.AuditKey())
			if err != nil {
				return err
			}
			if p != nil || n == 0 {
				t.Errorf("audit verify on %s: %d records, %v", e.Vars["CERTCTL_STORE"], n, p)
			}
			recs, err := audit.List(tx, audit.Filter{}, 0, 0)
			if err != nil {
				return err
			}
			b, _ := json.MarshalIndent(map[string]any{"AuditEvents": recs}, "", "  ")
			out["audit list"] = string(b)
			rows, err := tx.ListAudit(0, 0)
			b, _ = json.Marshal(rows)
			out["audit rows"] = string(b)
			return err
		})
	})
	return out
}

func compare(t *testing.T, what string, a, b map[string]string) {
	t.Helper()
	for k, v := range a {
		if b[k] != v {
			t.Errorf("%s: %s differs:\n%s\n---\n%s", what, k, v, b[k])
		}
	}
	if len(a) != len(b) {
		t.Errorf("%s: %d outputs vs %d", what, len(a), len(b))
	}
}

// TestMigrateRoundTrip: SQLite → PostgreSQL → SQLite. After each
// migration the target prints exactly what the source prints (list,
// describe --versions, events, audit list) and its audit chain verifies;
// the target must be empty.
func TestMigrateRoundTrip(t *testing.T) {
	pg := freshSchema(t)
	t.Parallel()
	e := clitest.New(t)
	arns := populate(t, e)
	original := outputs(t, e, arns)
	for k, want := range map[string]string{"list": arns[3], "events": "detail-type", "audit list": "RevokeCertificate",
		"describe " + arns[0]: `"VersionNumber": 2`} {
		if !strings.Contains(original[k], want) {
			t.Fatalf("%s does not show %q:\n%s", k, want, original[k])
		}
	}

	r := mustRun(e, "vault", "migrate", "--to", pg, "-o", "json")
	if strings.Contains(r.Stdout, "certctl:certctl@") {
		t.Errorf("the password is printed: %s", r.Stdout)
	}
	src := outputs(t, e, arns)
	if src["audit list"] == original["audit list"] || !strings.Contains(src["audit list"], "MigrateVault") {
		t.Error("the migration is not recorded in the source's audit log")
	}
	for _, k := range []string{"list", "events"} {
		if src[k] != original[k] {
			t.Errorf("the migration changed the source's %s", k)
		}
	}
	e.Vars["CERTCTL_STORE"] = pg
	onPG := outputs(t, e, arns)
	compare(t, "sqlite → postgres", src, onPG)
	verifyOK(t, e)
	// The store in use, by another URL to it, is named so (exit 4), not
	// as a target that is not empty (tester).
	r = run(e, "vault", "migrate", "--to", pg+"&connect_timeout=5")
	wantCode(t, r, errs.ExitInvalid)
	if !strings.Contains(r.Stderr, "is the store in use") {
		t.Errorf("migrate into the store in use: %s", r.Stderr)
	}
	// A second migration into the same store is refused.
	delete(e.Vars, "CERTCTL_STORE")
	wantCode(t, run(e, "vault", "migrate", "--to", pg), errs.ExitRefused)

	e.Vars["CERTCTL_STORE"] = pg
	back := filepath.Join(e.Dir, "back.db")
	mustRun(e, "vault", "migrate", "--to", "sqlite:"+back, "-o", "json")
	pgAfter := outputs(t, e, arns)
	e.Vars["CERTCTL_STORE"] = "sqlite:" + back
	final := outputs(t, e, arns)
	compare(t, "postgres → sqlite", pgAfter, final)
	for _, k := range []string{"list", "events"} {
		if final[k] != original[k] {
			t.Errorf("%s after the round trip differs from the original", k)
		}
	}
	for _, a := range arns {
		if final["describe "+a] != original["describe "+a] {
			t.Errorf("describe --versions %s after the round trip differs", a)
		}
	}
	verifyOK(t, e)
	mustRun(e, "export", arns[2], "--passphrase-file", filepath.Join(e.Dir, "export-pass.txt"), "-o", "json")
	if fi, err := os.Stat(back); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("migrated SQLite file: %v %v", fi, err)
	}

	wantCode(t, run(e, "vault", "migrate", "--to", "mysql://x"), errs.ExitInvalid)
	wantCode(t, run(e, "vault", "migrate", "--to", "sqlite:"+back), errs.ExitInvalid)
	// A file where the directory goes (a missing one is made:
	// TestMigrateMakesTheTargetDirectory).
	wantCode(t, run(e, "vault", "migrate", "--to", "sqlite:"+filepath.Join(back, "x.db")), errs.ExitInvalid)
}

// TestRestoreIntoPostgres: a backup of a SQLite vault with a passphrase
// restores into an empty PostgreSQL store, which then verifies and prints
// what the source printed; a second machine (another vault directory on
// the same store) opens it with the passphrase alone.
func TestRestoreIntoPostgres(t *testing.T) {
	pg := freshSchema(t)
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "correct horse"
	arns := populate(t, e)
	backup := filepath.Join(e.Dir, "backup.db")
	mustRun(e, "vault", "backup", "--out-file", backup)
	want := mustRun(e, "list", "-o", "json").Stdout

	e.Vars["CERTCTL_VAULT"] = filepath.Join(e.Dir, "host-a")
	e.Vars["CERTCTL_STORE"] = pg
	mustRun(e, "vault", "restore", "--from-file", backup)
	verifyOK(t, e)
	if got := mustRun(e, "list", "-o", "json").Stdout; got != want {
		t.Errorf("list on the restored store:\n%s\nwant\n%s", got, want)
	}
	e.Vars["CERTCTL_VAULT"] = filepath.Join(e.Dir, "host-b")
	verifyOK(t, e)
	mustRun(e, "export", arns[2], "--passphrase-file", filepath.Join(e.Dir, "export-pass.txt"), "-o", "json")
	// Restoring again into the store (from any directory) is refused,
	// with a hint at an empty database or schema, not at another vault
	// directory, which restores into the same store (tester).
	e.Vars["CERTCTL_VAULT"] = filepath.Join(e.Dir, "host-c")
	r := run(e, "vault", "restore", "--from-file", backup)
	wantCode(t, r, errs.ExitRefused)
	if !strings.Contains(r.Stderr, "hint: restore into an empty database or schema") {
		t.Errorf("hint: %v", r)
	}
}

// TestMigrateToSQLiteIsOneFile: certctl keeps the write-ahead log of its
// SQLite databases between commands, but a migration's SQLite target is
// left one self-contained file: a copy of that file alone (no -wal beside
// it) holds the whole vault.
func TestMigrateToSQLiteIsOneFile(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	want := mustRun(e, "list", "-o", "json").Stdout
	target := filepath.Join(e.Dir, "target.db")
	mustRun(e, "vault", "migrate", "--to", "sqlite:"+target, "-o", "json")
	if fi, err := os.Stat(target + "-wal"); err == nil && fi.Size() > 0 {
		t.Errorf("the migrated database has %d bytes of log beside it", fi.Size())
	}
	data, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	alone := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(alone, data, 0o600); err != nil {
		t.Fatal(err)
	}
	e.Vars["CERTCTL_STORE"] = "sqlite:" + alone
	if got := mustRun(e, "list", "-o", "json").Stdout; got != want {
		t.Errorf("list on a copy of the migrated file alone:\n%s\nwant\n%s", got, want)
	}
}

// TestMigrateMakesTheTargetDirectory: a sqlite: target in a directory
// that does not exist yet gets it (0700), as restore's vault directory
// does (tester: refused, the help's own example failing); a migration
// that fails leaves neither the database nor the directories it made; a
// file where the directory goes is refused.
func TestMigrateMakesTheTargetDirectory(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	dir := filepath.Join(e.Dir, "srv", "certctl")
	mustRun(e, "vault", "migrate", "--to", "sqlite:"+filepath.Join(dir, "vault.db"), "-o", "json")
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("target directory: %v, %v", fi, err)
	}
	// Into it again: not empty (exit 5), and what was there stays.
	wantCode(t, run(e, "vault", "migrate", "--to", "sqlite:"+filepath.Join(dir, "vault.db")), errs.ExitRefused)
	if _, err := os.Stat(filepath.Join(dir, "vault.db")); err != nil {
		t.Fatal(err)
	}
	// A migration that fails (a wrong passphrase, found when the key is
	// first needed) removes the directories it made.
	locked := clitest.New(t)
	locked.Vars["CERTCTL_VAULT_PASSPHRASE"] = "right horse"
	requestPrivate(locked, "locked.internal")
	locked.Vars["CERTCTL_VAULT_PASSPHRASE"] = "wrong horse"
	made := filepath.Join(locked.Dir, "made")
	wantCode(t, run(locked, "vault", "migrate", "--to", "sqlite:"+filepath.Join(made, "b", "vault.db")), errs.ExitVaultUnavailable)
	if _, err := os.Stat(made); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the failed migration left %s (%v)", made, err)
	}
	file := filepath.Join(e.Dir, "plain")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCode(t, run(e, "vault", "migrate", "--to", "sqlite:"+filepath.Join(file, "vault.db")), errs.ExitInvalid)
}

// TestVerifyRolledBackPublishedKey: on a shared store whose published
// wrapped key was put back to the copy from before a passphrase change,
// the machines keep working with the current passphrase, refuse the
// retired one, and vault verify reports the store's stale copy until a
// change-passphrase publishes a current one.
func TestVerifyRolledBackPublishedKey(t *testing.T) {
	pg := freshSchema(t)
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_STORE"] = pg
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "old pass"
	hostA, hostC := filepath.Join(e.Dir, "host-a"), filepath.Join(e.Dir, "host-c")
	e.Vars["CERTCTL_VAULT"] = hostA
	requestPrivate(e, "app.internal")
	e.Vars["CERTCTL_VAULT"] = hostC
	verifyOK(t, e)
	oldCopy, err := os.ReadFile(filepath.Join(hostA, localstore.WrappedMasterFile))
	if err != nil {
		t.Fatal(err)
	}
	newPass := filepath.Join(e.Dir, "new.txt")
	if err := os.WriteFile(newPass, []byte("new pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.Vars["CERTCTL_VAULT"] = hostA
	mustRun(e, "vault", "change-passphrase", "--new-passphrase-file", newPass, "-o", "json")
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "new pass"
	e.Vars["CERTCTL_VAULT"] = hostC
	verifyOK(t, e)

	st, err := localstore.OpenPostgres(context.Background(), pg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutMeta(localstore.MetaMasterKeyWrapped, oldCopy)
	}); err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{hostA, hostC} {
		e.Vars["CERTCTL_VAULT"] = host
		rep, r := verify(t, e)
		wantCode(t, r, errs.ExitVaultUnavailable)
		if len(rep.Problems) != 1 || !strings.Contains(rep.Problems[0].Message, "rolled back") {
			t.Errorf("verify on %s: %+v", filepath.Base(host), rep.Problems)
		}
		if strings.Contains(r.Stdout+r.Stderr, "old pass") || strings.Contains(r.Stdout+r.Stderr, "new pass") {
			t.Errorf("verify output names a passphrase:\n%v", r)
		}
	}
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "old pass"
	r := run(e, "vault", "verify")
	wantCode(t, r, errs.ExitVaultUnavailable)
	if !strings.Contains(r.Stderr, "older wrapped copy") {
		t.Errorf("the retired passphrase: %s", r.Stderr)
	}

	// Published again (the same passphrase will do): nothing to report.
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "new pass"
	mustRun(e, "vault", "change-passphrase", "--new-passphrase-file", newPass, "-o", "json")
	for _, host := range []string{hostA, hostC} {
		e.Vars["CERTCTL_VAULT"] = host
		verifyOK(t, e)
	}
}

// TestMigrateToMissingSchema: a target store whose search_path names no
// schema that exists is unavailable (exit 6) with the hint --store gets,
// naming --to (tester: the database's words alone).
func TestMigrateToMissingSchema(t *testing.T) {
	pg := freshSchema(t)
	t.Parallel()
	e := clitest.New(t)
	populate(t, e)
	missing := regexp.MustCompile(`search_path=[^&]*`).ReplaceAllString(pg, "search_path=certctl_no_such_schema")
	r := run(e, "vault", "migrate", "--to", missing)
	wantCode(t, r, errs.ExitVaultUnavailable)
	if !strings.Contains(r.Stderr, "hint: no schema of the store URL's search_path exists: create it") || !strings.Contains(r.Stderr, "(--to)") {
		t.Errorf("no hint naming the schema and --to:\n%s", r.Stderr)
	}
}

// migratedVault is a vault under passphrase pass, with a certificate,
// migrated to a new PostgreSQL schema (its URL returned): the directory
// of the machine that ran vault migrate, still holding its vault.db.
func migratedVault(t *testing.T, pass string) (*clitest.Env, string) {
	t.Helper()
	pg := freshSchema(t)
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = pass
	requestPrivate(e, "a.team.internal")
	mustRun(e, "vault", "migrate", "--to", pg, "-o", "json")
	return e, pg
}

// TestMigrateSourceWrongPassphrase: on the machine that ran vault migrate,
// whose vault directory keeps the key for both stores and whose own
// vault.db holds data, a wrong passphrase for the shared store is a wrong
// passphrase (exit 6, said so), not a directory that is wrong for the store
// (tester: "the master key in DIR is not the shared store's … use a
// separate --vault directory").
func TestMigrateSourceWrongPassphrase(t *testing.T) {
	e, pg := migratedVault(t, "right pass")
	e.Vars["CERTCTL_STORE"] = pg
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "wrong pass"
	for _, args := range [][]string{{"request", "--domain-name", "b.team.internal", "--certificate-authority-arn", "default"}, {"audit", "verify"}} {
		r := run(e, args...)
		wantCode(t, r, errs.ExitVaultUnavailable)
		if !strings.Contains(r.Stderr, "wrong vault passphrase") || strings.Contains(r.Stderr, "not the shared store's") {
			t.Errorf("%s with a wrong passphrase: %s", args[0], r.Stderr)
		}
	}
	e.Vars["CERTCTL_VAULT_PASSPHRASE"] = "right pass"
	verifyOK(t, e)
}

// TestMigrateSourceAfterRotationElsewhere: after another machine rotates
// the shared store's key, the machine that ran vault migrate (its vault.db
// sealed under the old key) is refused (exit 6) with what to do: move that
// database out of the directory. Once it has, its next command fetches the
// new key, keeps the old one beside, and works — the directory, with this
// host's deploy identity, serves the shared store again (tester: locked
// out, told only to use another directory).
func TestMigrateSourceAfterRotationElsewhere(t *testing.T) {
	e, pg := migratedVault(t, "team pass")
	hostA := e.Vars["CERTCTL_VAULT"]
	e.Vars["CERTCTL_STORE"] = pg
	e.Vars["CERTCTL_VAULT"] = filepath.Join(e.Dir, "host-b")
	mustRun(e, "vault", "rotate-key", "-o", "json")

	e.Vars["CERTCTL_VAULT"] = hostA
	old, err := os.ReadFile(filepath.Join(hostA, localstore.WrappedMasterFile))
	if err != nil {
		t.Fatal(err)
	}
	r := run(e, "request", "--domain-name", "b.team.internal", "--certificate-authority-arn", "default")
	wantCode(t, r, errs.ExitVaultUnavailable)
	if !strings.Contains(r.Stderr, "move it and its -wal and -shm files out of "+hostA) {
		t.Errorf("the refusal says nothing of moving the database: %s", r.Stderr)
	}
	// Another vault's directory, with data, whose key was never the
	// store's, is told so: not that a rotation locked it out, nor to move
	// its database (review).
	other := clitest.New(t)
	other.Vars["CERTCTL_VAULT_PASSPHRASE"] = "team pass"
	requestPrivate(other, "c.other.internal")
	other.Vars["CERTCTL_STORE"] = pg
	r = run(other, "audit", "verify")
	wantCode(t, r, errs.ExitVaultUnavailable)
	if strings.Contains(r.Stderr, "move it") || strings.Contains(r.Stderr, "rotated") || !strings.Contains(r.Stderr, "not the shared store's") {
		t.Errorf("another vault's directory: %s", r.Stderr)
	}
	moved := filepath.Join(e.Dir, "migrated")
	if err := os.MkdirAll(moved, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{localstore.DatabaseFile, localstore.DatabaseFile + "-wal", localstore.DatabaseFile + "-shm"} {
		if err := os.Rename(filepath.Join(hostA, f), filepath.Join(moved, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	mustRun(e, "request", "--domain-name", "b.team.internal", "--certificate-authority-arn", "default", "-o", "json")
	verifyOK(t, e)
	matches, _ := filepath.Glob(filepath.Join(hostA, localstore.WrappedMasterFile+".replaced-*"))
	if len(matches) != 1 {
		t.Fatalf("the old key is not kept beside: %v", matches)
	}
	if kept, err := os.ReadFile(matches[0]); err != nil || string(kept) != string(old) {
		t.Errorf("the kept copy is not the old key file (%v)", err)
	}
}
