package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/authorities"
)

// Authorities returns the authorities service.
func (f *Factory) Authorities(ctx context.Context) (*authorities.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	return authorities.New(core, authorities.Settings{}), nil
}
