// Package revoke implements `certctl revoke`.
package revoke

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// RevokeOptions are the inputs of revoke: its dependencies, as functions
// that tests replace, and its flag values.
type RevokeOptions struct {
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)
	IO           *iostreams.IOStreams
	// Quiet is the global -q: no summary line.
	Quiet func() bool

	ID     string
	Reason string
	// Select is a selection instead of ID.
	Select cmdutil.SelectionFlags
}

// Result is revoke's JSON form.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
}

// NewCmdRevoke builds `certctl revoke`.
func NewCmdRevoke(f *cmdutil.Factory, runF func(*RevokeOptions) error) *cobra.Command {
	opts := &RevokeOptions{Printer: f.Printer, Certificates: f.Certificates, IO: f.IO,
		Quiet: func() bool { return f.Globals.Quiet }}
	cmd := &cobra.Command{
		Use:   "revoke ARN|--filter-statement JSON|--query-terse Q --revocation-reason REASON",
		Short: "Revoke a certificate (permanent)",
		Long: `Revoke a certificate issued by the vault. Revocation is permanent: the serial is
listed in the issuing CA's CRL (` + "`certctl ca crl`" + `) and the OCSP responder answers
revoked (` + "`certctl ca serve`" + `).

It revokes the certificate's current version: the versions renewals replaced
stay valid until they expire (describe --versions lists their serials;
revoke one with certctl ca revoke-certificate CA --serial SERIAL).

Allowed for PRIVATE certificates and for exported domain-validated ones.
Refused (exit 5) for IMPORTED certificates (revoke them with their CA), for
ACME certificates (revoke them through the ACME endpoint — once the endpoint
is deleted, which leaves no ACME path, revoke revokes them), and for a
certificate already revoked.

Reasons: UNSPECIFIED KEY_COMPROMISE CA_COMPROMISE AFFILIATION_CHANGED SUPERSEDED
CESSATION_OF_OPERATION CERTIFICATE_HOLD PRIVILEGE_WITHDRAWN A_A_COMPROMISE.
KEY_COMPROMISE and CA_COMPROMISE also mark the key compromised: no
certificate is signed for it again (exit 5).

` + cmdutil.SelectionHelp + ` A certificate the rules refuse (IMPORTED, ACME,
never exported) is reported REFUSED; the others are revoked. One already
revoked is UNCHANGED, not a failure.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6, 7),
		Example: `  certctl revoke 3f2a1b9c --revocation-reason KEY_COMPROMISE
  certctl revoke --query-terse 'tag:host=web1' --revocation-reason SUPERSEDED --dry-run
  certctl revoke --filter-statement file://compromised.json --revocation-reason KEY_COMPROMISE --yes`,
		Args: cmdutil.SelectionIDArg(&opts.ID, "certificate-arn", "ARN", &opts.Select),
		// Only an ISSUED certificate of a private CA can be revoked.
		ValidArgsFunction: f.CompleteCertificatesWhere(cmdutil.CertificateChoice{
			Statuses: []string{inventory.StatusIssued}, Types: []string{inventory.TypePrivate, inventory.TypeIssued}}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Reason == "" {
				return errs.UsageErrorf("--revocation-reason is required (one of %s)", joinReasons())
			}
			if err := cmdutil.CheckEnum("revocation-reason", []string{opts.Reason}, casign.ReasonNames()); err != nil {
				return err
			}
			if err := opts.Select.CheckDryRun(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runRevoke(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Reason, "revocation-reason", "", "why the certificate is revoked: one of "+strings.Join(casign.ReasonNames(), ", "))
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN)")
	cmdutil.AddSelectionFlags(cmd, &opts.Select)
	cmdutil.EnumCompletion(cmd, "revocation-reason", casign.ReasonNames())
	return cmd
}

func joinReasons() string {
	s := ""
	for i, r := range casign.ReasonNames() {
		if i > 0 {
			s += ", "
		}
		s += r
	}
	return s
}

func runRevoke(ctx context.Context, o *RevokeOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	if o.Select.IsSet() {
		return runRevokeSelected(ctx, o, p)
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	done, err := svc.Revoke(ctx, o.ID, o.Reason)
	if err != nil {
		return err
	}
	arnStr := done.CertificateArn
	if done.StillDeployed != "" {
		cmdutil.PrintNotices(o.IO, arnStr+" is "+done.StillDeployed)
	}
	if done.Unpublished != "" {
		cmdutil.PrintNotices(o.IO, arnStr+": "+done.Unpublished)
	}
	return p.Acknowledge(Result{CertificateArn: arnStr}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Revoked", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}

// runRevokeSelected revokes the certificates of a selection.
func runRevokeSelected(ctx context.Context, o *RevokeOptions, p *output.Printer) error {
	sel, err := o.Select.Selection(o.IO)
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	prog := cmdutil.NewBulkProgress(o.IO, o.Quiet(), "revoking")
	rep, err := svc.RevokeSelected(ctx, certificates.BulkOptions{Selection: sel, DryRun: o.Select.DryRun,
		Confirm: cmdutil.BulkConfirm(o.IO, o.Select.Yes, "revoke"), Progress: prog.Advanced}, o.Reason)
	prog.Clear()
	if err != nil {
		return err
	}
	return cmdutil.PrintBulkChange(p, o.IO, rep, o.Quiet())
}
