package ca

import (
	"context"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/service/authorities"
	"github.com/certctl/certctl/pkg/timeutil"
)

// IssueOptions are the inputs of `ca issue`.
type IssueOptions struct {
	Deps

	CA                string
	CSRFile           string
	Template          string
	Validity          string
	ValidityNotBefore string
	APIPassthrough    string
	SigningAlgorithm  string

	// Parsed: the template's AWS Private CA name, --validity and
	// --validity-not-before.
	TemplateName string
	Period       timeutil.Validity
	NotBefore    time.Time
}

// NewCmdCaIssue builds `certctl ca issue`.
func NewCmdCaIssue(f *cmdutil.Factory, runF func(*IssueOptions) error) *cobra.Command {
	opts := &IssueOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "issue CA --csr FILE [--template NAME|ARN] --validity 365d|DATE|Value=N,Type=T [--signing-algorithm ALG]",
		Short: "Issue a certificate from a CSR (not managed by the inventory)",
		Long: `Sign a certificate signing request, as AWS Private CA's IssueCertificate: the CSR's
signature is checked first, then the template decides the extensions. Templates, by AWS Private CA name (the version may follow:
EndEntityCertificate/V1) or template ARN (arn:aws:acm-pca:::template/<Name>/V1):

  EndEntityCertificate (alias EndEntity)  TLS server and client: serverAuth, clientAuth
  EndEntityServerAuthCertificate          serverAuth
  EndEntityClientAuthCertificate          clientAuth (people, workloads)
  CodeSigningCertificate                  codeSigning (critical)
  OCSPSigningCertificate                  OCSPSigning (critical)
  SubordinateCACertificate_PathLen0..3    a CA certificate, path length 0..3
                                          (alias SubordinateCA = PathLen0)
  RootCACertificate (alias RootCA)        a ROOT CA re-signing its own key
  EndEntityCertificate_CSRPassthrough     EndEntity, plus the CSR's other extensions
  BlankEndEntityCertificate_APIPassthrough  CA:FALSE, and what --api-passthrough says

AWS Private CA's other variants (<Template>_APIPassthrough, _APICSRPassthrough,
the other _CSRPassthrough and Blank… templates) are not supported: refused
(exit 2) naming the template to use instead.

The CSR's DNS, IP, email and URI subject alternative names are carried (a
URI's host must be a fully qualified domain name or an IP address). The
server templates (EndEntity, EndEntityServerAuth) carry DNS and IP names only
and want a CN that is a host name; the others take any CN (CN=Alice Smith).
A subject has one CN at most, never an empty one (two CNs, or an empty CN or
O, are refused, exit 4: give the other names as subject alternative names).
A name a template cannot carry is refused (exit 4) and named, never dropped; a
name outside the CA's name constraints is refused (exit 5). A CA template
signing the CSR of a CA of the vault (ca csr: one waiting for its certificate,
or renewed) puts that CA's --name-constraints in, critical.

So is any other extension the CSR asks for that the certificate would not
carry (exit 4, named, with a template that would): key usage bits and extended
key usages the template does not grant (extendedKeyUsage=codeSigning under
EndEntity: use CodeSigningCertificate), basicConstraints CA:TRUE under an
end-entity template or CA:FALSE under a CA one, a CA path length longer than
the template's, and any other extension (TLS Feature/must-staple, custom OIDs:
use EndEntityCertificate_CSRPassthrough, which copies them). A subject key
identifier the CSR asks for is carried by an end-entity certificate; a CA
certificate carries its key's own, and a CSR asking for another is refused.

--validity is a duration (90d, 12h), an RFC 3339 end (2027-06-30T00:00:00Z), or
AWS Private CA's Value=N,Type=DAYS|MONTHS|YEARS|ABSOLUTE|END_DATE (ABSOLUTE: Unix
seconds; END_DATE: YYYYMMDDHHMMSS), counted from now, as AWS Private CA counts
it; --validity-not-before (an RFC 3339 time or Value=N,Type=ABSOLUTE) moves only
the start (default: a minute before the signing, for clocks a little behind).
--signing-algorithm (SHA256WITHECDSA, SHA384WITHRSA, …; aws acm-pca
issue-certificate's, which requires it) signs with that algorithm, which must be
of the family of the CA's key (exit 4 otherwise); without it the CA signs as
ca create set it. --template-arn is another name of --template.
--api-passthrough is AWS Private CA's ApiPassthrough
JSON (inline or file://F): {"Extensions":{"KeyUsage","ExtendedKeyUsage",
"SubjectAlternativeNames","CustomExtensions","CertificatePolicies"},"Subject":{…}}.

The certificate is printed as PEM (-o json: {"CertificateArn","Certificate",
"CertificateChain"}, the ARN naming it for ca get-certificate and revoke-certificate); it
is not part of the inventory and is not renewed.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl ca issue 5f2c9e01 --csr app.csr --template EndEntity --validity 90d > app.pem
  certctl ca issue 5f2c9e01 --csr alice.csr --template EndEntityClientAuthCertificate --validity Value=3,Type=MONTHS
  certctl ca issue 5f2c9e01 --csr dev.csr --template arn:aws:acm-pca:::template/CodeSigningCertificate/V1 --validity 2027-06-30T00:00:00Z
  certctl ca issue 5f2c9e01 --csr card.csr --template BlankEndEntityCertificate_APIPassthrough --validity 1y \
    --api-passthrough '{"Extensions":{"KeyUsage":{"DigitalSignature":true},"ExtendedKeyUsage":[{"ExtendedKeyUsageType":"SMART_CARD_LOGIN"}]}}'`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parse(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runCaIssue(cmd.Context(), opts)
		},
	}
	caArg(f, cmd, &opts.CA, cmdutil.CAPrivateIssuer) // an ACTIVE private CA issues
	fl := cmd.Flags()
	fl.StringVar(&opts.CSRFile, "csr", "", "certificate signing request (PEM or DER `file`)")
	_ = cmd.MarkFlagFilename("csr")
	fl.StringVar(&opts.Template, "template", casign.TemplateEndEntity, "template `name` or ARN (see above)")
	fl.StringVar(&opts.Validity, "validity", "", "validity: `duration`, RFC 3339 end, or Value=N,Type=DAYS|MONTHS|YEARS|ABSOLUTE|END_DATE")
	fl.StringVar(&opts.ValidityNotBefore, "validity-not-before", "", "start: RFC 3339 `time` or Value=N,Type=ABSOLUTE (default: a minute before the signing)")
	fl.StringVar(&opts.APIPassthrough, "api-passthrough", "", "ApiPassthrough `JSON` or file://F (BlankEndEntityCertificate_APIPassthrough)")
	_ = cmd.RegisterFlagCompletionFunc("api-passthrough", cmdutil.CompleteFileURL)
	fl.StringVar(&opts.SigningAlgorithm, "signing-algorithm", "", "sign with this `algorithm`, of the CA key's family (default: the CA's, as ca create set it)")
	cmdutil.EnumCompletion(cmd, "template", authority.Templates)
	cmdutil.EnumCompletion(cmd, "signing-algorithm", casign.SigningAlgorithms)
	cmdutil.FlagAliases(cmd, map[string]string{"template-arn": "template"}) // aws acm-pca issue-certificate's name
	return cmd
}

// parse checks the flags (exit 2: a template unknown, a validity
// unreadable, a flag missing or not taken by the template).
func (o *IssueOptions) parse() error {
	name, err := casign.CanonicalTemplate(o.Template)
	if err != nil {
		return errs.UsageErrorf("--template: %s", err).
			WithHint("one of: %s, or arn:aws:acm-pca:::template/<Name>/V1", strings.Join(authority.Templates, ", "))
	}
	o.TemplateName = name
	if err := cmdutil.RequireFlags("csr", o.CSRFile, "validity", o.Validity); err != nil {
		return err
	}
	if o.Period, err = timeutil.ParseValidity(o.Validity); err != nil {
		return errs.UsageErrorf("--validity: %v", err)
	}
	if o.ValidityNotBefore != "" {
		if o.NotBefore, err = timeutil.ParseNotBefore(o.ValidityNotBefore); err != nil {
			return errs.UsageErrorf("--validity-not-before: %v", err)
		}
	}
	if o.SigningAlgorithm != "" {
		if err := cmdutil.CheckEnum("signing-algorithm", []string{o.SigningAlgorithm}, casign.SigningAlgorithms); err != nil {
			return err
		}
	}
	if o.APIPassthrough != "" && name != casign.PCABlankAPIPassthrough {
		return errs.UsageErrorf("--api-passthrough is taken by the %s template only, not %s", casign.PCABlankAPIPassthrough, name)
	}
	return nil
}

func runCaIssue(ctx context.Context, o *IssueOptions) error {
	csrPEM, err := cmdutil.ReadFileArg(o.IO, "csr", o.CSRFile)
	if err != nil {
		return err
	}
	req := authorities.IssueRequest{CSR: csrPEM, CSRFile: cmdutil.FileArgName(o.CSRFile), Template: o.TemplateName, Validity: o.Period, NotBefore: o.NotBefore,
		SigningAlgorithm: o.SigningAlgorithm}
	if o.APIPassthrough != "" {
		data, err := readJSONArg(o.IO, "api-passthrough", o.APIPassthrough)
		if err != nil {
			return err
		}
		if req.Passthrough, err = casign.ParseAPIPassthrough(data); err != nil {
			return errs.Invalidf("--api-passthrough: %s", strings.TrimPrefix(err.Error(), "API passthrough: "))
		}
	}
	p, svc, err := open(ctx, o.Printer, o.Authorities)
	if err != nil {
		return err
	}
	issued, err := svc.Issue(ctx, o.CA, req)
	if err != nil {
		return err
	}
	return printPEM(p, o.IO.Out, o.Structured(), issued, issued.Certificate)
}

// readJSONArg reads a JSON argument given inline or as a file (file://F,
// a path, or - for stdin); exit 4 when it cannot be read. Inline is what
// starts as JSON does ({, [, ") or is null: the parser then says what
// it should have been, not that no such file exists.
func readJSONArg(io *iostreams.IOStreams, flag, arg string) ([]byte, error) {
	if t := strings.TrimSpace(arg); strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") || strings.HasPrefix(t, `"`) || t == "null" {
		return []byte(t), nil
	}
	return cmdutil.ReadFileArg(io, flag, arg)
}
