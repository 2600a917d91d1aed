// Package revoke implements `certctl revoke`.
package revoke

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/ca"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
)

// Options are the inputs of revoke.
type Options struct {
	Factory *cmdutil.Factory
	ID      string
	Reason  string
}

// Result is revoke's JSON form.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
}

// NewCmdRevoke builds `certctl revoke`.
func NewCmdRevoke(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "revoke ARN --revocation-reason REASON",
		Short: "Revoke a certificate (permanent)",
		Long: `Revoke a certificate issued by the vault. Revocation is permanent: the serial is
listed in the issuing CA's CRL (` + "`certctl ca crl`" + `) and the OCSP responder answers
revoked (` + "`certctl ca serve`" + `).

Allowed for PRIVATE certificates and for exported domain-validated ones.
Refused (exit 5) for IMPORTED certificates (revoke them with their CA), for
ACME certificates (revoke them through the ACME endpoint), and for a
certificate already revoked.

Reasons: UNSPECIFIED KEY_COMPROMISE CA_COMPROMISE AFFILIATION_CHANGED SUPERSEDED
CESSATION_OF_OPERATION CERTIFICATE_HOLD PRIVILEGE_WITHDRAWN A_A_COMPROMISE.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example:           `  certctl revoke 3f2a1b9c --revocation-reason KEY_COMPROMISE`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Reason == "" {
				return errs.UsageErrorf("--revocation-reason is required (one of %s)", joinReasons())
			}
			if err := cmdutil.CheckEnum("revocation-reason", []string{opts.Reason}, ca.ReasonNames()); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "revocation-reason", "", "why the certificate is revoked")
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	cmdutil.EnumCompletion(cmd, "revocation-reason", ca.ReasonNames())
	return cmd
}

func joinReasons() string {
	s := ""
	for i, r := range ca.ReasonNames() {
		if i > 0 {
			s += ", "
		}
		s += r
	}
	return s
}

// CheckRevocable applies the revocation rules to c.
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

func run(ctx context.Context, o *Options) error {
	f := o.Factory
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return err
	}
	code, _ := ca.ReasonCode(o.Reason)
	now := f.Now()
	var id string
	em := e.Emitter()
	err = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
		em.Pending = nil
		if id, err = inventory.ResolveCertificate(tx, o.ID); err != nil {
			return err
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		if err := CheckRevocable(c); err != nil {
			return err
		}
		if err := inventory.Revoke(tx, c, o.Reason, code, now); err != nil {
			return err
		}
		return em.EmitRevoked(tx, c)
	})
	if err != nil {
		return cmdutil.VaultError(err)
	}
	e.Deliver(ctx, em)
	arnStr := e.Names.CertificateARN(id)
	return e.P.Print(Result{CertificateArn: arnStr}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Revoked", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}
