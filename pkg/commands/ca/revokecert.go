package ca

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// RevokeCertificateOptions are the inputs of `ca revoke-certificate`.
type RevokeCertificateOptions struct {
	Deps

	CA             string
	Serial         string
	CertificateArn string
	Reason         string
}

// NewCmdCaRevokeCertificate builds `certctl ca revoke-certificate`.
func NewCmdCaRevokeCertificate(f *cmdutil.Factory, runF func(*RevokeCertificateOptions) error) *cobra.Command {
	opts := &RevokeCertificateOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "revoke-certificate CA (--serial S | --certificate-arn ARN) --revocation-reason REASON",
		Short: "Revoke any certificate the CA issued",
		Long: `Revoke a certificate the CA issued — by ca issue, request, renewal or an ACME
order — as AWS Private CA's RevokeCertificate. The CA's CRL (ca crl, ca serve)
and its OCSP responder report it revoked at once. When the certificate is the
current version of one the CA issued to the inventory (request, renewal, an
ACME order), that certificate becomes REVOKED too; a copy of it brought in by
import stays as it is (as in ACM, an imported certificate's revocation is not
tracked: the CRL and OCSP answer for it).
Permanent: a certificate already revoked exits 5, a serial the CA never issued
exits 3. Prints {"CertificateArn"}. KEY_COMPROMISE and CA_COMPROMISE also
mark the certificate's key compromised: no certificate is signed for it
again (exit 5), and a CA whose own certificate is so revoked signs nothing
more.

Reasons: ` + strings.Join(casign.ReasonNames(), " ") + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca revoke-certificate 5f2c9e01 --serial 3a:0f:...:9c --revocation-reason KEY_COMPROMISE`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Reason == "" {
				return errs.UsageErrorf("--revocation-reason is required (one of %s)", strings.Join(casign.ReasonNames(), ", "))
			}
			if err := cmdutil.CheckEnum("revocation-reason", []string{opts.Reason}, casign.ReasonNames()); err != nil {
				return err
			}
			if err := certificateRefFlags(opts.CertificateArn, opts.Serial); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaRevokeCertificate(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	cmd.Flags().StringVar(&opts.Serial, "serial", "", "the certificate's `serial` (colon- or hyphen-separated hex bytes, or hex)")
	_ = cmd.RegisterFlagCompletionFunc("serial", f.CompleteCASerial(true))
	cmd.Flags().StringVar(&opts.Serial, "certificate-serial", "", "alias of --serial (AWS CLI)")
	_ = cmd.Flags().MarkHidden("certificate-serial")
	cmd.Flags().StringVar(&opts.CertificateArn, "certificate-arn", "", "the certificate's `ARN` (<ca-arn>/certificate/<serial>)")
	cmd.Flags().StringVar(&opts.Reason, "revocation-reason", "", "why the certificate is revoked: one of "+strings.Join(casign.ReasonNames(), ", "))
	cmdutil.EnumCompletion(cmd, "revocation-reason", casign.ReasonNames())
	return cmd
}

func runCaRevokeCertificate(ctx context.Context, o *RevokeCertificateOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	a, notices, err := svc.RevokeCertificate(ctx, o.CA, authorities.CertificateRef{CertificateArn: o.CertificateArn, Serial: o.Serial}, o.Reason)
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, notices...)
	return p.Acknowledge(map[string]string{"CertificateArn": a}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Revoked", a}}} },
		Records: func() [][]string { return [][]string{{a}} },
	})
}
