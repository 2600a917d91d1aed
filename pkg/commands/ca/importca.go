package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// ImportOptions are the inputs of `ca import`.
type ImportOptions struct {
	IO          *iostreams.IOStreams
	Printer     func() (*output.Printer, error)
	Authorities func(context.Context) (*authorities.Service, error)

	CertFile  string
	KeyFile   string
	ChainFile string
	Tags      []string
}

// NewCmdCaImport builds `certctl ca import`.
func NewCmdCaImport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := &ImportOptions{IO: f.IO, Printer: f.Printer, Authorities: f.Authorities}
	cmd := &cobra.Command{
		Use:   "import --certificate FILE --private-key FILE [--certificate-chain FILE] [--tags Key=K,Value=V ...]",
		Short: "Bring an existing root or subordinate CA into the vault",
		Long: `Bring a CA that exists elsewhere — made with openssl, cfssl, step, mkcert… — into
the vault, with its certificate and private key, as an ACTIVE CA that issues
like any other. The key is sealed in the vault like every other key. A
self-signed certificate becomes a ROOT CA, any other a SUBORDINATE CA; give a
subordinate's issuers with --certificate-chain (issuer first, root last) unless
its issuer is already a CA of the vault. Prints {"CertificateAuthorityArn"}.

Refused (exit 4): a certificate that is not a CA's (no basicConstraints
CA:TRUE, or no keyCertSign), a key that does not match it, an expired
certificate, a chain that does not certify it.` + cmdutil.ExitStatus(0, 2, 4, 5, 6),
		Example: `  certctl ca import --certificate root.pem --private-key root.key
  certctl ca import --certificate sub.pem --private-key sub-key.pem --certificate-chain root.pem`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.CertFile == "" || opts.KeyFile == "" {
				return errs.UsageErrorf("--certificate and --private-key are required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaImport(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.CertFile, "certificate", "", "the CA's certificate (PEM `file`)")
	fl.StringVar(&opts.KeyFile, "private-key", "", "the CA's private key (PEM `file`)")
	fl.StringVar(&opts.ChainFile, "certificate-chain", "", "its issuers, issuer first (PEM `file`)")
	fl.StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	for _, n := range []string{"certificate", "private-key", "certificate-chain"} {
		_ = cmd.MarkFlagFilename(n)
	}
	return cmd
}

func runCaImport(ctx context.Context, o *ImportOptions) error {
	raw := inventory.RawMaterial{CertificateFile: o.CertFile, PrivateKeyFile: o.KeyFile, ChainFile: o.ChainFile}
	var err error
	if raw.CertificatePEM, err = cmdutil.ReadFileArg(o.IO, o.CertFile); err != nil {
		return &errs.Error{Exit: errs.ExitInvalid, Err: err}
	}
	if raw.PrivateKeyPEM, err = cmdutil.ReadFileArg(o.IO, o.KeyFile); err != nil {
		return &errs.Error{Exit: errs.ExitInvalid, Err: err}
	}
	if o.ChainFile != "" {
		if raw.ChainPEM, err = cmdutil.ReadFileArg(o.IO, o.ChainFile); err != nil {
			return &errs.Error{Exit: errs.ExitInvalid, Err: err}
		}
	}
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	a, err := svc.Import(ctx, authorities.ImportRequest{Material: raw, Tags: o.Tags})
	if err != nil {
		return err
	}
	return printARN(p, "Imported", a)
}
