package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
)

// ImportCertificateOptions are the inputs of `ca import-certificate`.
type ImportCertificateOptions struct {
	Deps

	CA        string
	CertFile  string
	ChainFile string
}

// NewCmdCaImportCertificate builds `certctl ca import-certificate`.
func NewCmdCaImportCertificate(f *cmdutil.Factory, runF func(*ImportCertificateOptions) error) *cobra.Command {
	opts := &ImportCertificateOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "import-certificate CA --certificate FILE [--certificate-chain FILE]",
		Short: "Activate a PENDING_CERTIFICATE CA with its externally signed certificate",
		Long: `Install the certificate an outside CA signed for ` + "`certctl ca csr`" + `'s request and
activate the CA. The certificate must carry the CA's key and CA:TRUE, and verify
against the chain (issuer first, root last).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.CertFile == "" {
				return errs.UsageErrorf("--certificate is required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaImportCertificate(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA)
	cmd.Flags().StringVar(&opts.CertFile, "certificate", "", "the CA's signed certificate (PEM `file`)")
	cmd.Flags().StringVar(&opts.ChainFile, "certificate-chain", "", "its issuers, issuer first (PEM `file`)")
	_ = cmd.MarkFlagFilename("certificate")
	_ = cmd.MarkFlagFilename("certificate-chain")
	return cmd
}

func runCaImportCertificate(ctx context.Context, o *ImportCertificateOptions) error {
	certPEM, err := cmdutil.ReadFileArg(o.IO, "certificate", o.CertFile)
	if err != nil {
		return err
	}
	var chainPEM []byte
	if o.ChainFile != "" {
		if chainPEM, err = cmdutil.ReadFileArg(o.IO, "certificate-chain", o.ChainFile); err != nil {
			return err
		}
	}
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	a, err := svc.ImportCertificate(ctx, o.CA, certPEM, chainPEM)
	if err != nil {
		return err
	}
	return printARN(p, "Activated", a)
}
