package certificates

import (
	"context"
	"errors"
	"time"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service/reports"
	"github.com/certctl/certctl/pkg/validation"
)

// Description is ACM's DescribeCertificate answer as of AsOf (an ISSUED
// certificate past its NotAfter is EXPIRED and INELIGIBLE).
type Description struct {
	Certificate inventory.Detail
	AsOf        time.Time
	// RenewalMessage is why the last managed renewal failed, in words,
	// when known (RenewalSummary carries only the code). DeployFailures
	// are the deploy targets whose last install or command failed, as the
	// dashboard lists them (never the command or its output). Neither is
	// an ACM field: describe shows them in its table and text, not in its
	// JSON.
	RenewalMessage string
	DeployFailures []reports.FailedDeployment
}

// Describe describes the certificate named by ref (ARN, UUID or prefix);
// with versions, every version of it too.
func (s *Service) Describe(ctx context.Context, ref string, versions bool) (*Description, error) {
	now := s.core.Now()
	var c *localstore.Certificate
	var vers []*localstore.CertificateVersion
	var targets []deploy.Target
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Describing)
		if err != nil {
			return err
		}
		if c, err = tx.GetCertificate(id); err != nil {
			return err
		}
		if targets, err = deploy.Targets(tx, id); err != nil {
			return err
		}
		if versions {
			vers, err = tx.ListVersions(id)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	inventory.AsOf(c, now)
	d := &Description{Certificate: inventory.NewDetail(s.core.Names, c, vers), AsOf: now,
		DeployFailures: reports.FailedDeployments(s.core.Names, []*localstore.Certificate{c}, map[string][]deploy.Target{c.ID: targets})}
	if c.Renewal != nil && c.Renewal.Status != renewal.StatusSuccess {
		d.RenewalMessage = c.Renewal.Message
	}
	return d, nil
}

// CertificatePEM is ACM's GetCertificate answer: the current certificate
// and its chain, PEM-encoded.
type CertificatePEM struct {
	Certificate      string `json:"Certificate"`
	CertificateChain string `json:"CertificateChain,omitempty"`
}

// GetCertificate returns the current certificate named by ref and its
// chain. A certificate not issued yet is refused (exit 5).
func (s *Service) GetCertificate(ctx context.Context, ref string) (*CertificatePEM, error) {
	var out *CertificatePEM
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.GettingPEM)
		if err != nil {
			return err
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		cur, err := tx.GetVersion(id, c.Version)
		if err != nil && !(errors.Is(err, localstore.ErrNotFound) && c.NotAfter.IsZero()) {
			return inventory.NotFound(err, "issued certificate of", ref)
		}
		// A certificate requested but not issued yet (pending validation,
		// failed) has no version: refused by its state, as ACM's
		// GetCertificate answers RequestInProgressException.
		if cur == nil || len(cur.CertificatePEM) == 0 {
			return errs.Refusedf("certificate %s has not been issued yet (status %s)", ref, c.Status)
		}
		out = &CertificatePEM{Certificate: string(cur.CertificatePEM), CertificateChain: string(cur.ChainPEM)}
		return nil
	})
	return out, err
}

// ValidationRecords are the DNS records a user creates to validate a
// certificate's names.
type ValidationRecords struct {
	CertificateArn string
	// PerName has one record per name (a wildcard and its base name share
	// a record, which is listed for each).
	PerName []validation.Record
	// Distinct has each record once.
	Distinct []validation.Record
}

// ValidationRecords returns the DNS validation records of the certificate
// named by ref; one that needs none is refused (exit 5).
func (s *Service) ValidationRecords(ctx context.Context, ref string) (*ValidationRecords, error) {
	var c *localstore.Certificate
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Validating)
		if err != nil {
			return err
		}
		c, err = tx.GetCertificate(id)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &ValidationRecords{CertificateArn: s.core.Names.CertificateARN(c.ID)}
	for _, v := range c.Validations {
		if v.RecordName != "" {
			out.PerName = append(out.PerName, validation.Record{DomainName: v.DomainName, Name: v.RecordName, Type: v.RecordType, Value: v.RecordValue})
		}
	}
	if len(out.PerName) == 0 {
		method := c.ValidationMethod
		if method == "" {
			method = "no domain validation"
		}
		return nil, errs.Refusedf("certificate %s needs no DNS records (%s)", c.ID, method)
	}
	out.Distinct = validation.Records(c)
	return out, nil
}
