package certificates

import (
	"context"
	"strings"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// Deletion is the certificate a delete is about to remove, as the
// confirmation question names it.
type Deletion struct {
	CertificateArn string
	ID             string
	DomainName     string
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
func (s *Service) Delete(ctx context.Context, ref string, force bool, confirm func(Deletion) error) (string, error) {
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
				return "", err
			}
			ref = d.ID
		}
	}
	var arn string
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
		if err := op.Tx.DeleteCertificate(id); err != nil {
			return err
		}
		return deploy.RemoveTargets(op.Tx, id)
	})
	if err != nil {
		return "", err
	}
	return arn, nil
}
