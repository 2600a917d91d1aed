package certificates

import (
	"context"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/timeutil"
)

// Deletion is the certificate a delete is about to remove, as the
// confirmation question names it.
type Deletion struct {
	CertificateArn string
	ID             string
	DomainName     string
}

// Deleted is what a delete did: the certificate's ARN, and what is left
// of the certificate outside the vault (leftOutside), for the operator.
type Deleted struct {
	CertificateArn string
	Notices        []string
}

// leftOutside says what of c a delete leaves outside the vault, "" for
// nothing: the files of its deploy targets (a forced delete of one in
// use), which stay installed and which no renewal replaces any more, and
// — for a certificate whose key is held outside the vault (exported,
// deployed, or an ACME client's) — that it stays valid, unrevoked (testers: delete
// said nothing of either; revoke tells where a certificate is deployed).
func leftOutside(c *localstore.Certificate, now time.Time) string {
	var out []string
	if c.InUse() {
		out = append(out, "its files stay installed at "+strings.Join(c.InUseBy, ", ")+
			" (no renewal replaces them any more: deploy another certificate there, or remove them on each host)")
	}
	heldOutside := c.KeyPairOrigin == inventory.OriginACME || (c.KeyPairOrigin == inventory.OriginVault && (c.Exported || c.InUse()))
	if heldOutside && c.Status == inventory.StatusIssued && now.Before(c.NotAfter) {
		out = append(out, "it stays valid until "+timeutil.RFC3339(c.NotAfter)+", unrevoked, for whoever holds its key")
	}
	if len(out) == 0 {
		return ""
	}
	return "deleted from the vault, but " + strings.Join(out, "; and ")
}

// checkDeletable refuses to delete a certificate in use unless forced.
func checkDeletable(c *localstore.Certificate, force bool) error {
	if c.InUse() && !force {
		return errs.Refusedf("certificate %s is in use by %s", c.ID, strings.Join(c.InUseBy, ", ")).
			WithHint("use --force to delete it anyway").WithCode("ResourceInUseException")
	}
	return nil
}

// Delete deletes the certificate named by ref (ARN, UUID or prefix) with
// every version and its sealed keys (DeleteCertificate) and returns its
// ARN. A certificate in use is refused unless force. confirm, when set, is
// asked once the certificate is found deletable, outside any transaction
// (it may prompt); an error from it cancels the delete and is returned.
// Its notices say what of the certificate is left outside the vault.
func (s *Service) Delete(ctx context.Context, ref string, force bool, confirm func(Deletion) error) (*Deleted, error) {
	if confirm != nil {
		var d Deletion
		err := s.core.Read(ctx, func(tx localstore.Tx) error {
			id, err := inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Deleting)
			if err != nil {
				return err
			}
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			d = Deletion{CertificateArn: s.core.Names.CertificateARN(id), ID: id, DomainName: c.DomainName}
			return checkDeletable(c, force)
		})
		// A certificate that cannot be deleted is not asked about: the
		// change below refuses it, and the refusal is recorded.
		if err == nil {
			if err := confirm(d); err != nil {
				return nil, err
			}
			ref = d.ID
		}
	}
	var arn, left string
	err := s.core.Change(ctx, "DeleteCertificate", func(op *service.Op) error {
		op.Param("CertificateArn", ref)
		if force {
			op.Param("Force", true)
		}
		id, err := inventory.ResolveCertificate(op.Tx, s.core.Names, ref, inventory.Deleting)
		if err != nil {
			return err
		}
		arn = s.core.Names.CertificateARN(id)
		op.Param("CertificateArn", arn)
		op.Resource(arn)
		c, err := op.Tx.GetCertificate(id)
		if err != nil {
			return err
		}
		if err := checkDeletable(c, force); err != nil {
			return err
		}
		left = leftOutside(c, op.Now)
		if err := op.Tx.DeleteCertificate(id); err != nil {
			return err
		}
		return deploy.RemoveTargets(op.Tx, id)
	})
	if err != nil {
		return nil, err
	}
	out := &Deleted{CertificateArn: arn}
	if left != "" {
		out.Notices = []string{arn + ": " + left}
	}
	return out, nil
}
