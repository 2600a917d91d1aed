package validate

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/validation"
)

// ResendOptions are the inputs of resend-validation-email.
type ResendOptions struct {
	Factory          *cmdutil.Factory
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
	opts := &ResendOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "resend-validation-email ARN --domain D --validation-domain V",
		Short: "Send the validation email of a name again, with a new approval code",
		Long: `Send the validation email of one name of a certificate pending EMAIL
validation (or of an ISSUED certificate whose renewal waits for
re-approval) again: a new approval code (the previous one stops working) to
admin@, administrator@, hostmaster@, postmaster@ and webmaster@ of the
validation domain, which must be the name itself or a superdomain of it
(exit 4 otherwise). Messages go through smtp.addr, or to the vault's outbox/
directory as .eml files when no SMTP server is configured.` + cmdutil.ExitStatus(0, 1, 2, 3, 4, 5, 6),
		Example:           `  certctl resend-validation-email 3f2a1b9c --domain www.shop.example.com --validation-domain example.com`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Domain == "" || opts.ValidationDomain == "" {
				return usageErr("--domain and --validation-domain are required")
			}
			if runF != nil {
				return runF(opts)
			}
			return runResend(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Domain, "domain", "", "the certificate's `name` to validate")
	cmd.Flags().StringVar(&opts.ValidationDomain, "validation-domain", "", "the `domain` whose addresses receive the email")
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	return cmd
}

func runResend(ctx context.Context, o *ResendOptions) error {
	e, err := o.Factory.OpenEnv(ctx)
	if err != nil {
		return err
	}
	svc := NewService(e)
	var msgs []validation.Message
	err = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, o.ID)
		if err != nil {
			return err
		}
		msgs, err = svc.Resend(tx, id, o.Domain, o.ValidationDomain)
		return err
	})
	if err != nil {
		return cmdutil.VaultError(err)
	}
	if err := svc.Send(ctx, msgs); err != nil {
		return cmdutil.VaultError(fmt.Errorf("validation email not sent: %w", err))
	}
	out := ResendOutput{}
	for i, m := range msgs {
		if i == 0 {
			out = ResendOutput{CertificateArn: m.CertificateARN, DomainName: m.DomainName, ValidationDomain: m.ValidationDomain}
		}
		out.ValidationEmails = append(out.ValidationEmails, m.To)
	}
	if !o.Factory.Globals.Quiet && e.Cfg.SMTPAddr == "" {
		fmt.Fprintf(o.Factory.IO.ErrOut, "wrote %d messages to %s\n", len(msgs), OutboxDir(e.V.Dir))
	}
	return e.P.Print(out, output.View{
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
