package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation"
)

// ValidationSettings are the validation settings of cfg.
func ValidationSettings(cfg *config.Config) validation.Settings {
	return validation.Settings{
		Resolvers:     cfg.Resolvers,
		Zone:          cfg.DNSZone,
		HTTPBaseURL:   cfg.HTTPBaseURL,
		HTTPPort:      cfg.HTTPPort,
		CAAIdentities: cfg.CAAIdentities,
		Validity:      cfg.CertificateValidity,
	}
}

// validationsSettings are the settings of the validations service: the
// checks' and the approval mail's.
func validationsSettings(cfg *config.Config) validations.Settings {
	return validations.Settings{
		Validation: ValidationSettings(cfg),
		Mail: validations.MailSettings{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
			PasswordFile: cfg.SMTPPasswordFile, StartTLS: cfg.SMTPStartTLS},
	}
}

// Validations returns the domain validation service.
func (f *Factory) Validations(ctx context.Context) (*validations.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	return validations.New(core, validationsSettings(cfg)), nil
}
