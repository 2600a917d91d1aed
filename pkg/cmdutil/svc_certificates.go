package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/service/validations"
)

// Certificates returns the certificate inventory service.
func (f *Factory) Certificates(ctx context.Context) (*certificates.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	vs, err := f.Validations(ctx)
	if err != nil {
		return nil, err
	}
	set := certificates.Settings{
		DomainsPerCertificate: cfg.DomainsPerCertificate,
		CertificateValidity:   cfg.CertificateValidity,
		Validations:           vs,
	}
	if cfg.SMTPAddr == "" {
		set.Outbox = validations.OutboxDir(core.Vault.Dir)
	}
	return certificates.New(core, set), nil
}
