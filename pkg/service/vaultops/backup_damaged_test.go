package vaultops_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
)

// execSQL runs stmt on the SQLite database at path, as an operator's
// sqlite3 would.
func execSQL(t *testing.T, path, stmt string, args ...any) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(stmt, args...); err != nil {
		t.Fatal(err)
	}
}

// TestBackupAllowDamaged: a vault damaged inside its records (one sealed
// key replaced by another's, as the tester did; one audit record altered)
// is backed up with --allow-damaged, warned of, and that backup restores
// with --allow-damaged, into a vault that holds everything else and whose
// verify names the damage (tester: one damaged record blocked every
// backup for ever, so nothing changed since the last good backup could be
// backed up). Without the flag both still refuse, naming the flag, and a
// file that is no backup is refused with it too.
func TestBackupAllowDamaged(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, stmt, problem string
	}{
		{"sealed key", `UPDATE secrets SET sealed = (SELECT sealed FROM secrets WHERE ref != ?1 LIMIT 1) WHERE ref = ?1`, "key"},
		{"audit record", `UPDATE audit SET mac = x'00' WHERE seq = 1 AND ?1 != ''`, "audit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := clitest.New(t)
			arn := requestPrivate(e, "damaged.internal")
			requestPrivate(e, "good.internal")
			id := arn[strings.LastIndex(arn, "/")+1:]
			execSQL(t, filepath.Join(e.Vault, "vault.db"), tc.stmt, "certificate/"+id+"/v1/key")

			out := filepath.Join(e.Dir, "damaged.bak")
			r := run(e, "vault", "backup", "--out-file", out)
			wantCode(t, r, errs.ExitVaultUnavailable)
			if !strings.Contains(r.Stderr, "no backup was written") || !strings.Contains(r.Stderr, "--allow-damaged") {
				t.Errorf("the refusal does not name --allow-damaged:\n%s", r.Stderr)
			}
			if _, err := os.Stat(out); err == nil {
				t.Fatal("the refused backup was written")
			}
			r = run(e, "vault", "backup", "--out-file", out, "--allow-damaged")
			wantCode(t, r, 0)
			if !strings.Contains(r.Stderr, "warning: the vault is damaged, and the backup was written with the damage") || !strings.Contains(r.Stderr, tc.problem) {
				t.Errorf("no warning of the damage:\n%s", r.Stderr)
			}
			if _, err := os.Stat(out); err != nil {
				t.Fatal(err)
			}

			dst := filepath.Join(e.Dir, "restored")
			r = run(e, "--vault", dst, "vault", "restore", "--from-file", out)
			wantCode(t, r, errs.ExitInvalid)
			if !strings.Contains(r.Stderr, "--allow-damaged") {
				t.Errorf("the refusal does not name --allow-damaged:\n%s", r.Stderr)
			}
			r = run(e, "--vault", dst, "vault", "restore", "--from-file", out, "--allow-damaged", "-o", "json")
			wantCode(t, r, 0)
			if !strings.Contains(r.Stderr, "warning: the backup is damaged, and so is the restored vault") {
				t.Errorf("no warning of the damage restored:\n%s", r.Stderr)
			}
			e.Vars["CERTCTL_VAULT"] = dst
			rep, vr := verify(t, e)
			if vr.Code != errs.ExitVaultUnavailable || len(rep.Problems) == 0 || rep.Certificates != 2 {
				t.Errorf("verify of the restored vault: exit %d, %+v", vr.Code, rep)
			}

			// A file that is no backup is refused whatever the flag.
			trunc := filepath.Join(e.Dir, "truncated.bak")
			data, _ := os.ReadFile(out)
			if err := os.WriteFile(trunc, data[:len(data)/2], 0o600); err != nil {
				t.Fatal(err)
			}
			r = run(e, "--vault", filepath.Join(e.Dir, "other"), "vault", "restore", "--from-file", trunc, "--allow-damaged")
			wantCode(t, r, errs.ExitInvalid)
		})
	}
}

// TestRestoreWarnsOfOtherHostTargets: a backup restored into a new vault
// directory says how many deploy targets belong to another host identity
// than the directory's, naming the host, and to copy the identity files
// (tester: on the same machine, renew -q then left every target as
// OTHER_HOST, printing nothing, exit 0). A directory given the old
// identity first hears nothing.
func TestRestoreWarnsOfOtherHostTargets(t *testing.T) {
	t.Parallel()
	e := clitest.New(t)
	e.Vars["CERTCTL_HOST_NAME"] = "web1"
	arn := requestPrivate(e, "deployed.internal")
	mustRun(e, "deploy", arn, "--cert-file", filepath.Join(e.Dir, "c.pem"), "--key-file", filepath.Join(e.Dir, "k.pem"))
	out := filepath.Join(e.Dir, "b.bak")
	mustRun(e, "vault", "backup", "--out-file", out)

	r := mustRun(e, "--vault", filepath.Join(e.Dir, "new"), "vault", "restore", "--from-file", out, "-q")
	if !strings.Contains(r.Stderr, "warning: 1 deploy target(s) of the restored vault belong to another host identity than this vault directory's (host web1 (") ||
		!strings.Contains(r.Stderr, "copy host.id, host.key and host.targets from the old vault directory") {
		t.Errorf("no warning of the other host's targets:\n%s", r.Stderr)
	}

	same := filepath.Join(e.Dir, "same")
	if err := os.MkdirAll(same, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{deploy.HostIDFile, deploy.HostKeyFile, deploy.TargetsFile} {
		data, err := os.ReadFile(filepath.Join(e.Vault, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(same, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	r = mustRun(e, "--vault", same, "vault", "restore", "--from-file", out, "-q")
	if strings.Contains(r.Stderr, "deploy target") {
		t.Errorf("warned with the old identity in place:\n%s", r.Stderr)
	}
	e.Vars["CERTCTL_VAULT"] = same
	r = mustRun(e, "renew", arn, "-o", "json")
	if strings.Contains(r.Stdout, "OTHER_HOST") {
		t.Errorf("renew in the directory with the old identity left the target:\n%s", r.Stdout)
	}
}
