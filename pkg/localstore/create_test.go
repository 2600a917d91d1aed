package localstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
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
