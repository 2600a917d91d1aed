package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/service"
)

// Core opens the vault and returns the service core every domain service
// of this process shares: changes are recorded as made by the OS user on
// this host.
func (f *Factory) Core(ctx context.Context) (*service.Core, error) {
	if f.core != nil {
		return f.core, nil
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	v, err := f.Vault(ctx)
	if err != nil {
		return nil, err
	}
	actor := service.UserActor()
	if f.Actor != nil {
		actor = *f.Actor
	}
	f.core = &service.Core{
		Vault:     v,
		Now:       f.Now,
		Names:     inventory.Names{Region: cfg.Region, Account: cfg.Account},
		Authority: authority.New(v, f.Now, cfg.CABaseURL),
		EventHook: cfg.EventHook,
		HookOut:   f.IO.ErrOut,
		Actor:     actor,
	}
	return f.core, nil
}
