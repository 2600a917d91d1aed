package validate

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/validations"
)

// ResendOptions are the inputs of resend-validation-email: its
// dependencies, as functions that tests replace, and its flag values.
type ResendOptions struct {
	Printer     func() (*output.Printer, error)
	Validations func(context.Context) (*validations.Service, error)
	IO          *iostreams.IOStreams
	// Quiet is the global -q: no note on stderr.
	Quiet bool

	ID               string
	Domain           string
	ValidationDomain string
}

// ResendOutput is the JSON form of resend-validation-email.
type ResendOutput struct {
	CertificateArn   string   `json:"CertificateArn"`
	DomainName       string   `json:"DomainName"`
	ValidationDomain string   `json:"ValidationDomain"`
	ValidationEmails []string `json:"ValidationEmails"`
}

// NewCmdResendValidationEmail builds `certctl resend-validation-email`.
func NewCmdResendValidationEmail(f *cmdutil.Factory, runF func(*ResendOptions) error) *cobra.Command {
	opts := &ResendOptions{Printer: f.Printer, Validations: f.Validations, IO: f.IO}
	cmd := &cobra.Command{
		Use:   "resend-validation-email ARN --domain D --validation-domain V",
		Short: "Send the validation email of a name again, with a new approval code",
		Long: `Send the validation email of one name of a certificate pending EMAIL
validation (or of an ISSUED certificate whose renewal waits for
re-approval) again: a new approval code (the previous one stops working) to
admin@, administrator@, hostmaster@, postmaster@ and webmaster@ of the
validation domain, which must be the name itself or a superdomain of it
(exit 4 otherwise). As in ACM, the validation domain is used for this
message only and not saved: describe still shows the name's own, and later
messages (a renewal's) go to its addresses. Messages go through smtp.addr,
or to the vault's outbox/ directory as .eml files when no SMTP server is
configured.` + cmdutil.ExitStatus(0, 1, 2, 3, 4, 5, 6),
		Example: `  certctl resend-validation-email 3f2a1b9c --domain www.shop.example.com --validation-domain example.com`,
		Args:    cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		// Only a certificate pending validation has an email to resend.
		ValidArgsFunction: f.CompleteCertificatesWhere(cmdutil.CertificateChoice{Statuses: []string{inventory.StatusPendingValidation}}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Domain == "" || opts.ValidationDomain == "" {
				return usageErr("--domain and --validation-domain are required")
			}
			opts.Quiet = f.Globals.Quiet
			if runF != nil {
				return runF(opts)
			}
			return runResend(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Domain, "domain", "", "the certificate's `name` to validate")
	cmd.Flags().StringVar(&opts.ValidationDomain, "validation-domain", "", "the `domain` whose addresses receive this email")
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN)")
	return cmd
}

func runResend(ctx context.Context, o *ResendOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Validations(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Resend(ctx, o.ID, o.Domain, o.ValidationDomain)
	if err != nil {
		return err
	}
	out := ResendOutput{CertificateArn: res.CertificateArn, DomainName: res.DomainName,
		ValidationDomain: res.ValidationDomain, ValidationEmails: res.ValidationEmails}
	if !o.Quiet && res.Outbox != "" {
		fmt.Fprintf(o.IO.ErrOut, "wrote %s to %s\n", output.Count(len(res.ValidationEmails), "message"), res.Outbox)
	}
	return p.Print(out, output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{}
			for _, to := range out.ValidationEmails {
				t.Rows = append(t.Rows, []string{"Sent", output.Sanitize(to)})
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, to := range out.ValidationEmails {
				rows = append(rows, []string{out.CertificateArn, out.DomainName, to})
			}
			return rows
		},
	})
}
