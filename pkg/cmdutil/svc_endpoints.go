package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/endpoints"
)

// Endpoints returns the ACME endpoints service.
func (f *Factory) Endpoints(ctx context.Context) (*endpoints.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return endpoints.New(core, endpoints.Settings{
		BaseURL:               cfg.EndpointBaseURL,
		Listen:                cfg.EndpointListen,
		Zone:                  cfg.DNSZone,
		Resolvers:             cfg.Resolvers,
		CAAIdentities:         cfg.CAAIdentities,
		Validity:              cfg.CertificateValidity,
		DomainsPerCertificate: cfg.DomainsPerCertificate,
	}), nil
}
