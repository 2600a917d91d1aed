package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/renewals"
)

// Renewals returns the renewals service.
func (f *Factory) Renewals(ctx context.Context) (*renewals.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return renewals.New(core, renewals.Settings{
		Window:      cfg.RenewalWindow,
		EmailWindow: cfg.RenewalEmailWindow,
		Validity:    cfg.CertificateValidity,
		Validations: validationsSettings(cfg),
	}), nil
}
