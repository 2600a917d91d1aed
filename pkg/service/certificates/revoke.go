package certificates

import (
	"context"
	"errors"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// CheckRevocable applies the revocation rules of `certctl revoke` to c,
// read in tx. An ACME certificate revokes through its ACME endpoint — but
// once that endpoint is deleted no ACME path is left (its URLs answer
// 404, another endpoint did not issue it), and `certctl revoke` revokes
// it (tester: a compromised key could then never reach the CRL).
func CheckRevocable(tx localstore.Tx, c *localstore.Certificate) error {
	switch {
	case c.Status == inventory.StatusRevoked:
		return errs.Refusedf("certificate %s is already revoked", c.ID)
	case c.KeyPairOrigin == inventory.OriginACME:
		gone, err := endpointGone(tx, c.AcmeEndpointID)
		if err != nil {
			return err
		}
		if !gone {
			return errs.Refusedf("certificate %s belongs to an ACME account: revoke it through the ACME endpoint", c.ID).
				WithHint("its client revokes it (certbot revoke, lego revoke), by its account key or the certificate's own")
		}
		if c.Version == 0 || c.CertificateAuthorityID == "" {
			return errs.Refusedf("certificate %s has not been issued", c.ID)
		}
		return nil
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

// Revoked is what Revoke did.
type Revoked struct {
	CertificateArn string
	// StillDeployed, when set, says that the certificate is still
	// installed at deploy targets, which go on serving it (for stderr).
	StillDeployed string
	// Unpublished, when set, says why no CRL or OCSP answer will carry
	// the revocation: its CA is deleted (authority.Record.Unpublished;
	// for stderr).
	Unpublished string
}

// Revoke revokes the certificate named by ref (ARN, UUID or prefix) for
// reason.
func (s *Service) Revoke(ctx context.Context, ref, reason string) (*Revoked, error) {
	code, ok := casign.ReasonCode(reason)
	if !ok {
		return nil, &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--revocation-reason", reason, casign.ReasonNames())}
	}
	var out Revoked
	err := s.core.Change(ctx, "RevokeCertificate", func(op *service.Op) error {
		op.Param("RevocationReason", reason)
		c, a, err := s.core.Certificate(op, ref, inventory.Revoking)
		if err != nil {
			return err
		}
		out.CertificateArn = a
		if err := CheckRevocable(op.Tx, c); err != nil {
			return err
		}
		out.StillDeployed = inventory.StillDeployed(c)
		out.Unpublished = authority.UnpublishedBy(op.Tx, c.CertificateAuthorityID, op.Now)
		return op.Revoke(c, reason, code, true)
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// endpointGone reports whether the ACME endpoint id no longer exists (a
// certificate recorded without one is taken for its endpoint's still).
func endpointGone(tx localstore.Tx, id string) (bool, error) {
	if id == "" {
		return false, nil
	}
	_, err := acmestate.Get(tx, id)
	if errs.ExitCodeOf(err) == errs.ExitNotFound || errors.Is(err, localstore.ErrNotFound) {
		return true, nil
	}
	return false, err
}
