package service_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/endpoints"
	"github.com/certctl/certctl/pkg/service/vaultops"
)

// fastScrypt keeps the passphrase tests quick.
var fastScrypt = localstore.ScryptParams{N: 1 << 10, R: 8, P: 1}

// openHandle opens the vault in dir as one more process would, with its
// service core.
func openHandle(t *testing.T, dir string, opts localstore.Options) (*localstore.Vault, *service.Core) {
	t.Helper()
	v, err := localstore.Open(context.Background(), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	return v, &service.Core{Vault: v, Now: time.Now, Names: inventory.Names{Region: "local", Account: "000000000000"},
		Authority: authority.New(v, time.Now, ""), Actor: audit.Actor{Type: audit.ActorUser, ID: "a"}}
}

// rotateFromAnotherProcess rotates the master key of the vault in dir
// through a handle of its own.
func rotateFromAnotherProcess(t *testing.T, dir string, opts localstore.Options) {
	t.Helper()
	_, c := openHandle(t, dir, opts)
	if _, err := vaultops.New(c, vaultops.Settings{}).RotateKey(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestChangeAfterRotationByAnotherProcess: another handle (a process)
// rotates the vault's master key while this one's change waits for the
// write gate with the key it took before, and another transaction of this
// one (a nonce redemption) meets the write guard first, which drops the
// key and lets the next transaction through. The change's first attempt is
// refused (CheckSealer), nothing of it written — not committed with its
// audit record MACed under the old key, which failed with a false "audit
// log changed" — and Change runs it again under the new key, so that the
// caller (a cron renew --due, an export whose key is already delivered)
// does not fail; the chain verifies under the new key.
func TestChangeAfterRotationByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v1, c1 := openHandle(t, dir, localstore.Options{})
	c1.WriteGate = make(chan struct{}, 1)
	put := func(name, k string) error {
		return c1.Change(ctx, name, func(op *service.Op) error { return op.Tx.PutMeta(k, []byte("1")) })
	}
	if err := put("First", "a"); err != nil {
		t.Fatal(err)
	}
	rotateFromAnotherProcess(t, dir, localstore.Options{})
	c1.WriteGate <- struct{}{} // another writer of the process holds the gate
	done := make(chan error, 1)
	go func() { done <- put("Second", "b") }()
	time.Sleep(100 * time.Millisecond) // the change has its key and waits for the gate
	if err := v1.Store.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("n", []byte("1")) }); !errors.Is(err, localstore.ErrKeyRotated) {
		t.Fatalf("the other writer's transaction: %v, want the guard's refusal", err)
	}
	<-c1.WriteGate
	if err := <-done; err != nil {
		t.Errorf("the change waiting over the rotation: %v, want it run again under the new key", err)
	}
	if err := put("Third", "c"); err != nil {
		t.Errorf("the next change: %v", err)
	}
	s1, err := v1.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if err := v1.Store.View(ctx, func(tx localstore.Tx) error {
		if _, err := tx.GetMeta("b"); err != nil {
			t.Errorf("the change run again did not write: %v", err)
		}
		n, p, err := audit.Verify(tx, s1.AuditKey())
		if p != nil || n != 4 {
			t.Errorf("audit chain under the new key: %d records (want First, RotateVaultKey, Second, Third), problem %v", n, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPassphraseChangeOverRotation: a passphrase change wraps the key its
// process holds before its change runs; when another process rotates the
// key first, or while the change waits for the write gate, the change is
// refused and installs nothing — the vault keeps opening under the new key
// (a retry of the change that installed the old key, wrapped, deleted the
// new one) — and run again it takes.
func TestPassphraseChangeOverRotation(t *testing.T) {
	for _, during := range []bool{false, true} {
		ctx := context.Background()
		dir := t.TempDir()
		opts := localstore.Options{Scrypt: fastScrypt}
		v1, c1 := openHandle(t, dir, opts)
		c1.WriteGate = make(chan struct{}, 1)
		if _, err := v1.Sealer(); err != nil {
			t.Fatal(err)
		}
		ops := vaultops.New(c1, vaultops.Settings{})
		var err error
		if during {
			c1.WriteGate <- struct{}{}
			done := make(chan error, 1)
			go func() { _, err := ops.ChangePassphrase(ctx, []byte("pw")); done <- err }()
			time.Sleep(100 * time.Millisecond) // wrapped, waiting for the gate
			rotateFromAnotherProcess(t, dir, opts)
			<-c1.WriteGate
			err = <-done
		} else {
			rotateFromAnotherProcess(t, dir, opts)
			_, err = ops.ChangePassphrase(ctx, []byte("pw"))
		}
		if !errors.Is(err, localstore.ErrKeyRotated) {
			t.Errorf("rotation during the change %v: %v, want the refusal of a replaced key", during, err)
		}
		after, _ := openHandle(t, dir, opts)
		if _, err := after.Sealer(); err != nil {
			t.Fatalf("rotation during the change %v: the vault no longer opens: %v", during, err)
		}
		if _, err := ops.ChangePassphrase(ctx, []byte("pw")); err != nil {
			t.Fatalf("rotation during the change %v: run again: %v", during, err)
		}
		v, _ := openHandle(t, dir, localstore.Options{Passphrase: []byte("pw"), Scrypt: fastScrypt})
		if _, err := v.Sealer(); err != nil {
			t.Errorf("rotation during the change %v: the new passphrase does not open the vault: %v", during, err)
		}
	}
}

// TestCreateEABAfterRotation: an EAB credential made by a process that
// loaded the key before another's rotation has its MAC key sealed under
// the vault's key (the change takes it in its transaction, Op.Sealer): the
// refusal of the stale key is answered by Change running it again.
func TestCreateEABAfterRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v1, c1 := openHandle(t, dir, localstore.Options{})
	eps := endpoints.New(c1, endpoints.Settings{Listen: "127.0.0.1:8443", Zone: "zone.test"})
	arn, _, err := eps.Create(ctx, endpoints.CreateInput{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"})
	if err != nil {
		t.Fatal(err)
	}
	rotateFromAnotherProcess(t, dir, localstore.Options{})
	view, err := eps.CreateEAB(ctx, arn, false, 0) // refused once, run again by Change
	if err != nil {
		t.Fatal(err)
	}
	s1, err := v1.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if err := v1.Store.View(ctx, func(tx localstore.Tx) error {
		b, err := acmestate.GetEAB(tx, view.KeyID)
		if err != nil {
			return err
		}
		key, err := b.MACKey(s1)
		clear(key)
		return err
	}); err != nil {
		t.Errorf("the credential's MAC key does not open under the vault's key: %v", err)
	}
}

// TestKeyChangesDoNotUndoEachOther: of two key changes racing on one host,
// the second to commit is refused ("run the command again") instead of
// undoing the first, which a tester saw: a change-passphrase that
// committed while a rotation ran, the rotation then wrapping the new key
// under the passphrase just retired (the old one kept opening the vault,
// the new one did not); and two change-passphrase at once, both "done",
// one passphrase lost.
func TestKeyChangesDoNotUndoEachOther(t *testing.T) {
	ctx := context.Background()
	wrappedBy := func(t *testing.T, dir, pass string) {
		t.Helper()
		v, _ := openHandle(t, dir, localstore.Options{Passphrase: []byte(pass), Scrypt: fastScrypt})
		if _, err := v.Sealer(); err != nil {
			t.Fatalf("passphrase %q does not open the vault: %v", pass, err)
		}
	}
	t.Run("rotation after a passphrase change", func(t *testing.T) {
		dir := t.TempDir()
		opts := localstore.Options{Passphrase: []byte("p1"), Scrypt: fastScrypt}
		_, seed := openHandle(t, dir, localstore.Options{Scrypt: fastScrypt})
		if _, err := vaultops.New(seed, vaultops.Settings{}).ChangePassphrase(ctx, []byte("p1")); err != nil {
			t.Fatal(err)
		}
		rv, rc := openHandle(t, dir, opts) // the rotation's process, its key loaded
		if _, err := rv.Sealer(); err != nil {
			t.Fatal(err)
		}
		_, cc := openHandle(t, dir, opts)
		if _, err := vaultops.New(cc, vaultops.Settings{}).ChangePassphrase(ctx, []byte("p3")); err != nil {
			t.Fatal(err)
		}
		if _, err := vaultops.New(rc, vaultops.Settings{}).RotateKey(ctx); !errors.Is(err, localstore.ErrKeyRotated) {
			t.Fatalf("rotation after another process's passphrase change: %v, want run again", err)
		}
		wrappedBy(t, dir, "p3")
	})
	t.Run("two passphrase changes", func(t *testing.T) {
		dir := t.TempDir()
		opts := localstore.Options{Passphrase: []byte("p1"), Scrypt: fastScrypt}
		_, seed := openHandle(t, dir, localstore.Options{Scrypt: fastScrypt})
		if _, err := vaultops.New(seed, vaultops.Settings{}).ChangePassphrase(ctx, []byte("p1")); err != nil {
			t.Fatal(err)
		}
		v1, c1 := openHandle(t, dir, opts)
		if _, err := v1.Sealer(); err != nil {
			t.Fatal(err)
		}
		c1.WriteGate = make(chan struct{}, 1)
		c1.WriteGate <- struct{}{}
		done := make(chan error, 1)
		go func() {
			_, err := vaultops.New(c1, vaultops.Settings{}).ChangePassphrase(ctx, []byte("pA"))
			done <- err
		}()
		time.Sleep(100 * time.Millisecond) // wrapped, waiting for the gate
		_, c2 := openHandle(t, dir, opts)
		if _, err := vaultops.New(c2, vaultops.Settings{}).ChangePassphrase(ctx, []byte("pB")); err != nil {
			t.Fatal(err)
		}
		<-c1.WriteGate
		if err := <-done; !errors.Is(err, localstore.ErrKeyRotated) {
			t.Fatalf("the second passphrase change to commit: %v, want run again", err)
		}
		wrappedBy(t, dir, "pB")
	})
}

// TestMigrateOverRotation: a vault migrate records in its target the key
// it took before its change; another process's rotation while the change
// waits must not be answered by running it again under the new key (the
// target would then name a key its data is not sealed under, and not
// open): it fails, "run the command again", or its target opens with every
// key in it. Found by review.
func TestMigrateOverRotation(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	v1, c1 := openHandle(t, dir, localstore.Options{})
	c1.WriteGate = make(chan struct{}, 1)
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := c1.Change(ctx, "Seal", func(op *service.Op) error { return v1.SealKey(op.Tx, "key/x", k) }); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "copy.db")
	c1.WriteGate <- struct{}{}
	done := make(chan error, 1)
	go func() {
		_, err := vaultops.New(c1, vaultops.Settings{}).Migrate(ctx, "sqlite:"+target)
		done <- err
	}()
	time.Sleep(200 * time.Millisecond) // the migrate holds its key and waits for the gate
	rotateFromAnotherProcess(t, dir, localstore.Options{})
	<-c1.WriteGate
	if err := <-done; err != nil {
		if !errors.Is(err, localstore.ErrKeyRotated) {
			t.Fatalf("migrate over a rotation: %v, want success or the refusal of a replaced key", err)
		}
		return
	}
	v2, err := localstore.Open(ctx, dir, localstore.Options{StoreURL: "sqlite:" + target})
	if err != nil {
		t.Fatalf("open target: %v", err)
	}
	defer v2.Close()
	if err := v2.Store.View(ctx, func(tx localstore.Tx) error { _, err := v2.OpenKey(tx, "key/x"); return err }); err != nil {
		t.Fatalf("migrate reported success but its target's key does not open: %v", err)
	}
}

// TestChangeBatchAfterRotationByAnotherProcess: a batch of changes whose
// process loaded the key before another process rotated it is refused by
// the write guard, nothing written, and ChangeBatch runs it again under
// the new key: every change succeeds.
func TestChangeBatchAfterRotationByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "vault")
	v, c := openHandle(t, dir, localstore.Options{})
	if _, err := v.Sealer(); err != nil {
		t.Fatal(err)
	}
	rotateFromAnotherProcess(t, dir, localstore.Options{})
	put := func(k string) func(*service.Op) error {
		return func(op *service.Op) error { return op.Tx.PutMeta("test."+k, []byte(op.Sealer().ID())) }
	}
	for i, err := range c.ChangeBatch(ctx, "AddTagsToCertificate", []func(*service.Op) error{put("a"), put("b")}) {
		if err != nil {
			t.Errorf("change %d of the batch: %v", i, err)
		}
	}
	s, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Store.View(ctx, func(tx localstore.Tx) error {
		for _, k := range []string{"a", "b"} {
			got, err := tx.GetMeta("test." + k)
			if err != nil {
				return err
			}
			if string(got) != s.ID() {
				t.Errorf("change %s ran under key %s, want the new key %s", k, got, s.ID())
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestReadSnapshotRunsAgainAfterRotation: a read refused because another
// process rotated the key after its snapshot began runs again, at most
// a bounded number of times.
func TestReadSnapshotRunsAgainAfterRotation(t *testing.T) {
	ctx := context.Background()
	_, c := openHandle(t, filepath.Join(t.TempDir(), "vault"), localstore.Options{})
	calls := 0
	err := c.ReadSnapshot(ctx, func(localstore.Tx, *localstore.Sealer, audit.Seen) error {
		if calls++; calls == 1 {
			return localstore.ErrKeyRotated
		}
		return nil
	})
	if err != nil || calls != 2 {
		t.Errorf("after one rotation: %v, %d runs, want nil after 2", err, calls)
	}
	calls = 0
	err = c.ReadSnapshot(ctx, func(localstore.Tx, *localstore.Sealer, audit.Seen) error {
		calls++
		return localstore.ErrKeyRotated
	})
	if !errors.Is(err, localstore.ErrKeyRotated) || calls != 4 {
		t.Errorf("rotated every time: %v, %d runs, want ErrKeyRotated after 4", err, calls)
	}
}

// TestRecordableAfterRotationByAnotherProcess: a process that loaded the
// master key before another rotated it checks that a change could be
// recorded (CheckRecordable, which an export asks before its key goes
// out) under the key the store is sealed under now, and finds the log
// whole — not "changed outside certctl" under the key it held (team
// tester: a bulk export on one host while another rotated the key failed
// most of its certificates so).
func TestRecordableAfterRotationByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, c1 := openHandle(t, dir, localstore.Options{})
	if err := c1.Change(ctx, "First", func(op *service.Op) error { return op.Tx.PutMeta("a", []byte("1")) }); err != nil {
		t.Fatal(err)
	}
	rotateFromAnotherProcess(t, dir, localstore.Options{})
	seen := c1.Witnessed()
	if err := c1.Read(ctx, func(tx localstore.Tx) error { return c1.CheckRecordable(tx, seen) }); err != nil {
		t.Fatalf("after another process's rotation: %v", err)
	}
	if err := c1.Change(ctx, "Second", func(op *service.Op) error { return op.Tx.PutMeta("b", []byte("1")) }); err != nil {
		t.Fatalf("the change after: %v", err)
	}
}
