package imports

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
)

// NewCmdReimport builds `certctl reimport`.
func NewCmdReimport(f *cmdutil.Factory, runF func(*ImportOptions) error) *cobra.Command {
	opts := newImportOptions(f)
	cmd := &cobra.Command{
		Use:   "reimport ARN --certificate FILE --private-key FILE [--certificate-chain FILE]",
		Short: "Replace an imported certificate, keeping its ARN and history",
		Long: `Replace an imported certificate with a new one (for example a renewal done
elsewhere), keeping its ARN, tags and every previous version (see
` + "`certctl describe ARN --versions`" + `).

ACM's reimport rules apply: the key algorithm and size must stay the same
(exit 5), Key Usage and Extended Key Usage values may be added but not removed
(exit 5), the certificate must hold at least one name (exit 4). Tags cannot be
given on reimport (exit 2); change them with ` + "`certctl tags`" + `.

A new version records a Certificate Available event (Action REIMPORT).
Reimporting the certificate that is already current changes nothing: no new
version and no event.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl reimport 3f2a1b9c --certificate new.pem --private-key new.key --certificate-chain chain.pem`,
		Args:    cmdutil.IDArg(&opts.CertificateArn, "certificate-arn", "ARN"),
		// Only an IMPORTED certificate can be reimported.
		ValidArgsFunction: f.CompleteCertificatesWhere(cmdutil.CertificateChoice{Types: []string{inventory.TypeImported}}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("tags") {
				return errs.UsageErrorf("reimport does not take --tags: a reimported certificate keeps its tags").
					WithHint("change tags with `certctl tags add|remove`")
			}
			if err := opts.validate(cmd); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runReimport(cmd.Context(), opts)
		},
	}
	addMaterialFlags(cmd, opts)
	cmdutil.IDAliasFlag(cmd, &opts.CertificateArn, "certificate-arn", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	// --tags is refused with a message rather than as an unknown flag.
	cmd.Flags().StringArrayVar(&opts.Tags, "tags", nil, "not allowed: a reimported certificate keeps its tags")
	_ = cmd.Flags().MarkHidden("tags")
	return cmd
}

func runReimport(ctx context.Context, o *ImportOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	raw, err := o.readMaterial()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	arn, err := svc.Reimport(ctx, o.CertificateArn, raw)
	if err != nil {
		return err
	}
	return printARN(p, arn, "Reimported")
}
