package localstore_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

func putMeta(t *testing.T, s localstore.Store, key, value string) {
	t.Helper()
	if err := s.Update(context.Background(), func(tx localstore.Tx) error { return tx.PutMeta(key, []byte(value)) }); err != nil {
		t.Fatalf("PutMeta %s: %v", key, err)
	}
}

func getMeta(t *testing.T, s localstore.Store, key string) string {
	t.Helper()
	var v []byte
	if err := s.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		v, err = tx.GetMeta(key)
		return err
	}); err != nil {
		t.Fatalf("GetMeta %s: %v", key, err)
	}
	return string(v)
}

// TestSQLiteKeepsLogOnClose: closing the vault does not checkpoint the
// write-ahead log (no fsync of the database file, no re-created log for the
// next command), and what the log holds is read back by the next opener.
func TestSQLiteKeepsLogOnClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	s, err := localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	putMeta(t, s, "k", "v1")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path + "-wal")
	if err != nil || fi.Size() == 0 {
		t.Fatalf("the log was checkpointed and removed on close (stat: %v)", err)
	}
	s, err = localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := getMeta(t, s, "k"); got != "v1" {
		t.Fatalf("after reopening: %q, want v1", got)
	}
}

// TestSQLiteTrimsLogOnClose: a log larger than the close limit is folded
// into the database file and truncated when the vault is closed, so that
// the log (which each process reads at start) stays small.
func TestSQLiteTrimsLogOnClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	s, err := localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	big := string(make([]byte, 64<<10))
	for i := range 20 {
		putMeta(t, s, fmt.Sprintf("k%d", i), big)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-wal"); err == nil && fi.Size() > 512<<10 {
		t.Fatalf("the log is %d bytes after close, want it trimmed", fi.Size())
	}
	s, err = localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := getMeta(t, s, "k19"); len(got) != len(big) {
		t.Fatalf("k19 has %d bytes after trimming, want %d", len(got), len(big))
	}
}

// TestSQLiteCommitSurvivesExit: a process that commits and exits at once,
// without closing the vault (as if killed right after the command
// returned), leaves every acknowledged change on disk; another connection
// open meanwhile sees it too.
func TestSQLiteCommitSurvivesExit(t *testing.T) {
	if p := os.Getenv("CERTCTL_TEST_COMMIT_AND_EXIT"); p != "" {
		s, err := localstore.OpenSQLite(context.Background(), p)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		for i := range 3 {
			if err := s.Update(context.Background(), func(tx localstore.Tx) error {
				return tx.PutMeta(fmt.Sprintf("child%d", i), []byte("done"))
			}); err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		os.Exit(0) // no Close: nothing but the commits' own syncs
	}
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	reader, err := localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	putMeta(t, reader, "parent", "x")
	cmd := exec.Command(os.Args[0], "-test.run=^TestSQLiteCommitSurvivesExit$")
	cmd.Env = append(os.Environ(), "CERTCTL_TEST_COMMIT_AND_EXIT="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	for i := range 3 {
		if got := getMeta(t, reader, fmt.Sprintf("child%d", i)); got != "done" {
			t.Fatalf("an open connection reads child%d = %q", i, got)
		}
	}
	if err := reader.Close(); err != nil {
		t.Fatal(err)
	}
	s, err := localstore.OpenSQLite(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 3 {
		if got := getMeta(t, s, fmt.Sprintf("child%d", i)); got != "done" {
			t.Fatalf("after reopening, child%d = %q", i, got)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestSQLiteOneTransactionOneConnection: a write transaction that runs a
// query several times uses its own connection only; preparing the query
// on the pool opened a second one (and parsed the schema there) while the
// transaction held the first.
func TestSQLiteOneTransactionOneConnection(t *testing.T) {
	ctx := context.Background()
	s, err := localstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), localstore.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := range 2 {
		err := s.Update(ctx, func(tx localstore.Tx) error {
			for j := range 3 {
				if err := tx.PutMeta(fmt.Sprintf("k%d.%d", i, j), []byte("v")); err != nil {
					return err
				}
				if _, err := tx.GetMeta(fmt.Sprintf("k%d.%d", i, j)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			if n := s.DB().Stats().OpenConnections; n != 1 {
				t.Fatalf("the first write transaction left %d connections open, want 1", n)
			}
		}
	}
	if got := getMeta(t, s, "k1.2"); got != "v" {
		t.Fatalf("k1.2 = %q", got)
	}
}
