// Package deletecmd implements `certctl delete`.
package deletecmd

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// DeleteOptions are the inputs of delete: its dependencies, as functions
// that tests replace, and its flag values.
type DeleteOptions struct {
	IO           *iostreams.IOStreams
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)

	// Quiet is the global -q: no summary line after a bulk delete.
	Quiet func() bool

	ID    string
	Yes   bool
	Force bool
	// Select is a selection instead of ID (--yes is Yes).
	Select cmdutil.SelectionFlags
}

// Output is delete's JSON form.
type Output struct {
	CertificateArn string `json:"CertificateArn"`
	Deleted        bool   `json:"Deleted"`
}

// NewCmdDelete builds `certctl delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IO, Printer: f.Printer, Certificates: f.Certificates,
		Quiet: func() bool { return f.Globals.Quiet }}
	cmd := &cobra.Command{
		Use:   "delete ARN|--filter-statement JSON|--query-terse Q",
		Short: "Delete a certificate, its versions and its private key",
		Long: `Delete a certificate with every version and its sealed private key. This is the
only way data leaves the vault, and it cannot be undone.

A certificate that is in use (deployed, see InUseBy) is refused (exit 5) unless
--force is given. Deleting revokes nothing and removes no installed file: what is
left outside the vault is said on stderr (with -q too) — the files of its deploy
targets, which no renewal replaces any more, and, for a certificate whose key left
the vault (exported, deployed, or an ACME client's), that it stays valid until it
expires; revoke it first (certctl revoke) if its key may be exposed.

` + cmdutil.SelectionHelp + cmdutil.ExitStatus(0, 2, 3, 5, 6, 7),
		Example: `  certctl delete 3f2a1b9c
  certctl delete 3f2a1b9c --yes --force
  certctl delete --query-terse 'status:EXPIRED tag:env=test' --dry-run`,
		Args:              cmdutil.SelectionIDArg(&opts.ID, "certificate-arn", "ARN", &opts.Select),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.Select.CheckDryRun(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runDelete(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete even if the certificate is in use")
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	cmdutil.AddSelectionFlags(cmd, &opts.Select)
	return cmd
}

func runDelete(ctx context.Context, o *DeleteOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	if o.Select.IsSet() {
		sel, err := o.Select.Selection(o.IO)
		if err != nil {
			return err
		}
		prog := cmdutil.NewBulkProgress(o.IO, o.Quiet(), "deleting")
		rep, err := svc.DeleteSelected(ctx, certificates.BulkOptions{Selection: sel, DryRun: o.Select.DryRun,
			Confirm: cmdutil.BulkConfirm(o.IO, o.Yes, "delete"), Progress: prog.Advanced}, o.Force)
		prog.Clear()
		if err != nil {
			return err
		}
		return cmdutil.PrintBulkChange(p, o.IO, rep, o.Quiet())
	}
	var confirm func(certificates.Deletion) error
	if cmdutil.ShouldConfirm(o.IO, o.Yes) {
		confirm = o.confirm
	}
	done, err := svc.Delete(ctx, o.ID, o.Force, confirm)
	if err != nil {
		return err
	}
	// On stderr, with -q too: what is left outside the vault is not
	// what the exit status says.
	cmdutil.PrintNotices(o.IO, done.Notices...)
	arnStr := done.CertificateArn
	return p.Acknowledge(Output{CertificateArn: arnStr, Deleted: true}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Deleted", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}

// confirm asks on the terminal; anything but y or yes keeps the certificate.
func (o *DeleteOptions) confirm(d certificates.Deletion) error {
	return cmdutil.Confirm(o.IO, "not deleted", "Delete certificate %s (%s) and its private key? This cannot be undone.",
		d.ID, output.Sanitize(d.DomainName))
}
