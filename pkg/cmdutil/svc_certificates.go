package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/certificates"
)

// Certificates returns the certificate inventory service.
func (f *Factory) Certificates(ctx context.Context) (*certificates.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	return certificates.New(core, certificates.Settings{}), nil
}
