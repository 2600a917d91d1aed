package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
)

// TrustBundleOptions are the inputs of `ca trust-bundle`.
type TrustBundleOptions struct {
	Deps
}

// NewCmdCaTrustBundle builds `certctl ca trust-bundle`.
func NewCmdCaTrustBundle(f *cmdutil.Factory, runF func(*TrustBundleOptions) error) *cobra.Command {
	opts := &TrustBundleOptions{Deps: newDeps(f)}
	return &cobra.Command{
		Use:   "trust-bundle",
		Short: "Print every root certificate of the vault",
		Long: `Print, as PEM, every root to trust for certificates of this vault: the built-in
public-style root, the default private root and every ACTIVE root CA (the
built-in ones are created on first use). A DISABLED, expired or deleted root is
not in it, though what it signed — its subordinates, which may go on issuing —
still chains to it: hosts that trust only the bundle then refuse those
certificates. Keep the bundle taken while the root was ACTIVE (an offline root
left DISABLED), or give such hosts the root itself (ca
get-certificate-authority-certificate ROOT).` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl ca trust-bundle | sudo tee /usr/local/share/ca-certificates/certctl.crt > /dev/null && sudo update-ca-certificates`,
		Args:    cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runCaTrustBundle(cmd.Context(), opts)
		},
	}
}

func runCaTrustBundle(ctx context.Context, o *TrustBundleOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	bundle, err := svc.TrustBundle(ctx)
	if err != nil {
		return err
	}
	return printPEM(p, o.IO.Out, o.Structured(), map[string]string{"TrustBundle": string(bundle)}, string(bundle))
}
