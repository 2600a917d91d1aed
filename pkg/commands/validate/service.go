// Package validate implements `certctl validate check|serve-http|approve`
// and `certctl resend-validation-email`: the command side of domain
// validation (pkg/validation).
package validate

import (
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
)

// Settings are the validation settings of cfg.
func Settings(cfg *config.Config) validation.Settings {
	return validation.Settings{
		Resolvers:     cfg.Resolvers,
		Zone:          cfg.DNSZone,
		HTTPBaseURL:   cfg.HTTPBaseURL,
		HTTPPort:      cfg.HTTPPort,
		CAAIdentities: cfg.CAAIdentities,
		Validity:      cfg.CertificateValidity,
	}
}

// NewService builds the validation service of an opened environment.
func NewService(e *cmdutil.Env) *validation.Service {
	return &validation.Service{
		Vault:     e.V,
		Authority: e.Authority,
		Settings:  Settings(e.Cfg),
		Mailer:    &configMailer{cfg: e.Cfg, dir: OutboxDir(e.V.Dir), now: e.F.Now},
		Now:       e.F.Now,
		ARN:       e.Names.CertificateARN,
	}
}

// configMailer picks the SMTP server or the outbox when it sends, so that
// commands that send nothing never read the SMTP password file.
type configMailer struct {
	cfg *config.Config
	dir string
	now func() time.Time
}

// OutboxDir is the vault's outbox, where validation email is written when
// no SMTP server is configured.
func OutboxDir(vaultDir string) string { return filepath.Join(vaultDir, "outbox") }

func (m *configMailer) Send(ctx context.Context, msgs []validation.Message) error {
	c := m.cfg
	if c.SMTPAddr == "" {
		return (&validation.OutboxMailer{Dir: m.dir, From: c.SMTPFrom, Now: m.now}).Send(ctx, msgs)
	}
	sm := &validation.SMTPMailer{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUsername, StartTLS: c.SMTPStartTLS, Now: m.now}
	if c.SMTPUsername != "" && c.SMTPPasswordFile != "" {
		pass, err := readPassword(c.SMTPPasswordFile)
		if err != nil {
			return err
		}
		sm.Password = pass
	}
	return sm.Send(ctx, msgs)
}

// AdvancePending advances the validation of snap when it is a pending
// ISSUED-type certificate (the `renew --due` pass: checks, 72-hour timeout,
// issuance). A dry run changes nothing. Only storage errors are returned.
func AdvancePending(ctx context.Context, e *cmdutil.Env, snap *localstore.Certificate, dryRun bool) error {
	if dryRun || snap.Status != inventory.StatusPendingValidation || snap.Type != inventory.TypeIssued {
		return nil
	}
	em := e.Emitter()
	if _, err := NewService(e).Advance(ctx, snap.ID, em); err != nil {
		return cmdutil.VaultError(err)
	}
	e.Deliver(ctx, em)
	return nil
}

func readPassword(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", errs.UsageErrorf("smtp.password_file: %v", err)
	}
	return string(cmdutil.TrimNewline(b)), nil
}
