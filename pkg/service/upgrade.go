package service

import (
	"context"
	"errors"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
)

// Upgrade applies to the vault the rules of this release that a schema
// migration could not, once: the compromise rule to the revocations an
// earlier release wrote (localstore.MetaUpgradeCompromisedKeys, see
// authority.BackfillCompromised). A vault with nothing pending costs
// nothing: the store read that with its schema version when it was opened
// (localstore.UpgradeMayBePending). It is the first thing a process does with the vault, before any
// change of its own, so that no change is made under the old rules: an
// error (but a read-only vault's) fails the command.
func (c *Core) Upgrade(ctx context.Context) error {
	if !localstore.UpgradeMayBePending(c.Vault.Store) {
		return nil // read with the schema version when the store was opened
	}
	pending := false
	if err := c.Vault.Store.View(ctx, func(tx localstore.Tx) error {
		_, err := tx.GetMeta(localstore.MetaUpgradeCompromisedKeys)
		if errors.Is(err, localstore.ErrNotFound) {
			return nil
		}
		pending = err == nil
		return err
	}); err != nil || !pending {
		return MapError(err)
	}
	err := c.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		if _, err := tx.GetMeta(localstore.MetaUpgradeCompromisedKeys); errors.Is(err, localstore.ErrNotFound) {
			return nil // another process applied it meanwhile
		} else if err != nil {
			return err
		}
		if _, err := authority.BackfillCompromised(tx); err != nil {
			return err
		}
		d, ok := tx.(interface{ DeleteMeta(string) error })
		if !ok {
			return errors.New("upgrade: the store cannot delete its upgrade mark")
		}
		return d.DeleteMeta(localstore.MetaUpgradeCompromisedKeys)
	})
	if errors.Is(err, localstore.ErrReadOnly) {
		// A vault this process cannot write changes under no rule: the
		// next command that can write upgrades it.
		return nil
	}
	return MapError(err)
}
