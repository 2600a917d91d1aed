package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
)

// CSROptions are the inputs of `ca csr`.
type CSROptions struct {
	Deps

	CA string
}

// NewCmdCaCSR builds `certctl ca csr`.
func NewCmdCaCSR(f *cmdutil.Factory, runF func(*CSROptions) error) *cobra.Command {
	opts := &CSROptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "csr CA",
		Short: "Print a CA's CSR: to sign a CA created --external, or to renew a CA",
		Long: `Print the certificate signing request of a CA (AWS Private CA's
GetCertificateAuthorityCsr):

  - a SUBORDINATE CA created with --external (status PENDING_CERTIFICATE): the
    request made with it, for an outside CA to sign;
  - an ACTIVE, DISABLED or EXPIRED CA: a new request, signed by the CA's key,
    with the subject of its certificate, to renew the CA in place. Have its
    parent sign it (ca issue PARENT --template SubordinateCACertificate_PathLen0..3,
    or the outside CA), or a ROOT itself (ca issue ROOT --template
    RootCACertificate, which an expired ACTIVE root still signs, and nothing
    else), then install the certificate with ca import-certificate: the CA
    keeps its ARN, key and settings.

Another status exits 5, as does a CA whose key was revoked for compromise.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl ca csr 5f2c9e01 > ca.csr
  certctl ca issue 5f2c9e01 --csr ca.csr --template RootCACertificate --validity 10y > new.pem
  certctl ca import-certificate 5f2c9e01 --certificate new.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaCSR(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	return cmd
}

func runCaCSR(ctx context.Context, o *CSROptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	csr, err := svc.CSR(ctx, o.CA)
	if err != nil {
		return err
	}
	return printPEM(p, o.IO.Out, o.Structured(), map[string]string{"Csr": csr}, csr)
}
