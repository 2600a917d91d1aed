package inventory

import (
	"errors"
	"strings"
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

// StillDeployed says, for a certificate being revoked, where it is still
// installed ("" when nowhere): its deploy targets go on serving it until
// each is removed and another certificate deployed there, and nothing
// else would say so (tester: revoke and every renewal pass after it were
// silent). Each target is removed on its host (review: deploying another
// certificate to the same files is refused while the target is there).
func StillDeployed(c *localstore.Certificate) string {
	if len(c.InUseBy) == 0 {
		return ""
	}
	return "still deployed to " + strings.Join(c.InUseBy, ", ") +
		": served there until the target is removed (certctl deploy ARN --remove --cert-file PATH, on its host) and another certificate deployed"
}
