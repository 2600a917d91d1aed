// Package updateoptions implements `certctl update-certificate-options`.
package updateoptions

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// UpdateOptionsOptions are the inputs of update-certificate-options: its
// dependencies, as functions that tests replace, and its flag values.
type UpdateOptionsOptions struct {
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)

	ID string
	// Export and CTLogging are the values --options gives (ENABLED,
	// DISABLED, or "" when not given).
	Export, CTLogging string
}

// NewCmdUpdateOptions builds `certctl update-certificate-options`.
func NewCmdUpdateOptions(f *cmdutil.Factory, runF func(*UpdateOptionsOptions) error) *cobra.Command {
	opts := &UpdateOptionsOptions{Printer: f.Printer, Certificates: f.Certificates}
	var options []string
	cmd := &cobra.Command{
		Use:   "update-certificate-options ARN --options Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED",
		Short: "Change a certificate's Export and certificate transparency options",
		Long: `Change the options of a certificate certctl issued, as ACM's
UpdateCertificateOptions does; prints the certificate's options after.

CertificateTransparencyLoggingPreference may be changed on ISSUED and PRIVATE
certificates. Export concerns domain-validated (ISSUED) certificates only (a
PRIVATE certificate's key always exports) and, as in ACM, is fixed at request
time: Export=DISABLED stops further key exports of a certificate requested
with Export=ENABLED, but export cannot be enabled afterwards (exit 5; request
a new certificate with --options Export=ENABLED). IMPORTED, ACME-issued and
revoked certificates have no options to change (exit 5). Setting an option to
the value it has changes nothing.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl update-certificate-options 3f2a1b9c --options Export=DISABLED
  certctl update-certificate-options 3f2a1b9c --options CertificateTransparencyLoggingPreference=DISABLED`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(options) == 0 {
				return errs.UsageErrorf("--options is required (Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED)")
			}
			var err error
			if opts.Export, opts.CTLogging, err = inventory.ParseOptions(strings.Join(options, ",")); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runUpdateOptions(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&options, "options", nil, "`KEY=VALUE` items: Export=ENABLED|DISABLED, CertificateTransparencyLoggingPreference=ENABLED|DISABLED (either key or both; repeatable: the keys merge)")
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	cmdutil.EnumCompletion(cmd, "options", inventory.OptionPairs())
	return cmd
}

func runUpdateOptions(ctx context.Context, o *UpdateOptionsOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	res, err := svc.UpdateOptions(ctx, o.ID, o.Export, o.CTLogging)
	if err != nil {
		return err
	}
	return p.Print(res, output.View{
		Table: func(s *output.Styles) *output.Table {
			return &output.Table{Rows: [][]string{
				{"Certificate", res.CertificateArn},
				{"Export", res.Options.Export},
				{"CertificateTransparencyLoggingPreference", res.Options.CertificateTransparencyLoggingPreference},
			}}
		},
		Records: func() [][]string {
			return [][]string{{res.CertificateArn, res.Options.Export, res.Options.CertificateTransparencyLoggingPreference}}
		},
	})
}
