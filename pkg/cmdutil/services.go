package cmdutil

import (
	"context"
	"io"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/hsm"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/auditlog"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/service/endpoints"
	"github.com/certctl/certctl/pkg/service/renewals"
	"github.com/certctl/certctl/pkg/service/reports"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/service/vaultops"
	"github.com/certctl/certctl/pkg/validation"
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
	if cfg.HostName != "" {
		// host.name: how this host's changes are recorded, as its
		// deploy targets are labelled.
		actor.Host = cfg.HostName
	}
	if f.Actor != nil {
		actor = *f.Actor
	}
	ca := authority.New(v, f.Now, cfg.CABaseURL)
	tok := f.Token(cfg)
	ca.Tokens = func() (authority.TokenKeys, error) { return tok.Open() }
	f.core = &service.Core{
		Vault:     v,
		Now:       f.Now,
		Names:     inventory.Names{Region: cfg.Region, Account: cfg.Account},
		Authority: ca,
		EventHook: cfg.EventHook,
		HookOut:   f.IO.ErrOut,
		Warnings:  f.IO.ErrOut,
		Actor:     actor,
	}
	// A vault an earlier release wrote gets this release's rules before
	// anything is done with it (a read-only one by the next command that
	// can write it: what this one reads is the same).
	if err := f.core.Upgrade(ctx); err != nil {
		f.core = nil
		return nil, err
	}
	return f.core, nil
}

// Token is the PKCS#11 token of the pkcs11.* settings, opened on first use
// (only a PKCS11 CA opens it) and shared by the process.
func (f *Factory) Token(cfg *config.Config) *hsm.Opener {
	if f.token == nil {
		f.token = &hsm.Opener{Settings: hsm.Settings{Module: cfg.PKCS11Module, TokenLabel: cfg.PKCS11TokenLabel, PINFile: cfg.PKCS11PINFile,
			Warn: f.warn}}
	}
	return f.token
}

// coreAndConfig returns the service core and the settings a service is
// built from.
func (f *Factory) coreAndConfig(ctx context.Context) (*service.Core, *config.Config, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, nil, err
	}
	cfg, err := f.Config()
	return core, cfg, err
}

// AuditLog returns the auditlog service.
func (f *Factory) AuditLog(ctx context.Context) (*auditlog.Service, error) {
	core, err := f.Core(ctx)
	if err != nil {
		return nil, err
	}
	return auditlog.New(core, auditlog.Settings{}), nil
}

// Authorities returns the authorities service.
func (f *Factory) Authorities(ctx context.Context) (*authorities.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
	if err != nil {
		return nil, err
	}
	return authorities.New(core, authorities.Settings{Token: f.Token(cfg).Open}), nil
}

// Certificates returns the certificate inventory service.
func (f *Factory) Certificates(ctx context.Context) (*certificates.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
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

// Endpoints returns the ACME endpoints service.
func (f *Factory) Endpoints(ctx context.Context) (*endpoints.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
	if err != nil {
		return nil, err
	}
	return endpoints.New(core, endpoints.Settings{
		BaseURL:               cfg.EndpointBaseURL,
		Listen:                cfg.EndpointListen,
		Zone:                  cfg.DNSZone,
		Resolvers:             cfg.Resolvers,
		CAAIdentities:         cfg.CAAIdentities,
		HTTPPort:              cfg.HTTPPort,
		TLSALPNPort:           cfg.TLSALPNPort,
		Validity:              cfg.CertificateValidity,
		DomainsPerCertificate: cfg.DomainsPerCertificate,
		OrdersPerHour:         cfg.OrdersPerHour,
		NewAccountsPerHour:    cfg.NewAccountsPerHour,
	}), nil
}

// Renewals returns the renewals service.
func (f *Factory) Renewals(ctx context.Context) (*renewals.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
	if err != nil {
		return nil, err
	}
	return renewals.New(core, renewals.Settings{
		Window:      cfg.RenewalWindow,
		EmailWindow: cfg.RenewalEmailWindow,
		Validity:    cfg.CertificateValidity,
		Validations: f.validationsSettings(cfg),
		Host: func() (deploy.Host, error) {
			return deploy.LocalHost(core.Vault.Dir, hostName(cfg))
		},
		AllowExec:   cfg.AllowExec(),
		HookOutput:  f.hookOutput(cfg.HooksOutput),
		SharedStore: cfg.SharedStore(),
	}), nil
}

// Reports returns the reports service.
func (f *Factory) Reports(ctx context.Context) (*reports.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
	if err != nil {
		return nil, err
	}
	return reports.New(core, reports.Settings{
		Renewal: renewal.Policy{Window: cfg.RenewalWindow, EmailWindow: cfg.RenewalEmailWindow},
	}), nil
}

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
func (f *Factory) validationsSettings(cfg *config.Config) validations.Settings {
	return validations.Settings{
		Validation: ValidationSettings(cfg),
		Mail: validations.MailSettings{Addr: cfg.SMTPAddr, From: cfg.SMTPFrom, Username: cfg.SMTPUsername,
			PasswordFile: cfg.SMTPPasswordFile, StartTLS: cfg.SMTPStartTLS, Warn: f.warn},
	}
}

// warn prints a library's warning on stderr, as a notice.
// warn prints msg on stderr once a process: a setting's warning (a
// secret file every user may read) is met by every send or open of a
// long pass, and said once (review: renew --due warned of
// smtp.password_file once a certificate).
func (f *Factory) warn(msg string) {
	f.warnedMu.Lock()
	seen := f.warned[msg]
	if f.warned == nil {
		f.warned = map[string]bool{}
	}
	f.warned[msg] = true
	f.warnedMu.Unlock()
	if !seen {
		PrintNotices(f.IO, msg)
	}
}

// Validations returns the domain validation service.
func (f *Factory) Validations(ctx context.Context) (*validations.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
	if err != nil {
		return nil, err
	}
	return validations.New(core, f.validationsSettings(cfg)), nil
}

// VaultOps returns the vault operations service (backup, restore, verify,
// key rotation, passphrase change, migration).
func (f *Factory) VaultOps(ctx context.Context) (*vaultops.Service, error) {
	core, cfg, err := f.coreAndConfig(ctx)
	if err != nil {
		return nil, err
	}
	return vaultops.New(core, vaultops.Settings{HostName: hostName(cfg), SharedStore: cfg.SharedStore()}), nil
}

// hostName is this host's name for deploy targets: host.name, else the
// system's.
func hostName(cfg *config.Config) string {
	if cfg.HostName != "" {
		return cfg.HostName
	}
	return service.Hostname()
}

// hookOutput is where deploy commands' output goes: by default
// (hooks.output terminal) this host's terminal (standard error when it is
// one), else nowhere — under cron or a timer standard error is a mail or a
// journal, and a command handed the key may print it; with hooks.output
// stderr, standard error always, for an administrator who wants cron's
// mail to say why a reload failed.
func (f *Factory) hookOutput(setting string) io.Writer {
	if f.IO.IsStderrTTY() || setting == "stderr" {
		return f.IO.ErrOut
	}
	return nil
}
