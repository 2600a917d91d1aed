package service_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/vaultops"
)

// TestChangeAfterRotationByAnotherProcess: another handle (a process)
// rotates the vault's master key while this one's change waits for the
// write gate with the key it took before, and another transaction of this
// one (a nonce redemption) meets the write guard first, which drops the
// key and lets the next transaction through. The change still commits,
// under the new key (it was refused before any of it ran and ran again),
// not failing with a false "audit log changed" from a record MACed under
// the old key; the chain verifies under the new key.
func TestChangeAfterRotationByAnotherProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	open := func() *localstore.Vault {
		v, err := localstore.Open(ctx, dir, localstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { v.Close() })
		return v
	}
	v1 := open()
	c1 := &service.Core{Vault: v1, Now: time.Now, Actor: audit.Actor{Type: audit.ActorUser, ID: "a"}, WriteGate: make(chan struct{}, 1)}
	put := func(name, k string) error {
		return c1.Change(ctx, name, func(op *service.Op) error { return op.Tx.PutMeta(k, []byte("1")) })
	}
	if err := put("First", "a"); err != nil {
		t.Fatal(err)
	}
	v2 := open()
	c2 := &service.Core{Vault: v2, Now: time.Now, Actor: audit.Actor{Type: audit.ActorUser, ID: "b"}}
	if _, err := vaultops.New(c2, vaultops.Settings{}).RotateKey(ctx); err != nil {
		t.Fatal(err)
	}
	c1.WriteGate <- struct{}{} // another writer of the process holds the gate
	done := make(chan error, 1)
	go func() { done <- put("Second", "b") }()
	time.Sleep(100 * time.Millisecond) // the change has its key and waits for the gate
	if err := v1.Store.Update(ctx, func(tx localstore.Tx) error { return tx.PutMeta("n", []byte("1")) }); !errors.Is(err, localstore.ErrKeyRotated) {
		t.Fatalf("the other writer's transaction: %v, want the guard's refusal", err)
	}
	<-c1.WriteGate
	if err := <-done; err != nil {
		t.Errorf("the change waiting over the rotation: %v", err)
	}
	if err := put("Third", "c"); err != nil {
		t.Errorf("the next change: %v", err)
	}
	s2, err := v2.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if err := v2.Store.View(ctx, func(tx localstore.Tx) error {
		n, p, err := audit.Verify(tx, s2.AuditKey())
		if p != nil || n < 4 {
			t.Errorf("audit chain under the new key: %d records, problem %v", n, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}
