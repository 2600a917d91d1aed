package localstore

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
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

// TestOpenRefusesALostDatabase: a directory with a vault's master key but
// no database is refused (ErrLostDatabase), saying what most likely
// happened — its own database lost (its witness there), or a shared
// store's directory run without --store (another store's witness only;
// review) — and one with neither opens as a new vault.
func TestOpenRefusesALostDatabase(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		files func(dir string) []string
		want  string
	}{
		{"own witness", func(dir string) []string {
			return []string{MasterKeyFile, WitnessFileName(canonicalStore("sqlite:" + filepath.Join(dir, DatabaseFile)))}
		}, "left by a vault that had data"},
		{"another store's witness", func(string) []string { return []string{MasterKeyFile, WitnessPrefix + "0123456789abcdef"} },
			"give that store (--store or CERTCTL_STORE)"},
		{"master key alone", func(string) []string { return []string{WrappedMasterFile} }, "left by a vault that had data"},
		{"another store's witness alone", func(string) []string { return []string{WitnessPrefix + "0123456789abcdef"} }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "v")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			for _, n := range tc.files(dir) {
				if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			v, err := Open(ctx, dir, Options{})
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Open: %v, want a new vault", err)
				}
				v.Close()
				return
			}
			if err == nil {
				v.Close()
				t.Fatal("opened as a new vault")
			}
			if !errors.Is(err, ErrLostDatabase) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: %v, want ErrLostDatabase saying %q", err, tc.want)
			}
			if _, err := os.Stat(filepath.Join(dir, DatabaseFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a database was made: %v", err)
			}
		})
	}
}
