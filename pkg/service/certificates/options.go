package certificates

import (
	"context"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// OptionsResult is a certificate's options after update-certificate-options.
type OptionsResult struct {
	CertificateArn string            `json:"CertificateArn"`
	Options        inventory.Options `json:"Options"`
}

// CheckOptionsUpdate applies ACM's UpdateCertificateOptions rules to
// setting c's options to export and ct ("" leaves one as it is):
//
//   - options belong to certificates certctl issued: an IMPORTED or
//     ACME-origin certificate has none to change;
//   - Export applies to domain-validated (ISSUED-type) certificates only
//     (a PRIVATE certificate's key always exports), and, as in ACM, is
//     fixed when the certificate is requested: it may be turned off
//     (DISABLED: no further key export) but never turned on afterwards;
//   - a REVOKED certificate's options no longer change.
func CheckOptionsUpdate(c *localstore.Certificate, export, ct string) error {
	switch {
	case c.KeyPairOrigin == inventory.OriginACME:
		return errs.Refusedf("certificate %s was issued to an ACME client: it has no options to update", c.ID)
	case c.Type == inventory.TypeImported:
		return errs.Refusedf("certificate %s is IMPORTED: options apply to certificates certctl issues", c.ID)
	case c.Status == inventory.StatusRevoked:
		return errs.Refusedf("certificate %s is revoked", c.ID)
	}
	if export != "" {
		switch {
		case c.Type != inventory.TypeIssued:
			return errs.Refusedf("certificate %s is %s: the Export option applies only to domain-validated (ISSUED) certificates; a PRIVATE certificate's key always exports", c.ID, c.Type)
		case export == inventory.Enabled && c.ExportOption != inventory.Enabled:
			return errs.Refusedf("certificate %s has Export=DISABLED: as in ACM, export is set when a certificate is requested and, once off, cannot be turned on again", c.ID).
				WithHint("request a new certificate with --options Export=ENABLED")
		}
	}
	return nil
}

// UpdateOptions sets the options of the certificate named by ref
// (UpdateCertificateOptions): export and ct are ENABLED, DISABLED, or ""
// to leave that option as it is; at least one is given. Setting an option
// to the value it has succeeds and changes nothing.
func (s *Service) UpdateOptions(ctx context.Context, ref, export, ct string) (*OptionsResult, error) {
	for _, v := range []string{export, ct} {
		if v != "" && v != inventory.Enabled && v != inventory.Disabled {
			return nil, errs.UsageErrorf("invalid option value %q (use ENABLED or DISABLED)", v)
		}
	}
	if export == "" && ct == "" {
		return nil, errs.UsageErrorf("--options needs Export or CertificateTransparencyLoggingPreference")
	}
	var out *OptionsResult
	err := s.core.Change(ctx, "UpdateCertificateOptions", func(op *service.Op) error {
		op.Param("CertificateArn", ref)
		opts := map[string]string{}
		if export != "" {
			opts[inventory.OptionExport] = export
		}
		if ct != "" {
			opts[inventory.OptionCTLogging] = ct
		}
		op.Param("Options", opts)
		id, err := inventory.ResolveCertificate(op.Tx, s.core.Names, ref, inventory.Updating)
		if err != nil {
			return err
		}
		arn := s.core.Names.CertificateARN(id)
		op.Param("CertificateArn", arn)
		op.Resource(arn)
		c, err := op.Tx.GetCertificate(id)
		if err != nil {
			return err
		}
		if err := CheckOptionsUpdate(c, export, ct); err != nil {
			return err
		}
		changed := false
		if export != "" && c.ExportOption != export {
			c.ExportOption, changed = export, true
		}
		if ct != "" && c.CTLoggingPreference != ct {
			c.CTLoggingPreference, changed = ct, true
		}
		out = &OptionsResult{CertificateArn: arn, Options: inventory.NewDetail(s.core.Names, c, nil).Options}
		if !changed {
			return nil
		}
		c.UpdatedAt = op.Now
		return op.Tx.PutCertificate(c)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
