package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// GetCertificateOptions are the inputs of `ca get-certificate`.
type GetCertificateOptions struct {
	Deps

	CA             string
	CertificateArn string
	Serial         string
}

// NewCmdCaGetCertificate builds `certctl ca get-certificate`.
func NewCmdCaGetCertificate(f *cmdutil.Factory, runF func(*GetCertificateOptions) error) *cobra.Command {
	opts := &GetCertificateOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "get-certificate CA (--certificate-arn ARN | --serial S)",
		Short: "Print a certificate the CA issued, with its chain",
		Long: `Print a certificate the CA issued — by ca issue, request, renewal or an ACME
order — and its chain, as AWS Private CA's GetCertificate. The certificate is
named by its ARN (<ca-arn>/certificate/<serial hex>, as ca issue -o json prints
it) or by its serial. PEM by default (certificate, then chain); -o json:
{"Certificate","CertificateChain"}.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Example: `  certctl ca get-certificate 5f2c9e01 --serial 3a:0f:...:9c > app.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := certificateRefFlags(opts.CertificateArn, opts.Serial); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaGetCertificate(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	cmd.Flags().StringVar(&opts.CertificateArn, "certificate-arn", "", "the certificate's `ARN` (<ca-arn>/certificate/<serial>)")
	cmd.Flags().StringVar(&opts.Serial, "serial", "", "the certificate's `serial` (colon- or hyphen-separated hex bytes, or hex)")
	_ = cmd.RegisterFlagCompletionFunc("serial", f.CompleteCASerial(false))
	return cmd
}

// certificateRefFlags checks that exactly one of --certificate-arn and
// --serial was given.
func certificateRefFlags(certArn, serial string) error {
	switch {
	case certArn != "" && serial != "":
		return errs.UsageErrorf("--certificate-arn and --serial name the same thing: give one")
	case certArn == "" && serial == "":
		return errs.UsageErrorf("--certificate-arn or --serial is required")
	}
	return nil
}

func runCaGetCertificate(ctx context.Context, o *GetCertificateOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	c, err := svc.GetCertificate(ctx, o.CA, authorities.CertificateRef{CertificateArn: o.CertificateArn, Serial: o.Serial})
	if err != nil {
		return err
	}
	return printPEM(p, o.IO.Out, o.Structured(), c, c.Certificate+c.CertificateChain)
}

// GetCACertificateOptions are the inputs of `ca get-certificate-authority-certificate`.
type GetCACertificateOptions struct {
	Deps

	CA string
}

// NewCmdCaGetCACertificate builds `certctl ca get-certificate-authority-certificate`.
func NewCmdCaGetCACertificate(f *cmdutil.Factory, runF func(*GetCACertificateOptions) error) *cobra.Command {
	opts := &GetCACertificateOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "get-certificate-authority-certificate CA",
		Short: "Print a CA's certificate and its chain up to the root",
		Long: `Print the certificate of the CA and its chain (its issuers, up to the root), as
AWS Private CA's GetCertificateAuthorityCertificate. A root has no chain. PEM by
default (certificate, then chain); -o json: {"Certificate","CertificateChain"}.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl ca get-certificate-authority-certificate 5f2c9e01 > issuing-ca.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaGetCACertificate(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	return cmd
}

func runCaGetCACertificate(ctx context.Context, o *GetCACertificateOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	c, err := svc.GetCACertificate(ctx, o.CA)
	if err != nil {
		return err
	}
	return printPEM(p, o.IO.Out, o.Structured(), c, c.Certificate+c.CertificateChain)
}
