package certificates

import (
	"context"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// CheckRevocable applies the revocation rules of `certctl revoke` to c.
func CheckRevocable(c *localstore.Certificate) error {
	switch {
	case c.Status == inventory.StatusRevoked:
		return errs.Refusedf("certificate %s is already revoked", c.ID)
	case c.KeyPairOrigin == inventory.OriginACME:
		return errs.Refusedf("certificate %s belongs to an ACME account: revoke it through the ACME endpoint", c.ID)
	case c.Type == inventory.TypeImported:
		return errs.Refusedf("certificate %s is IMPORTED: certctl did not issue it and cannot revoke it", c.ID)
	case c.Type == inventory.TypeIssued && !c.Exported:
		return errs.Refusedf("certificate %s was never exported: there is nothing to revoke", c.ID).
			WithHint("delete it instead: certctl delete %s", c.ID)
	case c.Version == 0 || c.CertificateAuthorityID == "":
		return errs.Refusedf("certificate %s has not been issued", c.ID)
	}
	return nil
}

// Revoke revokes the certificate named by ref (ARN, UUID or prefix) for
// reason and returns its ARN.
func (s *Service) Revoke(ctx context.Context, ref, reason string) (string, error) {
	code, ok := casign.ReasonCode(reason)
	if !ok {
		return "", &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--revocation-reason", reason, casign.ReasonNames())}
	}
	var arn string
	err := s.core.Change(ctx, "RevokeCertificate", func(op *service.Op) error {
		op.Param("RevocationReason", reason)
		c, a, err := s.core.Certificate(op, ref, inventory.Revoking)
		if err != nil {
			return err
		}
		arn = a
		if err := CheckRevocable(c); err != nil {
			return err
		}
		return revoke(op, c, reason, code)
	})
	if err != nil {
		return "", err
	}
	return arn, nil
}
