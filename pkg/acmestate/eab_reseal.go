package acmestate

import "github.com/certctl/certctl/pkg/localstore"

// Reseal seals the credential's MAC key again under next, the vault's new
// master key (`certctl vault rotate-key`); the caller writes the
// credential back (PutEAB) in the rotation's transaction.
func (b *EAB) Reseal(old, next *localstore.Sealer) error {
	key, err := b.MACKey(old)
	if err != nil {
		return err
	}
	defer clear(key)
	sealed, err := next.Seal(macRef(b.KeyID), key)
	if err != nil {
		return err
	}
	b.SealedMAC = sealed
	return nil
}
