package localstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// write runs an empty write transaction after loading v's key, as every
// change does (the key is loaded before its transaction).
func write(t *testing.T, v *localstore.Vault) {
	t.Helper()
	if _, err := v.Sealer(); err != nil {
		t.Fatal(err)
	}
	if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
}

// wrongKeyNamed requires that a new process of the vault in dir refuses
// its (replaced) key as not the store's, naming both key IDs.
func wrongKeyNamed(t *testing.T, dir, storeKey string) {
	t.Helper()
	v := openVault(t, dir, localstore.Options{})
	_, err := v.Sealer()
	if err == nil || !strings.Contains(err.Error(), "the master key is not the key the vault's store is sealed under (key "+storeKey+"; the key in "+dir+" is ") {
		t.Fatalf("a wrong master.key: %v", err)
	}
}

func replaceKey(t *testing.T, dir string) []byte {
	t.Helper()
	good, err := os.ReadFile(filepath.Join(dir, localstore.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	bad := make([]byte, 32)
	rand.Read(bad)
	if err := os.WriteFile(filepath.Join(dir, localstore.MasterKeyFile), bad, 0o600); err != nil {
		t.Fatal(err)
	}
	return good
}

// TestNewVaultRecordsItsKey: a vault's first write records the ID of the
// key it was created with, so that another master.key put in its place is
// named as the wrong key (not reported as secrets that do not open and an
// audit log that does not verify).
func TestNewVaultRecordsItsKey(t *testing.T) {
	dir := t.TempDir()
	v, keys := keyedVault(t, dir, localstore.Options{}, 2)
	write(t, v)
	s, _ := v.Sealer()
	if got := storeID(t, v); got != s.ID() {
		t.Fatalf("store key ID %q, want %q", got, s.ID())
	}
	v.Close()
	good := replaceKey(t, dir)
	wrongKeyNamed(t, dir, s.ID())
	if err := os.WriteFile(filepath.Join(dir, localstore.MasterKeyFile), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkKeys(t, dir, localstore.Options{}, keys); err != nil {
		t.Fatal(err)
	}
}

// TestOlderVaultRecordsItsKeyOnceProven: a store that records no key ID
// (made by a release before it did) records it in the first write of a
// process whose key opens its sealed secrets — never one whose key does
// not (which would make the wrong key the store's) — and from then on a
// wrong key is named as such.
func TestOlderVaultRecordsItsKeyOnceProven(t *testing.T) {
	dir := t.TempDir()
	v, keys := keyedVault(t, dir, localstore.Options{}, 2)
	s, _ := v.Sealer()
	unrecord := func() {
		t.Helper()
		if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			b, err := localstore.AsBulk(tx)
			if err != nil {
				return err
			}
			return b.DeleteMeta(localstore.MetaMasterKeyID)
		}); err != nil {
			t.Fatal(err)
		}
	}
	unrecord()
	v.Close()

	// A wrong key writes (as before), but is not recorded.
	good := replaceKey(t, dir)
	wrong := openVault(t, dir, localstore.Options{})
	write(t, wrong)
	if got := storeID(t, wrong); got != "" {
		t.Fatalf("the wrong key was recorded as the store's: %q", got)
	}
	wrong.Close()

	// The right key is, at the first write.
	if err := os.WriteFile(filepath.Join(dir, localstore.MasterKeyFile), good, 0o600); err != nil {
		t.Fatal(err)
	}
	right := openVault(t, dir, localstore.Options{})
	if got := storeID(t, right); got != "" {
		t.Fatalf("recorded before a write: %q", got)
	}
	write(t, right)
	if got := storeID(t, right); got != s.ID() {
		t.Fatalf("store key ID %q after a write under the right key, want %q", got, s.ID())
	}
	right.Close()
	replaceKey(t, dir)
	wrongKeyNamed(t, dir, s.ID())
	if err := os.WriteFile(filepath.Join(dir, localstore.MasterKeyFile), good, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := checkKeys(t, dir, localstore.Options{}, keys); err != nil {
		t.Fatal(err)
	}
}

// TestWrappedVaultRecordsItsKey: the same for a passphrase-wrapped key
// (master.key.enc): another vault's wrapped key, which the same
// passphrase opens, is named as the wrong key.
func TestWrappedVaultRecordsItsKey(t *testing.T) {
	opts := localstore.Options{Passphrase: []byte("correct horse"), Scrypt: localstore.ScryptParams{N: 1 << 10, R: 8, P: 1}}
	dir, other := t.TempDir(), t.TempDir()
	v, _ := keyedVault(t, dir, opts, 1)
	write(t, v)
	s, _ := v.Sealer()
	v.Close()
	o, _ := keyedVault(t, other, opts, 1)
	o.Close()
	theirs, err := os.ReadFile(filepath.Join(other, localstore.WrappedMasterFile))
	if err != nil {
		t.Fatal(err)
	}
	mine, _ := os.ReadFile(filepath.Join(dir, localstore.WrappedMasterFile))
	if bytes.Equal(mine, theirs) {
		t.Fatal("two vaults, one wrapped key")
	}
	if err := os.WriteFile(filepath.Join(dir, localstore.WrappedMasterFile), theirs, 0o600); err != nil {
		t.Fatal(err)
	}
	w := openVault(t, dir, opts)
	if _, err := w.Sealer(); err == nil || !strings.Contains(err.Error(), "is not the key the vault's store is sealed under (key "+s.ID()) {
		t.Fatalf("another vault's wrapped key: %v", err)
	}
}
