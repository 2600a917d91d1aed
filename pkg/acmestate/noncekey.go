package acmestate

import (
	"errors"

	"github.com/certctl/certctl/pkg/localstore"
)

// The ACME servers' nonce key.
//
// Every `endpoint serve` of a store verifies the nonces the others issue
// (see pkg/acmeserver/nonce.go), so they must hold one key, also across a
// rotation of the vault's master key, which the servers running then learn
// of one by one. It was derived from the master key (Sealer.NonceKey):
// after `vault rotate-key`, a server started before it and one started
// after it refused each other's nonces until every server was restarted.
// The key is now a value of the store (meta nonceKeyMeta), sealed under the
// master key like an EAB MAC key and sealed again by a rotation
// (ResealNonceKey): its value never changes. Its first value is the key
// derived from the master key at that moment, so that servers of the
// release before it, which derive it, and servers of this one accept each
// other's nonces until a rotation.

// nonceKeyMeta is the meta key of the sealed nonce key.
const nonceKeyMeta = "acme.nonce-key"

// nonceKeyRef binds the sealed nonce key to its place.
const nonceKeyRef = "meta/" + nonceKeyMeta

// ReadNonceKey returns the store's nonce key, nil when it has none yet.
func ReadNonceKey(tx localstore.Tx, sealer *localstore.Sealer) ([]byte, error) {
	sealed, err := tx.GetMeta(nonceKeyMeta)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return sealer.Open(nonceKeyRef, sealed)
}

// NonceKey returns the store's nonce key, storing sealer's derived key
// (Sealer.NonceKey) as its value when it has none: call it in a write
// transaction.
func NonceKey(tx localstore.Tx, sealer *localstore.Sealer) ([]byte, error) {
	key, err := ReadNonceKey(tx, sealer)
	if key != nil || err != nil {
		return key, err
	}
	if key, err = sealer.NonceKey(); err != nil {
		return nil, err
	}
	sealed, err := sealer.Seal(nonceKeyRef, key)
	if err != nil {
		return nil, err
	}
	return key, tx.PutMeta(nonceKeyMeta, sealed)
}

// ResealNonceKey seals the store's nonce key, when it has one, under next
// instead of old (vault rotate-key); it reports whether it had one.
func ResealNonceKey(tx localstore.Tx, old, next *localstore.Sealer) (bool, error) {
	key, err := ReadNonceKey(tx, old)
	if key == nil || err != nil {
		return false, err
	}
	defer clear(key)
	sealed, err := next.Seal(nonceKeyRef, key)
	if err != nil {
		return false, err
	}
	return true, tx.PutMeta(nonceKeyMeta, sealed)
}
