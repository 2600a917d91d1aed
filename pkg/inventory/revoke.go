package inventory

import (
	"errors"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// RevokeVia records the revocation of c's current serial with its issuing
// CA (so CRLs and OCSP report it) and marks c REVOKED, in tx, for a
// requester who may or may not have proved the key compromised (see
// RevokeSerialVia). reason is the SPEC reason name, code its RFC 5280
// value. service.Op.Revoke calls it.
func RevokeVia(tx localstore.Tx, c *localstore.Certificate, reason string, code int, now time.Time, keyProven bool) error {
	if err := RevokeSerialVia(tx, c.CertificateAuthorityID, c.Serial, now, code, keyProven); err != nil {
		if errors.Is(err, localstore.ErrNotFound) {
			return errs.Refusedf("the issuing CA has no record of serial %s", c.Serial)
		}
		return err
	}
	c.Status = StatusRevoked
	c.RevokedAt = now
	c.RevocationReason = reason
	c.UpdatedAt = now
	UpdateEligibility(c, now)
	return tx.PutCertificate(c)
}
