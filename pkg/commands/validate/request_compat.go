package validate

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation"
)

// What `request` (pkg/commands/request) still takes from this package until
// it moves onto the validations service, each a thin delegation to that
// service. Delete this file then: no other command is to import this one.

// Settings are the validation settings of cfg.
func Settings(cfg *config.Config) validation.Settings { return cmdutil.ValidationSettings(cfg) }

// NewService returns the validation rules of the validations service of an
// opened environment.
func NewService(e *cmdutil.Env) *validation.Service {
	svc, err := e.F.Validations(context.Background())
	if err != nil { // the environment opened: the factory has what it needs
		return &validation.Service{Vault: e.V, Authority: e.Authority, Settings: Settings(e.Cfg), Now: e.F.Now, ARN: e.Names.CertificateARN}
	}
	return svc.Rules()
}

// OutboxDir is the vault's outbox.
func OutboxDir(vaultDir string) string { return validations.OutboxDir(vaultDir) }

// Wait is the validations service's Wait, with a spinner on a terminal.
func Wait(ctx context.Context, e *cmdutil.Env, _ *validation.Service, id string, timeout time.Duration) (*validation.Outcome, error) {
	svc, err := e.F.Validations(ctx)
	if err != nil {
		return nil, err
	}
	sp := startSpinner(e.F.IO.ErrOut, e.F.IO.IsStderrTTY() && !e.F.Globals.Quiet)
	defer sp.stop()
	return svc.Wait(ctx, id, timeout, sp.set)
}

// TerminalError is the error of a certificate that ended in a status other
// than ISSUED (exit 5), or nil.
func TerminalError(c *localstore.Certificate) error { return validations.TerminalError(c) }
