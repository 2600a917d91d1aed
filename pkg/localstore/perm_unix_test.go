//go:build unix

package localstore_test

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestVaultPermissions checks SPEC section 2: the directory is created 0700
// and every file in it is 0600, whatever the umask. Not parallel: it
// changes the process umask.
func TestVaultPermissions(t *testing.T) {
	// The temporary directories first: made under umask 0, they would be
	// writable by anyone, and a vault below them is refused.
	bases := []string{t.TempDir(), t.TempDir()}
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })

	for i, opts := range []localstore.Options{{}, {Passphrase: []byte("pw"), Scrypt: cheapScrypt}} {
		dir := filepath.Join(bases[i], "a", "vault")
		v, err := localstore.Open(context.Background(), dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		// A second handle left open keeps the -wal and
		// -shm files in place while we look.
		sealKey(t, v, "k", ecKey(t))
		keep, err := localstore.OpenSQLite(context.Background(), filepath.Join(dir, localstore.DatabaseFile))
		if err != nil {
			t.Fatal(err)
		}
		if err := keep.Check(context.Background()); err != nil {
			t.Fatal(err)
		}
		st, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o700 {
			t.Errorf("vault directory mode = %v, want 0700", st.Mode().Perm())
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		names := map[string]bool{}
		for _, e := range entries {
			names[e.Name()] = true
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("%s mode = %v, want 0600", e.Name(), info.Mode().Perm())
			}
		}
		keyFile := localstore.MasterKeyFile
		if opts.Passphrase != nil {
			keyFile = localstore.WrappedMasterFile
		}
		for _, want := range []string{localstore.DatabaseFile, localstore.DatabaseFile + "-wal", localstore.DatabaseFile + "-shm", keyFile} {
			if !names[want] {
				t.Errorf("%s missing from the vault directory (have %v)", want, names)
			}
		}
		keep.Close()
		v.Close()
	}
}
