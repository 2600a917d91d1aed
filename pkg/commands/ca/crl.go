package ca

import (
	"context"
	"encoding/pem"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// CRLOptions are the inputs of `ca crl`.
type CRLOptions struct {
	IO          *iostreams.IOStreams
	Printer     func() (*output.Printer, error)
	Structured  func() bool
	Authorities func(context.Context) (*authorities.Service, error)

	CA  string
	DER bool
}

// NewCmdCaCRL builds `certctl ca crl`.
func NewCmdCaCRL(f *cmdutil.Factory, runF func(*CRLOptions) error) *cobra.Command {
	opts := &CRLOptions{IO: f.IO, Printer: f.Printer, Structured: f.StructuredOutput, Authorities: f.Authorities}
	cmd := &cobra.Command{
		Use:   "crl CA [--der]",
		Short: "Print a new CRL of a certificate authority",
		Long: `Sign and print a new certificate revocation list of the CA: every serial it
revoked with its reason, a CRL number above the last one, nextUpdate 7 days on.
PEM by default; --der for DER (binary, refused on a terminal).` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl ca crl 5f2c9e01 | openssl crl -text -noout`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.DER && opts.IO.IsStdoutTTY() {
				return errs.UsageErrorf("refusing to write a DER CRL to a terminal: redirect it to a file")
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaCRL(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA)
	cmd.Flags().BoolVar(&opts.DER, "der", false, "print DER instead of PEM")
	return cmd
}

func runCaCRL(ctx context.Context, o *CRLOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	crl, err := svc.CRL(ctx, o.CA)
	if err != nil {
		return err
	}
	if o.DER {
		_, err := o.IO.Out.Write(crl)
		return err
	}
	text := string(pem.EncodeToMemory(&pem.Block{Type: "X509 CRL", Bytes: crl}))
	return printPEM(p, o.IO.Out, o.Structured(), map[string]string{"Crl": text}, text)
}
