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
		Short: "Print the CSR of a CA waiting for an external signature",
		Long: `Print the certificate signing request of a SUBORDINATE CA created with --external
(status PENDING_CERTIFICATE), for an outside CA to sign.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaCSR(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA)
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
