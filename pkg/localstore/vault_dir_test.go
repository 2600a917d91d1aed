package localstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/certctl/certctl/pkg/fsutil"
)

// TestOpenRefusesAForeignDirectory: an existing directory that holds
// neither a database nor a master key, and holds something a vault does
// not, is refused before anything is made or changed in it (tester: its
// files lost their group and other permissions); an empty one, a vault's
// (its database there, files of the user's beside it), or one holding only
// what certctl keeps (a shared store's host files) opens.
func TestOpenRefusesAForeignDirectory(t *testing.T) {
	ctx := context.Background()
	write := func(dir, name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, foreign := range [][]string{{"README"}, {".git/config"}, {"host.id", "notes.txt"}} {
		dir := filepath.Join(t.TempDir(), "proj")
		var paths []string
		for _, n := range foreign {
			paths = append(paths, write(dir, n, 0o644))
		}
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		v, err := Open(ctx, dir, Options{})
		var unsafe *fsutil.UnsafeError
		if !errors.As(err, &unsafe) {
			if v != nil {
				v.Close()
			}
			t.Errorf("%v: opened (%v), want it refused as not a vault", foreign, err)
			continue
		}
		for _, p := range paths {
			if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %o after the refusal", p, fi.Mode().Perm())
			}
		}
		if _, err := os.Stat(filepath.Join(dir, DatabaseFile)); err == nil {
			t.Errorf("%v: a database was made in it", foreign)
		}
	}
	for _, ok := range [][]string{nil, {"host.id", "host.key", "audit.witness-0123456789abcdef"}, {DatabaseFile, "README"}} {
		dir := filepath.Join(t.TempDir(), "v")
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		vault := len(ok) > 0 && ok[0] == DatabaseFile
		for _, n := range ok {
			if vault {
				break // the database made by the first open below, then README
			}
			write(dir, n, 0o600)
		}
		if vault {
			v, err := Open(ctx, dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			v.Close()
			write(dir, "README", 0o644)
		}
		v, err := Open(ctx, dir, Options{})
		if err != nil {
			t.Errorf("%v: %v, want it opened", ok, err)
			continue
		}
		v.Close()
	}
}
