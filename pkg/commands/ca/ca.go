// Package ca implements the `certctl ca` command group: the vault's
// certificate authorities (the AWS Private CA analogue). Each verb is one
// file with its XOptions, NewCmdCaX and runCaX; the rules and transactions
// are pkg/service/authorities'.
package ca

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/authorities"
)

// NewCmdCA builds `certctl ca`.
func NewCmdCA(f *cmdutil.Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca <command>",
		Short: "Manage the vault's certificate authorities (private CA)",
		Long: `Create and run private certificate authorities, as AWS Private CA does: ROOT CAs,
SUBORDINATE CAs signed by a parent in the vault or by an external CA (ca csr,
then ca import-certificate), certificates issued from CSRs (ca issue), CRLs
(ca crl) and an OCSP/CRL responder (ca serve).

The vault also has a default private CA (a root and an issuing subordinate,
created on first use: ` + "`certctl request --certificate-authority-arn default`" + `) and a
built-in public-style hierarchy for domain-validated and ACME certificates.
` + "`certctl ca trust-bundle`" + ` prints every root to trust.`,
		Args: cmdutil.GroupArgs,
		RunE: cmdutil.GroupRunE,
	}
	cmd.AddCommand(NewCmdCaCreate(f, nil), NewCmdCaList(f, nil), NewCmdCaTrustBundle(f, nil), NewCmdCaServe(f, nil),
		NewCmdCaDescribe(f, nil), NewCmdCaCSR(f, nil), NewCmdCaImportCertificate(f, nil), NewCmdCaIssue(f, nil),
		NewCmdCaUpdate(f, nil), NewCmdCaDelete(f, nil), NewCmdCaRestore(f, nil), NewCmdCaCRL(f, nil))
	cmd.AddCommand(NewCmdCaImport(f, nil), NewCmdCaGetCertificate(f, nil), NewCmdCaGetCACertificate(f, nil),
		NewCmdCaRevokeCertificate(f, nil), NewCmdCaAuditReport(f, nil))
	return cmd
}

// open returns what a verb's run needs: the printer first, so that a bad
// -o is a usage error before the vault is opened, then the service.
func open(ctx context.Context, printer func() (*output.Printer, error),
	svc func(context.Context) (*authorities.Service, error)) (*output.Printer, *authorities.Service, error) {
	p, err := printer()
	if err != nil {
		return nil, nil, err
	}
	s, err := svc(ctx)
	if err != nil {
		return nil, nil, err
	}
	return p, s, nil
}

// caArg makes cmd take its CA as the one positional argument or, as AWS
// Private CA's CLI does, as --certificate-authority-arn, into *dst;
// completion offers the CAs keep accepts (nil: every CA), and "default".
func caArg(f *cmdutil.Factory, cmd *cobra.Command, dst *string, keep cmdutil.CAFilter) {
	cmd.Args = cmdutil.IDArg(dst, "certificate-authority-arn", "CA")
	cmd.ValidArgsFunction = f.CompleteCA(cmdutil.CAChoice{Keep: keep, Default: true}) // `ca crl default` (newcomer tester)
	cmdutil.IDAliasFlag(cmd, dst, "certificate-authority-arn", "the ca (alias of the positional argument)")
}

// printPEM prints pemText as is, or data in the JSON form when the user
// asked for -o json or -o yaml or gave a --query (structured: see
// cmdutil.Factory.StructuredOutput).
func printPEM(p *output.Printer, out io.Writer, structured bool, data any, pemText string) error {
	if structured {
		return p.Print(data, output.View{})
	}
	_, err := io.WriteString(out, pemText)
	return err
}

// printARN prints {"CertificateAuthorityArn": ...} with print: the
// printer's Print when the ARN is what was asked for (a CA created or
// imported), its Acknowledge when it only confirms a change (-q silences
// it).
func printARN(print func(any, output.View) error, verb, a string) error {
	return print(map[string]string{"CertificateAuthorityArn": a}, output.View{
		Table:   func(*output.Styles) *output.Table { return &output.Table{Rows: [][]string{{verb, a}}} },
		Records: func() [][]string { return [][]string{{a}} },
	})
}

func caRow(s *output.Styles, d authorities.Description) []string {
	status := s.Status(d.Status)
	if d.SigningBlocked != "" {
		// A person reading the table sees why it refuses to issue in
		// ca describe; -o text keeps the status alone, as AWS names it.
		status += " (signs nothing)"
	}
	return []string{idOf(d.Arn), d.Type, status, output.Sanitize(d.CertificateAuthorityConfiguration.Subject.CommonName),
		d.CertificateAuthorityConfiguration.KeyAlgorithm, notAfter(d)}
}

func caRecord(d authorities.Description) []string {
	return []string{d.Arn, d.Type, d.Status, d.CertificateAuthorityConfiguration.Subject.CommonName,
		d.CertificateAuthorityConfiguration.KeyAlgorithm, notAfter(d)}
}

func notAfter(d authorities.Description) string {
	if d.NotAfter == nil {
		return ""
	}
	return d.NotAfter.String()
}

func idOf(a string) string { return output.ShortID(a) }

// Deps are what every ca verb takes from the factory, as functions that
// tests replace: the streams, the printer, whether output is structured
// (-o json|yaml|text), and the authorities service.
type Deps struct {
	IO          *iostreams.IOStreams
	Printer     func() (*output.Printer, error)
	Structured  func() bool
	Authorities func(context.Context) (*authorities.Service, error)
}

func newDeps(f *cmdutil.Factory) Deps {
	return Deps{IO: f.IO, Printer: f.Printer, Structured: f.StructuredOutput, Authorities: f.Authorities}
}
