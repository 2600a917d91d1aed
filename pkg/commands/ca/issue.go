package ca

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	caissue "github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/timeutil"
)

// IssueOptions are the inputs of `ca issue`.
type IssueOptions struct {
	IO          *iostreams.IOStreams
	Printer     func() (*output.Printer, error)
	Structured  func() bool
	Authorities func(context.Context) (*authorities.Service, error)

	CA       string
	CSRFile  string
	Template string
	Validity string

	// Duration is --validity parsed.
	Duration time.Duration
}

// NewCmdCaIssue builds `certctl ca issue`.
func NewCmdCaIssue(f *cmdutil.Factory, runF func(*IssueOptions) error) *cobra.Command {
	opts := &IssueOptions{IO: f.IO, Printer: f.Printer, Structured: f.StructuredOutput, Authorities: f.Authorities}
	cmd := &cobra.Command{
		Use:   "issue CA --csr FILE --template EndEntity|SubordinateCA|RootCA --validity 365d",
		Short: "Issue a certificate from a CSR (not managed by the inventory)",
		Long: `Sign a certificate signing request, as AWS Private CA's IssueCertificate: the CSR's
signature is checked first; EndEntity makes a CA:FALSE certificate whatever the
CSR asks, with the CSR's names; SubordinateCA makes a CA certificate. The
certificate is printed as PEM (-o json: {"Certificate","CertificateChain"}); it
is not part of the inventory and is not renewed.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca issue 5f2c9e01 --csr app.csr --template EndEntity --validity 90d > app.pem`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.CheckEnum("template", []string{opts.Template}, authority.Templates); err != nil {
				return err
			}
			if opts.CSRFile == "" || opts.Validity == "" {
				return errs.UsageErrorf("--csr and --validity are required")
			}
			d, err := timeutil.ParseDuration(opts.Validity)
			if err != nil || d <= 0 {
				return errs.UsageErrorf("--validity: invalid duration %q", opts.Validity)
			}
			opts.Duration = d
			if runF != nil {
				return runF(opts)
			}
			return runCaIssue(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA)
	cmd.Flags().StringVar(&opts.CSRFile, "csr", "", "certificate signing request (PEM or DER `file`)")
	cmd.Flags().StringVar(&opts.Template, "template", caissue.TemplateEndEntity, "EndEntity, SubordinateCA or RootCA")
	cmd.Flags().StringVar(&opts.Validity, "validity", "", "validity `duration` (e.g. 365d)")
	cmdutil.EnumCompletion(cmd, "template", authority.Templates)
	return cmd
}

func runCaIssue(ctx context.Context, o *IssueOptions) error {
	csrPEM, err := cmdutil.ReadFileArg(o.IO, o.CSRFile)
	if err != nil {
		return &errs.Error{Exit: errs.ExitInvalid, Err: err}
	}
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	issued, err := svc.Issue(ctx, o.CA, csrPEM, o.Template, o.Duration)
	if err != nil {
		return err
	}
	return printPEM(p, o.IO.Out, o.Structured(), issued, issued.Certificate)
}
