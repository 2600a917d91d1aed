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

	ID    string
	Yes   bool
	Force bool
}

// Output is delete's JSON form.
type Output struct {
	CertificateArn string `json:"CertificateArn"`
	Deleted        bool   `json:"Deleted"`
}

// NewCmdDelete builds `certctl delete`.
func NewCmdDelete(f *cmdutil.Factory, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: f.IO, Printer: f.Printer, Certificates: f.Certificates}
	cmd := &cobra.Command{
		Use:   "delete ARN",
		Short: "Delete a certificate, its versions and its private key",
		Long: `Delete a certificate with every version and its sealed private key. This is the
only way data leaves the vault, and it cannot be undone.

On a terminal certctl asks for confirmation; --yes skips the question. A
certificate that is in use (deployed, see InUseBy) is refused (exit 5) unless
--force is given.` + cmdutil.ExitStatus(0, 2, 3, 5, 6),
		Example: `  certctl delete 3f2a1b9c
  certctl delete 3f2a1b9c --yes --force`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runDelete(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Yes, "yes", "y", false, "do not ask for confirmation")
	cmd.Flags().BoolVar(&opts.Force, "force", false, "delete even if the certificate is in use")
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN, as in the AWS CLI)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
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
	var confirm func(certificates.Deletion) error
	if !o.Yes && o.IO.CanPrompt() {
		confirm = o.confirm
	}
	arnStr, err := svc.Delete(ctx, o.ID, o.Force, confirm)
	if err != nil {
		return err
	}
	return p.Print(Output{CertificateArn: arnStr, Deleted: true}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Deleted", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	})
}

// confirm asks on the terminal; anything but y or yes keeps the certificate.
func (o *DeleteOptions) confirm(d certificates.Deletion) error {
	return cmdutil.Confirm(o.IO, "not deleted", "Delete certificate %s (%s) and its private key? This cannot be undone.",
		d.ID, output.Sanitize(d.DomainName))
}
