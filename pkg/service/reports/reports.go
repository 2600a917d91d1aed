// Package reports is the reporting service: the event log, metrics, the
// dashboard and the account configuration. Everything but the account
// configuration's put is a read; put is a recorded change
// (PutAccountConfiguration, ACM's name).
package reports

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
)

// Settings are the configuration the service acts on.
type Settings struct {
	// Renewal is the renewal policy (renewal.window, renewal.email_window)
	// the dashboard judges overdue renewals by.
	Renewal renewal.Policy
}

// Service is the reports service.
type Service struct {
	core *service.Core
	set  Settings
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set}
}

// AccountConfig returns the account configuration (ACM's
// GetAccountConfiguration).
func (s *Service) AccountConfig(ctx context.Context) (renewal.AccountConfig, error) {
	var c renewal.AccountConfig
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		c, err = renewal.GetAccountConfig(tx)
		return err
	})
	return c, err
}

// PutAccountConfig stores the account configuration (ACM's
// PutAccountConfiguration) and returns it; a value out of range is invalid
// input (exit 4).
func (s *Service) PutAccountConfig(ctx context.Context, c renewal.AccountConfig) (renewal.AccountConfig, error) {
	err := s.core.Change(ctx, "PutAccountConfiguration", func(op *service.Op) error {
		op.Param("ExpiryEvents", map[string]any{"DaysBeforeExpiry": c.DaysBeforeExpiry})
		return renewal.PutAccountConfig(op.Tx, c)
	})
	if err != nil {
		return renewal.AccountConfig{}, err
	}
	return c, nil
}

// snapshot is the inventory as the dashboard and the metrics see it: every
// certificate of every origin, the ACME endpoints' issuance counters and
// the deploy targets, read in one transaction, at the service's clock.
type snapshot struct {
	now     time.Time
	certs   []*localstore.Certificate
	cas     []*authority.Record
	acme    []acmestate.EndpointMetrics
	targets map[string][]deploy.Target
}

func (s *Service) snapshot(ctx context.Context) (*snapshot, error) {
	snap := &snapshot{now: s.core.Now()}
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if snap.certs, err = tx.ListCertificates(localstore.CertificateFilter{Origins: inventory.Origins}); err != nil {
			return err
		}
		if snap.cas, err = authority.List(tx); err != nil {
			return err
		}
		if snap.acme, err = acmestate.AllMetrics(tx); err != nil {
			return err
		}
		snap.targets, err = deploy.AllTargets(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}
