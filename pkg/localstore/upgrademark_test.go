package localstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestUpgradeMarksReadAtOpen: a store whose schema is up to date when it
// is opened reads whether it holds an upgrade mark with its schema
// version, and says so; one that migrated its schema itself does not know
// and says one may be pending (its reader then reads the mark). Never "none"
// for a store holding the mark: the upgrade would be skipped.
func TestUpgradeMarksReadAtOpen(t *testing.T) {
	ctx := context.Background()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var open func() localstore.Store
			if kind == "postgres" {
				u := freshSchema(t)
				open = func() localstore.Store { return openPostgresAt(t, u) }
			} else {
				path := filepath.Join(t.TempDir(), "vault.db")
				open = func() localstore.Store {
					s, err := localstore.OpenSQLite(ctx, path)
					if err != nil {
						t.Fatal(err)
					}
					t.Cleanup(func() { s.Close() })
					return s
				}
			}
			st := open()
			if !localstore.UpgradeMayBePending(st) {
				t.Error("a store that made its schema at open says no upgrade is pending: it did not read")
			}
			if localstore.UpgradeMayBePending(open()) {
				t.Error("an up-to-date store without the mark says an upgrade may be pending")
			}
			if err := st.Update(ctx, func(tx localstore.Tx) error {
				return tx.PutMeta(localstore.MetaUpgradeCompromisedKeys, []byte{1})
			}); err != nil {
				t.Fatal(err)
			}
			if !localstore.UpgradeMayBePending(open()) {
				t.Error("a store holding the upgrade mark says no upgrade is pending")
			}
		})
	}
}
