package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/vaultops"
)

// VaultOps returns the vault operations service (`certctl vault`).
func (f *Factory) VaultOps(ctx context.Context) (*vaultops.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	return vaultops.New(core, vaultops.Settings{}), nil
}
