package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service/reports"
)

// Reports returns the reports service.
func (f *Factory) Reports(ctx context.Context) (*reports.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return reports.New(core, reports.Settings{
		Renewal: renewal.Policy{Window: cfg.RenewalWindow, EmailWindow: cfg.RenewalEmailWindow},
	}), nil
}
