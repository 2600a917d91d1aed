package localstore_test

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestConcurrentFirstOpen opens a brand-new vault from several handles at
// once, as concurrent certctl processes do: every open succeeds (SQLite
// answers SQLITE_BUSY at once, without the busy timeout, when two
// connections convert a new database to WAL together), every write lands,
// and the database ends in WAL mode.
func TestConcurrentFirstOpen(t *testing.T) {
	t.Parallel()
	const rounds, handles = 60, 6
	for round := range rounds {
		dir := filepath.Join(t.TempDir(), "vault")
		var wg sync.WaitGroup
		errs := make([]error, handles)
		for h := range handles {
			wg.Add(1)
			go func() {
				defer wg.Done()
				v, err := localstore.Open(context.Background(), dir, localstore.Options{})
				if err != nil {
					errs[h] = fmt.Errorf("Open: %w", err)
					return
				}
				defer v.Close()
				errs[h] = v.Store.Update(context.Background(), func(tx localstore.Tx) error {
					return tx.PutMeta(fmt.Sprint(h), []byte("x"))
				})
			}()
		}
		wg.Wait()
		for h, err := range errs {
			if err != nil {
				t.Fatalf("round %d handle %d: %v", round, h, err)
			}
		}
		// A plain handle, without the store's pragmas, sees WAL mode and
		// every write.
		db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, localstore.DatabaseFile))
		if err != nil {
			t.Fatal(err)
		}
		var mode string
		var n int
		if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRow("SELECT count(*) FROM meta").Scan(&n); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if mode != "wal" || n != handles {
			t.Fatalf("round %d: journal_mode %q, %d rows; want wal, %d", round, mode, n, handles)
		}
	}
}

// TestAnotherProgramsDatabaseIsNotTakenOver: a vault.db that is another
// program's SQLite database (tables of its own, schema version 0) is
// refused as not a certctl vault (ErrCorrupt: exit 6), and left as it was.
func TestAnotherProgramsDatabaseIsNotTakenOver(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vault.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE users (id, name)`); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := localstore.OpenSQLite(context.Background(), path)
	if err == nil {
		st.Close()
		t.Fatal("another program's database opened as a vault")
	}
	if !errors.Is(err, localstore.ErrCorrupt) || !strings.Contains(err.Error(), "not a certctl vault") {
		t.Errorf("error %v, want ErrCorrupt naming it not a certctl vault", err)
	}
	var names []string
	rows, err := db.Query(`SELECT name FROM sqlite_master ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	if fmt.Sprint(names) != "[users]" {
		t.Errorf("the database holds %v after the refused open, want [users]", names)
	}
	// Not a byte changed, and no log beside it (tester: it was switched
	// to WAL mode and left with -wal and -shm files).
	if after, err := os.ReadFile(path); err != nil || !bytes.Equal(after, before) {
		t.Errorf("the refused database's file changed (%v)", err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(path + suffix); err == nil {
			t.Errorf("the refused open left %s", filepath.Base(path+suffix))
		}
	}
}
