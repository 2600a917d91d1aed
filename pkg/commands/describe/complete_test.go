package describe_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/internal/seed"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestCompletionEscapesNames: the completion of a certificate argument
// describes each certificate by its name with control characters escaped:
// an imported certificate named with an escape sequence does not rewrite
// the terminal through the shell's menu (tester: ESC, BEL reached zsh's).
func TestCompletionEscapesNames(t *testing.T) {
	e := clitest.New(t)
	e.ImportNamed("evil\x1b[31mRED\x1b[2J.example.test")
	r := e.MustRun("__complete", "describe", "")
	if strings.ContainsAny(r.Stdout, "\x1b\a") || !strings.Contains(r.Stdout, `evil\x1b[31mRED\x1b[2J.example.test`) {
		t.Errorf("completion: %q", r.Stdout)
	}
}

// TestCompletionPastFiveHundred: in a vault of more than 500 certificates
// every one can be completed — what is typed is asked of the store — and
// a command's filter (revoke: its PRIVATE certificates) is applied to all
// of them, not to the first 500 (tester: a vault of 50,000 completed the
// same 500 IDs whatever was typed, and revoke offered nothing).
func TestCompletionPastFiveHundred(t *testing.T) {
	e := clitest.New(t)
	v := e.OpenVault()
	if err := seed.Imported(context.Background(), v, 700, e.Now()); err != nil {
		t.Fatal(err)
	}
	var ids []string
	err := v.Store.View(context.Background(), func(tx localstore.Tx) (err error) {
		ids, err = tx.FindCertificateIDs("", 10000)
		return err
	})
	v.Close()
	if err != nil || len(ids) != 700 {
		t.Fatalf("%d IDs, %v", len(ids), err)
	}
	private := e.RequestPrivate("private.internal")
	last := ids[len(ids)-1] // the greatest ID: past any first 500
	for _, typed := range []string{last[:6], "arn:certctl:acm:local:000000000000:certificate/" + last[:6]} {
		out := e.MustRun("__complete", "describe", typed).Stdout
		if !strings.Contains(out, last) {
			t.Errorf("__complete describe %s does not offer %s:\n%.300s", typed, last, out)
		}
		if n := strings.Count(out, "\n"); n > 20 {
			t.Errorf("__complete describe %s: %d lines, want only the IDs beginning so", typed, n)
		}
	}
	out := e.MustRun("__complete", "revoke", "").Stdout
	if !strings.Contains(out, private[strings.LastIndexByte(private, '/')+1:]+"\tprivate.internal") {
		t.Errorf("__complete revoke does not offer the PRIVATE certificate:\n%.300s", out)
	}
	if lines := strings.Count(out, "\n"); lines > 2 {
		t.Errorf("__complete revoke offers %d lines, want the one PRIVATE certificate (and the directive)", lines)
	}
}

// TestCompleteTagKeysPastFiveHundred: the tag keys offered (list --tag)
// are every certificate's, not the newest 500's (review): a key only an
// certificate past the first 500 carries is offered.
func TestCompleteTagKeysPastFiveHundred(t *testing.T) {
	e := clitest.New(t)
	v := e.OpenVault()
	err := seed.Imported(context.Background(), v, 600, e.Now())
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Newer than the 600: not among the oldest 500, which were read.
	e.Advance(24 * time.Hour)
	e.ImportLeaf(testpki.LeafOptions{Names: []string{"new.example.test"}}, "--tags", "late=1")
	if out := e.MustRun("__complete", "list", "--tag", "").Stdout; !strings.Contains(out, "late=\n") {
		t.Errorf("__complete list --tag does not offer late=:\n%.300s", out)
	}
}

// TestCompletionOnEveryStore: a certificate and a CA are completed on
// every store a vault can use — its own database, a sqlite:PATH one and a
// shared PostgreSQL store (tester: nothing was completed on one) — and
// completion changes nothing: a PostgreSQL schema certctl never used is
// left without a table, and a store that cannot be reached completes
// nothing, silently.
func TestCompletionOnEveryStore(t *testing.T) {
	for _, kind := range []string{"vault", "sqlite-path", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			e := clitest.New(t)
			switch kind {
			case "sqlite-path":
				e.Vars["CERTCTL_STORE"] = "sqlite:" + filepath.Join(e.Dir, "elsewhere.db")
			case "postgres":
				e.Vars["CERTCTL_STORE"] = pgtest.FreshSchema(t)
			}
			arn := e.RequestPrivate("completed.internal")
			id := arn[strings.LastIndexByte(arn, '/')+1:]
			if out := e.MustRun("__complete", "describe", "").Stdout; !strings.Contains(out, id+"\tcompleted.internal") {
				t.Errorf("__complete describe offers:\n%s", out)
			}
			if out := e.MustRun("__complete", "ca", "describe", "").Stdout; !strings.Contains(out, "(ACTIVE)") {
				t.Errorf("__complete ca describe offers:\n%s", out)
			}
		})
	}
	t.Run("vault-checkpointed", func(t *testing.T) {
		// Its log folded into the database and emptied: the header's
		// schema version is read, and is this build's.
		e := clitest.New(t)
		arn := e.RequestPrivate("folded.internal")
		db, err := sql.Open("sqlite", filepath.Join(e.Vault, "vault.db"))
		if err == nil {
			_, err = db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
			db.Close()
		}
		if err != nil {
			t.Fatal(err)
		}
		if out := e.MustRun("__complete", "describe", "").Stdout; !strings.Contains(out, arn[strings.LastIndexByte(arn, '/')+1:]) {
			t.Errorf("__complete describe on a checkpointed vault offers:\n%s", out)
		}
	})
	t.Run("postgres-unused", func(t *testing.T) {
		e := clitest.New(t)
		u := pgtest.FreshSchema(t)
		e.Vars["CERTCTL_STORE"] = u
		if out := e.MustRun("__complete", "describe", "").Stdout; strings.Contains(out, "\t") {
			t.Errorf("__complete describe on an unused schema offers:\n%s", out)
		}
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var tables int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema()`).Scan(&tables); err != nil || tables != 0 {
			t.Errorf("completion made %d tables in the schema (%v)", tables, err)
		}
	})
	t.Run("sqlite-not-a-vault", func(t *testing.T) {
		// An empty file, none at all, and another program's database
		// (rollback journal): none is made a vault or changed (review:
		// an empty file became a whole vault at <TAB>; the other
		// program's database was turned to WAL mode).
		e := clitest.New(t)
		empty := filepath.Join(e.Dir, "empty.db")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		// Another program's databases: one with a rollback journal, one
		// in WAL mode (review: -wal and -shm were made beside it).
		other, otherWAL := filepath.Join(e.Dir, "other.db"), filepath.Join(e.Dir, "other-wal.db")
		for p, mode := range map[string]string{other: "DELETE", otherWAL: "WAL"} {
			db, err := sql.Open("sqlite", p)
			if err == nil {
				_, err = db.Exec("PRAGMA journal_mode=" + mode + "; CREATE TABLE t(x)")
				db.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		before, err := os.ReadFile(other)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{empty, filepath.Join(e.Dir, "absent.db"), other, otherWAL} {
			e.Vars["CERTCTL_STORE"] = "sqlite:" + p
			if out := e.MustRun("__complete", "describe", "").Stdout; strings.Contains(out, "\t") {
				t.Errorf("__complete describe on %s offers:\n%s", p, out)
			}
		}
		if fi, err := os.Stat(empty); err != nil || fi.Size() != 0 {
			t.Errorf("completion wrote the empty file: %v, %v", fi, err)
		}
		if after, err := os.ReadFile(other); err != nil || string(after) != string(before) {
			t.Errorf("completion changed another program's database (%v)", err)
		}
		for _, p := range []string{filepath.Join(e.Dir, "absent.db"), empty + "-wal", empty + "-shm", other + "-wal", otherWAL + "-wal", otherWAL + "-shm", e.Vault} {
			if _, err := os.Stat(p); err == nil {
				t.Errorf("completion made %s", p)
			}
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		e := clitest.New(t)
		e.Vars["CERTCTL_STORE"] = "postgres://u:s3cret@127.0.0.1:1/db?sslmode=disable"
		r := e.MustRun("__complete", "describe", "")
		if strings.Contains(r.Stdout, "\t") || strings.Contains(r.Stdout+r.Stderr, "s3cret") || strings.Contains(r.Stderr, "Error") {
			t.Errorf("__complete describe on an unreachable store: %s", r)
		}
	})
}
