package localstore_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// cheapScrypt keeps passphrase tests fast; production uses DefaultScrypt.
var cheapScrypt = localstore.ScryptParams{N: 1 << 10, R: 8, P: 1}

func openVault(t *testing.T, dir string, opts localstore.Options) *localstore.Vault {
	t.Helper()
	v, err := localstore.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v
}

func ecKey(t *testing.T) crypto.Signer {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type equaler interface{ Equal(crypto.PrivateKey) bool }

func sealKey(t *testing.T, v *localstore.Vault, ref string, k crypto.Signer) {
	t.Helper()
	if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return v.SealKey(tx, ref, k)
	}); err != nil {
		t.Fatalf("SealKey: %v", err)
	}
}

func openKey(v *localstore.Vault, ref string) (k crypto.Signer, err error) {
	verr := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		k, err = v.OpenKey(tx, ref)
		return nil
	})
	if verr != nil {
		return nil, verr
	}
	return k, err
}

func TestSealedKeyRoundTrip(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "vault")
	v := openVault(t, dir, localstore.Options{})
	ec := ecKey(t)
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	sealKey(t, v, "k/ec", ec)
	sealKey(t, v, "k/rsa", rk)
	v.Close()
	// A new Vault value reads the master key from the directory.
	v2 := openVault(t, dir, localstore.Options{})
	for ref, want := range map[string]crypto.Signer{"k/ec": ec, "k/rsa": rk} {
		got, err := openKey(v2, ref)
		if err != nil {
			t.Fatalf("OpenKey(%s): %v", ref, err)
		}
		if !want.(equaler).Equal(got) {
			t.Errorf("OpenKey(%s) returned another key", ref)
		}
	}
	if _, err := openKey(v2, "k/none"); !errors.Is(err, localstore.ErrNotFound) {
		t.Errorf("OpenKey of a missing ref: %v, want ErrNotFound", err)
	}
}

// TestSealedSecretBoundToRef: a sealed value copied to another record does
// not open there, and a flipped bit does not open anywhere.
func TestSealedSecretBoundToRef(t *testing.T) {
	t.Parallel()
	v := openVault(t, filepath.Join(t.TempDir(), "vault"), localstore.Options{})
	sealKey(t, v, "cert/a/1", ecKey(t))
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		sealed, err := tx.GetSecret("cert/a/1")
		if err != nil {
			return err
		}
		if err := tx.PutSecret("cert/b/1", sealed); err != nil {
			return err
		}
		flipped := bytes.Clone(sealed)
		flipped[len(flipped)-1] ^= 1
		if err := tx.PutSecret("cert/a/flipped", flipped); err != nil {
			return err
		}
		return tx.PutSecret("cert/a/short", sealed[:10])
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := openKey(v, "cert/a/1"); err != nil {
		t.Fatalf("OpenKey under its own ref: %v", err)
	}
	for _, ref := range []string{"cert/b/1", "cert/a/flipped", "cert/a/short"} {
		if _, err := openKey(v, ref); !errors.Is(err, localstore.ErrCorrupt) {
			t.Errorf("OpenKey(%s) = %v, want ErrCorrupt", ref, err)
		}
	}

	s, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := s.Seal("ref-1", []byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("secret")) {
		t.Error("the sealed value contains the plaintext")
	}
	if pt, err := s.Open("ref-1", sealed); err != nil || string(pt) != "secret" {
		t.Errorf("Open(ref-1) = %q, %v", pt, err)
	}
	for _, ref := range []string{"ref-2", "ref-1 ", "", "REF-1"} {
		if _, err := s.Open(ref, sealed); !errors.Is(err, localstore.ErrCorrupt) {
			t.Errorf("Open(%q) of a value sealed for ref-1: %v, want ErrCorrupt", ref, err)
		}
	}
	if again, _ := s.Seal("ref-1", []byte("secret")); bytes.Equal(again, sealed) {
		t.Error("two seals of one value are identical: the nonce is not random")
	}

	// Another vault's master key does not open it either.
	other := openVault(t, filepath.Join(t.TempDir(), "other"), localstore.Options{})
	os2, err := other.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os2.Open("ref-1", sealed); !errors.Is(err, localstore.ErrCorrupt) {
		t.Errorf("another vault opened the secret: %v", err)
	}
}

func TestPassphraseVault(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "vault")
	pass := []byte("correct horse battery staple")
	v := openVault(t, dir, localstore.Options{Passphrase: pass, Scrypt: cheapScrypt})
	key := ecKey(t)
	sealKey(t, v, "k", key)
	v.Close()

	if _, err := os.Stat(filepath.Join(dir, localstore.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a passphrase vault has a clear %s (stat: %v)", localstore.MasterKeyFile, err)
	}
	wrapped, err := os.ReadFile(filepath.Join(dir, localstore.WrappedMasterFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, pass) {
		t.Error("the wrapped key file contains the passphrase")
	}

	for _, tc := range []struct {
		name string
		pass []byte
		want error
	}{
		{"wrong", []byte("wrong"), localstore.ErrWrongPassphrase},
		{"prefix", pass[:len(pass)-1], localstore.ErrWrongPassphrase},
		{"empty", []byte{}, localstore.ErrWrongPassphrase},
		{"none", nil, localstore.ErrLocked},
	} {
		v := openVault(t, dir, localstore.Options{Passphrase: tc.pass, Scrypt: cheapScrypt})
		if _, err := v.Sealer(); !errors.Is(err, tc.want) {
			t.Errorf("%s passphrase: Sealer() = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := openKey(v, "k"); !errors.Is(err, tc.want) {
			t.Errorf("%s passphrase: OpenKey = %v, want %v", tc.name, err, tc.want)
		}
		// A locked vault still lists: the store opens without the key.
		if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
			_, err := tx.CountCertificates()
			return err
		}); err != nil {
			t.Errorf("%s passphrase: the store does not open: %v", tc.name, err)
		}
		if _, err := os.Stat(filepath.Join(dir, localstore.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s passphrase: opening created a clear master key", tc.name)
		}
		v.Close()
	}

	v = openVault(t, dir, localstore.Options{Passphrase: pass, Scrypt: cheapScrypt})
	got, err := openKey(v, "k")
	if err != nil {
		t.Fatalf("right passphrase: %v", err)
	}
	if !key.(equaler).Equal(got) {
		t.Error("right passphrase opened another key")
	}
}

func TestGarbageDatabaseIsCorrupt(t *testing.T) {
	t.Parallel()
	random := make([]byte, 16384)
	rand.Read(random)
	for name, content := range map[string][]byte{
		"text":   bytes.Repeat([]byte("this is not a database\n"), 500),
		"random": random,
		// A real header followed by garbage pages.
		"header": append([]byte("SQLite format 3\x00\x10\x00\x01\x01\x00\x40\x20\x20"), bytes.Repeat([]byte{0xEE}, 8192)...),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, localstore.DatabaseFile), content, 0o600); err != nil {
				t.Fatal(err)
			}
			v, err := localstore.Open(context.Background(), dir, localstore.Options{})
			if err == nil {
				v.Close()
				t.Fatal("Open of a garbage vault.db succeeded")
			}
			if !errors.Is(err, localstore.ErrCorrupt) {
				t.Errorf("Open of a garbage vault.db: %v; want an error wrapping ErrCorrupt", err)
			}
		})
	}
}

// TestNegativeSchemaRefused: a schema version no certctl writes (PRAGMA
// user_version = -1) is a damaged vault (ErrCorrupt, exit 6), not an
// index out of range (tester: "internal error: runtime error"), and a
// backup of one is no backup.
func TestNegativeSchemaRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := sqliteAtSchema(t, -1, nil)
	s, err := localstore.OpenSQLite(ctx, path)
	if err == nil {
		s.Close()
		t.Fatal("OpenSQLite of a vault with schema version -1 succeeded")
	}
	if !errors.Is(err, localstore.ErrCorrupt) || !strings.Contains(err.Error(), "schema version -1") {
		t.Errorf("OpenSQLite: %v, want ErrCorrupt naming the version", err)
	}
	if _, err := localstore.Open(ctx, filepath.Dir(path), localstore.Options{}); !errors.Is(err, localstore.ErrCorrupt) {
		t.Errorf("Open: %v, want ErrCorrupt", err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	t.Parallel()
	path := sqliteAtSchema(t, 999, nil)
	s, err := localstore.OpenSQLite(context.Background(), path)
	if err == nil {
		s.Close()
		t.Fatal("OpenSQLite of a vault with schema version 999 succeeded")
	}
	msg := err.Error()
	for _, want := range []string{"999", "newer", "upgrade"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	// The refusal changed nothing: the version is still 999.
	if _, err := localstore.Open(context.Background(), filepath.Dir(path), localstore.Options{}); err == nil {
		t.Error("Open of a newer vault succeeded")
	}
}

func TestCurrentSchemaReopens(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), localstore.DatabaseFile)
	for i := 0; i < 2; i++ {
		s, err := localstore.OpenSQLite(context.Background(), path)
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		var v int
		if err := s.DB().QueryRow("PRAGMA user_version").Scan(&v); err != nil {
			t.Fatal(err)
		}
		if v != localstore.SchemaVersion {
			t.Errorf("user_version = %d, want %d", v, localstore.SchemaVersion)
		}
		s.Close()
	}
}

// TestCheckUnlocked: the check renew --due makes at every pass refuses a
// wrapped key without a passphrase (locked) and one with a passphrase that
// does not open it (derived: a stale passphrase fails every pass, not the
// day a renewal falls due; tester), passes the right one, and loads a key
// in clear.
func TestCheckUnlocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	v := openVault(t, dir, localstore.Options{Passphrase: []byte("right"), Scrypt: cheapScrypt})
	if _, err := v.Sealer(); err != nil { // makes the wrapped key
		t.Fatal(err)
	}
	if err := openVault(t, dir, localstore.Options{}).CheckUnlocked(); !errors.Is(err, localstore.ErrLocked) {
		t.Errorf("no passphrase: %v, want ErrLocked", err)
	}
	wrong := openVault(t, dir, localstore.Options{Passphrase: []byte("wrong"), Scrypt: cheapScrypt})
	if err := wrong.CheckUnlocked(); !errors.Is(err, localstore.ErrWrongPassphrase) {
		t.Errorf("a wrong passphrase: %v, want ErrWrongPassphrase", err)
	}
	right := openVault(t, dir, localstore.Options{Passphrase: []byte("right"), Scrypt: cheapScrypt})
	if err := right.CheckUnlocked(); err != nil {
		t.Errorf("the right passphrase: %v", err)
	}
	asked := 0
	ask := openVault(t, dir, localstore.Options{AskPassphrase: func() ([]byte, error) { asked++; return []byte("right"), nil }, Scrypt: cheapScrypt})
	if err := ask.CheckUnlocked(); err != nil || asked != 0 {
		t.Errorf("a terminal to ask: %v, asked %d times; want nothing asked yet", err, asked)
	}
	plain := filepath.Join(t.TempDir(), "p")
	pv := openVault(t, plain, localstore.Options{})
	if _, err := pv.Sealer(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(plain, localstore.MasterKeyFile), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := openVault(t, plain, localstore.Options{}).CheckUnlocked(); err == nil {
		t.Error("a damaged key in clear passed the check")
	}
}

// TestOpenRefusesInterruptedRestore (tester): a vault directory holding
// the working copy of a restore whose process is gone is refused
// (ErrRestoreInterrupted, naming it) instead of working as a new, empty
// vault; vault restore itself (Options.Restoring) opens it, and one whose
// restore is still running opens as before.
func TestOpenRefusesInterruptedRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no true command to make a process that is gone:", err)
	}
	left := filepath.Join(dir, localstore.RestoreTempPrefix(gone.Process.Pid)+"x")
	if err := os.MkdirAll(left, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := localstore.Open(ctx, dir, localstore.Options{})
	if !errors.Is(err, localstore.ErrRestoreInterrupted) || !strings.Contains(err.Error(), left) {
		t.Fatalf("open after a killed restore: %v, want ErrRestoreInterrupted naming %s", err, left)
	}
	v, err := localstore.Open(ctx, dir, localstore.Options{Restoring: true})
	if err != nil {
		t.Fatalf("the restore's own open: %v", err)
	}
	v.Close()
	// A restore under way (this process's own working copy) is none.
	if err := os.Rename(left, filepath.Join(dir, localstore.RestoreTempPrefix(os.Getpid())+"x")); err != nil {
		t.Fatal(err)
	}
	v, err = localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		t.Fatalf("open beside a restore under way: %v", err)
	}
	v.Close()
}
