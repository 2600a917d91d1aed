package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/pemio"
)

// CRLOptions are the inputs of `ca crl`.
type CRLOptions struct {
	Deps

	CA  string
	DER bool
	// Partition is --partition (-1, when it is not given: the complete
	// CRL).
	Partition int
}

// NewCmdCaCRL builds `certctl ca crl`.
func NewCmdCaCRL(f *cmdutil.Factory, runF func(*CRLOptions) error) *cobra.Command {
	opts := &CRLOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "crl CA [--der] [--partition N]",
		Short: "Print a new CRL of a certificate authority",
		Long: `Sign and print a new certificate revocation list of the CA: every serial it
revoked with its reason, a CRL number above the last one, thisUpdate a minute
before the signing (as a certificate's NotBefore, for clocks a little behind),
nextUpdate 7 days after the signing (ExpirationInDays of the CA's
CrlConfiguration when set). A DELETED CA signs
one within its restore window, none once permanently deleted (exit 5). PEM by
default, -o json puts it in JSON;
--der for DER (binary: refused on a terminal and with -o json or yaml).
--partition N prints partition N (from 0) of a PARTITIONED CA's CRL: the
revoked certificates of that partition, with an Issuing Distribution Point
naming the distribution point its certificates carry (ca serve serves it at
/crl/<ca-uuid>/<n>.crl; ca describe shows CrlPartitions). Partitions stay
served after ca update makes the CRL COMPLETE or moves it: their
certificates name them. A new CustomCname part-way through a partition
starts the next one; a new ca.base_url is taken by the next partition.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca crl 5f2c9e01 | openssl crl -text -noout`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !cmd.Flags().Changed("partition") {
				opts.Partition = -1
			} else if opts.Partition < 0 {
				return errs.UsageErrorf("--partition: %d is not a partition number (they count from 0)", opts.Partition)
			}
			if opts.DER && opts.Structured() {
				return errs.UsageErrorf("--der is binary: -o json, -o yaml and --query cannot apply to it (without --der, -o json prints the PEM in JSON)")
			}
			if opts.DER && opts.IO.IsStdoutTTY() {
				return errs.UsageErrorf("refusing to write a DER CRL to a terminal: redirect it to a file").WithoutHelpHint()
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaCRL(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, nil)
	cmd.Flags().BoolVar(&opts.DER, "der", false, "print DER instead of PEM")
	cmdutil.IntVar(cmd.Flags(), &opts.Partition, "partition", 0, "partition `N` of a PARTITIONED CRL (default: the complete CRL)")
	return cmd
}

func runCaCRL(ctx context.Context, o *CRLOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	crl, err := svc.CRL(ctx, o.CA, o.Partition)
	if err != nil {
		return err
	}
	if o.DER {
		_, err := o.IO.Out.Write(crl)
		return err
	}
	if !o.Structured() {
		// Streamed: a CRL of 100,000 entries is 6 MB of PEM.
		return pemio.Write(o.IO.Out, "X509 CRL", crl)
	}
	text := pemio.EncodeString("X509 CRL", crl)
	return printPEM(p, o.IO.Out, true, map[string]string{"Crl": text}, text)
}
