package ca

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// DeleteOptions are the inputs of `ca delete`.
type DeleteOptions struct {
	Deps

	CA   string
	Days int
	Yes  bool
}

// NewCmdCaDelete builds `certctl ca delete`.
func NewCmdCaDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "delete CA [--permanent-deletion-time-in-days 7..30] [--yes]",
		Short: "Delete a certificate authority (restorable for 7 to 30 days)",
		Long: `Mark a CA DELETED. It can be restored with ` + "`certctl ca restore`" + ` for
--permanent-deletion-time-in-days (7 to 30, default 30). An ACTIVE CA must be
disabled first (exit 5). Until it is permanently deleted, a DELETED CA issues
nothing, but the certificates it issued still chain to it: they can still be
revoked, and its revocations stay published (ca crl, and the CRL and OCSP
answers of ca serve and endpoint serve). A PKCS11 CA's key stays in its token,
even once the CA is permanently deleted: remove it there (pkcs11-tool
--delete-object) when no other CA uses it.

` + cmdutil.ConfirmHelp + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl ca update 5f2c9e01 --status DISABLED
  certctl ca delete 5f2c9e01 --permanent-deletion-time-in-days 7 --yes`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Days < 7 || opts.Days > 30 {
				return errs.UsageErrorf("--permanent-deletion-time-in-days must be 7 to 30")
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaDelete(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, cmdutil.CANotDeleted)
	cmdutil.IntVar(cmd.Flags(), &opts.Days, "permanent-deletion-time-in-days", 30, "days during which the CA can be restored (7-30)")
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	return cmd
}

func runCaDelete(ctx context.Context, o *DeleteOptions) error {
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	var confirm func(*authorities.Description) error
	if cmdutil.ShouldConfirm(o.IO, o.Yes) {
		confirm = func(d *authorities.Description) error {
			return cmdutil.Confirm(o.IO, "not deleted", "Delete certificate authority %s (%s)? It can be restored for %d days.",
				d.Arn, output.Sanitize(d.CertificateAuthorityConfiguration.Subject.CommonName), o.Days)
		}
	}
	res, err := svc.Delete(ctx, o.CA, o.Days, confirm)
	if err != nil {
		return err
	}
	cmdutil.PrintNotices(o.IO, res.Notices...)
	return printARN(p.Acknowledge, "Deleted", res.Arn)
}
