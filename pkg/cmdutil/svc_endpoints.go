package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/endpoints"
)

// Endpoints returns the endpoints service.
func (f *Factory) Endpoints(ctx context.Context) (*endpoints.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	return endpoints.New(core, endpoints.Settings{}), nil
}
