package service

import (
	"context"
	"errors"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// snapshotRetries is how many times ReadSnapshot runs fn again when
// another process rotated the master key under it.
const snapshotRetries = 3

// ReadSnapshot runs fn in a read transaction with the sealer of the key
// its snapshot is sealed under (Vault.SnapshotSealer), for a read of many
// sealed things under one key (vault verify, audit verify), and with this
// host's audit witness as read before the snapshot began (audit.Witness.Seen).
// When another process's rotation committed after the snapshot began
// (localstore.ErrKeyRotated, from SnapshotSealer or from fn), fn runs
// again in a new snapshot, at most snapshotRetries more times: fn must
// start from nothing each time. The error is the store's, not mapped
// (MapError).
func (c *Core) ReadSnapshot(ctx context.Context, fn func(tx localstore.Tx, sealer *localstore.Sealer, seen audit.Seen) error) error {
	v := c.Vault
	wit := audit.WitnessOf(v)
	var err error
	for attempt := 0; attempt <= snapshotRetries; attempt++ {
		seen := wit.Seen()
		err = v.Store.View(ctx, func(tx localstore.Tx) error {
			sealer, err := v.SnapshotSealer(tx)
			if err != nil {
				return err
			}
			return fn(tx, sealer, seen)
		})
		if !errors.Is(err, localstore.ErrKeyRotated) {
			break
		}
	}
	return err
}
