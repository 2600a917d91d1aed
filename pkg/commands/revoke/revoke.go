// Package revoke implements `certctl revoke`.
package revoke

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// RevokeOptions are the inputs of revoke: its dependencies, as functions
// that tests replace, and its flag values.
type RevokeOptions struct {
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)

	ID     string
	Reason string
}

// Result is revoke's JSON form.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
}

// NewCmdRevoke builds `certctl revoke`.
func NewCmdRevoke(f *cmdutil.Factory, runF func(*RevokeOptions) error) *cobra.Command {
	opts := &RevokeOptions{Printer: f.Printer, Certificates: f.Certificates}
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
			if err := cmdutil.CheckEnum("revocation-reason", []string{opts.Reason}, casign.ReasonNames()); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runRevoke(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "revocation-reason", "", "why the certificate is revoked")
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	cmdutil.EnumCompletion(cmd, "revocation-reason", casign.ReasonNames())
	return cmd
}

func joinReasons() string {
	s := ""
	for i, r := range casign.ReasonNames() {
		if i > 0 {
			s += ", "
		}
		s += r
	}
	return s
}

func runRevoke(ctx context.Context, o *RevokeOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	arnStr, err := svc.Revoke(ctx, o.ID, o.Reason)
	if err != nil {
		return err
	}
	return p.Print(Result{CertificateArn: arnStr}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Revoked", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}
