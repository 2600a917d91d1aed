package localstore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/localstore/storetest"
)

func openSQLite(t *testing.T) localstore.Store {
	t.Helper()
	s, err := localstore.OpenSQLite(context.Background(), filepath.Join(t.TempDir(), localstore.DatabaseFile))
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, openSQLite)
}
