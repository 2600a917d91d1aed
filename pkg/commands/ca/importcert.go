package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
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
		Short: "Install a CA's signed certificate: activate a PENDING_CERTIFICATE CA, or renew a CA",
		Long: `Install a CA certificate signed for ` + "`certctl ca csr`" + `'s request (AWS Private CA's
ImportCertificateAuthorityCertificate):

  - into a PENDING_CERTIFICATE CA, which becomes ACTIVE;
  - into an ACTIVE or DISABLED CA, to renew it in place: it keeps its ARN,
    status, key and settings, and signs, publishes (describe, get-certificate-
    authority-certificate, trust-bundle, CRLs, OCSP) and chains with the new
    certificate from then on; the CAs below it take it into their chains.
    What it issued before still verifies: the key and subject are the same.

The certificate must be for the CA's key, with the subject of its CSR (of its
current certificate when renewing), carry CA:TRUE (and keyCertSign when it has a Key
Usage) and the CA's --name-constraints, critical and no others (ca issue puts
them in), and be valid now. A ROOT's new certificate is self-signed (ca issue
ROOT --template RootCACertificate); any other must verify against its chain:
--certificate-chain (issuer first, root last), the certificates after the first
in --certificate, or, when a CA of the vault issued it, that CA's own (it then
becomes the CA's parent, ParentArn). A renewed subordinate signed again by the
same outside issuer may keep the chain it has. What the CA issues ends by the
time the first certificate of its chain expires, even where its own lasts longer
(exit 5, PCA_INVALID_DURATION, for a validity past it). A certificate that does
not fit exits 4, a CA in another status 5.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca import-certificate 7d41aa02 --certificate sub.pem --certificate-chain root.pem
  certctl ca csr 5f2c9e01 | certctl ca issue 5f2c9e01 --csr - --template RootCACertificate --validity 10y > new.pem
  certctl ca import-certificate 5f2c9e01 --certificate new.pem`,
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
	caArg(f, cmd, &opts.CA, cmdutil.CAInStatus(authority.StatusPendingCertificate, authority.StatusActive, authority.StatusDisabled))
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
	res, err := svc.ImportCertificate(ctx, o.CA, authority.CertificateImport{
		Certificate: certPEM, Chain: chainPEM,
		CertificateFile: cmdutil.FileArgName(o.CertFile), ChainFile: cmdutil.FileArgName(o.ChainFile),
	})
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, res.Notices...)
	return printARN(p.Print, "Imported", res.Arn)
}
