package certificates

import (
	"context"

	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/service"
)

// Reimport replaces the IMPORTED certificate named by ref (ARN, UUID or
// prefix) with new material, keeping its ARN, tags and history, by ACM's
// reimport rules, and returns its ARN. It is ACM's ImportCertificate with a
// CertificateArn. Reimporting the certificate already current changes
// nothing (no version, no event) and is recorded as a success.
func (s *Service) Reimport(ctx context.Context, ref string, raw inventory.RawMaterial) (string, error) {
	m, perr := inventory.ParseMaterial(raw, s.core.Now())
	var arn string
	err := s.core.Change(ctx, "ImportCertificate", func(op *service.Op) error {
		op.Param("CertificateArn", ref)
		materialParams(op, raw)
		id, err := inventory.ResolveCertificate(op.Tx, s.core.Names, ref, inventory.Reimporting)
		if err == nil {
			arn = s.core.Names.CertificateARN(id)
			op.Param("CertificateArn", arn)
			op.Resource(arn)
		}
		// Bad material is reported before an unknown certificate.
		if perr != nil {
			return perr
		}
		if err != nil {
			return err
		}
		c, changed, err := inventory.Reimport(op.Tx, s.core.Vault, id, m, op.Now)
		if err != nil {
			return err
		}
		op.Param("DomainName", c.DomainName)
		if !changed {
			return nil // the same certificate again changes nothing
		}
		return op.Events.EmitAvailable(op.Tx, c, events.ActionReimport)
	})
	if err != nil {
		return "", err
	}
	return arn, nil
}
