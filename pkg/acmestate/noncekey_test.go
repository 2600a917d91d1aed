package acmestate

import (
	"bytes"
	"context"
	"testing"

	"github.com/certctl/certctl/pkg/localstore"
)

// TestNonceKeyFirstValueAndRotation: the store's nonce key is first the
// key the previous release derived from the master key (so that servers
// of both accept each other's nonces), is then read back unchanged, and
// keeps its value when re-sealed under another key (vault rotate-key).
func TestNonceKeyFirstValueAndRotation(t *testing.T) {
	ctx := context.Background()
	v := openVault(t)
	sealer, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	derived, err := sealer.NonceKey()
	if err != nil {
		t.Fatal(err)
	}
	var first, again []byte
	if err := v.Store.Update(ctx, func(tx localstore.Tx) (err error) {
		if k, err := ReadNonceKey(tx, sealer); k != nil || err != nil {
			t.Errorf("a new store's nonce key: %x, %v", k, err)
		}
		first, err = NonceKey(tx, sealer)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, derived) {
		t.Error("the first nonce key is not the key the previous release derived")
	}
	other := openVault(t) // another master key
	next, err := other.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		if had, err := ResealNonceKey(tx, sealer, next); !had || err != nil {
			t.Errorf("reseal: %v, %v", had, err)
		}
		if _, err := ReadNonceKey(tx, sealer); err == nil {
			t.Error("the re-sealed nonce key still opens under the old key")
		}
		again, err = NonceKey(tx, next)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, first) {
		t.Error("the nonce key changed when re-sealed")
	}
}
