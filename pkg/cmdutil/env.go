package cmdutil

import (
	"context"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/config"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// Env bundles what a command that works on the vault needs: the printer,
// the settings, the opened vault, the CA service and ARN naming.
type Env struct {
	F         *Factory
	P         *output.Printer
	Cfg       *config.Config
	V         *localstore.Vault
	Authority *authority.Service
	Names     inventory.Names
}

// OpenEnv opens the printer, settings and vault (creating it on first use).
func (f *Factory) OpenEnv(ctx context.Context) (*Env, error) {
	p, err := f.Printer()
	if err != nil {
		return nil, err
	}
	cfg, err := f.Config()
	if err != nil {
		return nil, err
	}
	v, err := f.Vault(ctx)
	if err != nil {
		return nil, err
	}
	return &Env{F: f, P: p, Cfg: cfg, V: v, Authority: authority.New(v, f.Now, cfg.CABaseURL),
		Names: inventory.Names{Region: cfg.Region, Account: cfg.Account}}, nil
}

// Emitter returns a fresh event emitter (one per transaction attempt).
func (e *Env) Emitter() *events.Emitter {
	return &events.Emitter{Region: e.Cfg.Region, Account: e.Cfg.Account, Now: e.F.Now}
}

// Deliver runs the configured event hook for events committed by em.
func (e *Env) Deliver(ctx context.Context, em *events.Emitter) {
	events.Deliver(ctx, e.Cfg.EventHook, em.Pending, e.F.IO.ErrOut)
	em.Pending = nil
}

// ListCertificates reads the certificates matching f (every origin when
// f.Origins is empty — unlike `list`, which hides ACME ones by default).
func (e *Env) ListCertificates(ctx context.Context, f localstore.CertificateFilter) ([]*localstore.Certificate, error) {
	if len(f.Origins) == 0 {
		f.Origins = inventory.Origins
	}
	var certs []*localstore.Certificate
	err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		var err error
		certs, err = tx.ListCertificates(f)
		return err
	})
	return certs, VaultError(err)
}
