// Package request implements `certctl request`.
package request

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/x509util"
)

// RequestOptions are the inputs of request: its dependencies, as functions
// that tests replace, and its flag values.
type RequestOptions struct {
	IO           *iostreams.IOStreams
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)
	// Quiet is the global -q: no hints, no spinner.
	Quiet func() bool

	DomainName       string
	SANs             []string
	ValidationMethod string
	DVOptions        []string
	KeyAlgorithm     string
	CA               string
	CertOptions      []string
	IdempotencyToken string
	Tags             []string
	Wait             bool
	Timeout          string
}

// Result is request's JSON form.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
}

// ValidationMethods are the methods of ISSUED-type requests.
var ValidationMethods = []string{"DNS", "EMAIL", "HTTP"}

// NewCmdRequest builds `certctl request`.
func NewCmdRequest(f *cmdutil.Factory, runF func(*RequestOptions) error) *cobra.Command {
	opts := &RequestOptions{IO: f.IO, Printer: f.Printer, Certificates: f.Certificates,
		Quiet: func() bool { return f.Globals.Quiet }}
	cmd := &cobra.Command{
		Use:   "request --domain-name NAME [--subject-alternative-names NAME...] [--certificate-authority-arn CA|default]",
		Short: "Request a certificate: private (issued at once) or domain-validated",
		Long: `Request a certificate whose key pair certctl generates and keeps, sealed, in the
vault (export it with ` + "`certctl export`" + `).

With --certificate-authority-arn (a private CA of the vault, or the word default
for the vault's default private CA, created on first use) the certificate is a
PRIVATE certificate, issued at once: X.509 v3, every name in the SAN, serverAuth
and clientAuth, valid for certificate_validity (default 395d) but never beyond
the CA (PCA_INVALID_DURATION, exit 5). A DISABLED or deleted CA refuses
(PCA_INVALID_STATE, exit 5).

Without it the certificate is ISSUED-type (domain-validated): PENDING_VALIDATION
until every name is validated by --validation-method DNS (default), EMAIL or
HTTP (see certctl validate; --domain-validation-options DomainName=D,ValidationDomain=V
sends D's approval email to a superdomain V), then issued by the vault's
built-in public-style CA (serverAuth only; the key is exportable only with
--options Export=ENABLED). --wait waits for it (exit 8 after --timeout).

Names must be DNS names (exit 4 otherwise): the first is the Common Name (at
most 64 octets), every name is in the SAN, a wildcard only as the whole
leftmost label, punycode (xn--) for international names, at most
quotas.domains_per_certificate names (default 10).

As in ACM, some requests are recorded with a certificate that FAILED rather
than refused: a name the CA's name constraints forbid (DOMAIN_NOT_ALLOWED), or,
for EMAIL, a name with no address that can receive validation email
(NO_AVAILABLE_CONTACTS: its mail domain is a public suffix, or the addresses
would be too long). The ARN is printed, describe shows the FailureReason, the
request exits 5, and audit list shows it as a RequestCertificate FAILURE with
the FailureReason as its ErrorCode.

The same --idempotency-token with the same arguments within an hour returns
the same ARN, answered as the first request was: a request whose certificate
FAILED at once exits 5 again with its FailureReason; one whose certificate
ended later (FAILED in validation, VALIDATION_TIMED_OUT) had succeeded and
exits 0 again, saying on stderr what became of it (describe shows its
Status and FailureReason).` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6, 8),
		Example: `  certctl request --domain-name app.internal --certificate-authority-arn default
  certctl request --domain-name www.example.test --subject-alternative-names example.test \
      --certificate-authority-arn 5f2c9e01 --key-algorithm EC_prime256v1 --tags env=prod
  ARN=$(certctl request --domain-name db.internal --certificate-authority-arn default -o text)`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if _, _, err := opts.Input(); err != nil {
				return err
			}
			if opts.CA != "" {
				// A PRIVATE certificate is not domain-validated: these
				// would be ignored (tester).
				for _, n := range []string{"validation-method", "domain-validation-options"} {
					if cmd.Flags().Changed(n) {
						return errs.UsageErrorf("--%s applies to domain-validated requests: a PRIVATE certificate (--certificate-authority-arn) is not validated", n)
					}
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runRequest(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&opts.DomainName, "domain-name", "", "the certificate's first `name` (its Common Name)")
	// A string array, split by SplitListFlag as every list flag is: a
	// string slice took --subject-alternative-names "" (a script's empty
	// $SANS) for no value, where an empty item is refused (review).
	fl.StringArrayVar(&opts.SANs, "subject-alternative-names", nil, "more `names` (repeatable or comma-separated)")
	fl.StringVar(&opts.ValidationMethod, "validation-method", "DNS", "DNS, EMAIL or HTTP (domain-validated requests)")
	fl.StringArrayVar(&opts.DVOptions, "domain-validation-options", nil, "DomainName=D,ValidationDomain=V (repeatable)")
	fl.StringVar(&opts.KeyAlgorithm, "key-algorithm", x509util.RSA2048, "RSA_2048, EC_prime256v1 or EC_secp384r1")
	fl.StringVar(&opts.CA, "certificate-authority-arn", "", "issue a PRIVATE certificate from this `CA` (ARN, UUID, prefix or default)")
	fl.StringArrayVar(&opts.CertOptions, "options", nil, "Export=ENABLED|DISABLED,CertificateTransparencyLoggingPreference=ENABLED|DISABLED (repeatable: the keys merge)")
	fl.StringVar(&opts.IdempotencyToken, "idempotency-token", "", "return the same certificate for repeated requests within an hour (printable ASCII, at most 64 characters)")
	fl.StringArrayVar(&opts.Tags, "tags", nil, "tag as `Key=K,Value=V` or K=V (repeatable)")
	fl.BoolVar(&opts.Wait, "wait", false, "wait until the certificate is issued or fails")
	fl.StringVar(&opts.Timeout, "timeout", "10m", "how long --wait waits (a `duration`: 90s, 10m, 1h)")
	_ = cmd.MarkFlagRequired("domain-name")
	cmdutil.EnumCompletion(cmd, "validation-method", ValidationMethods)
	cmdutil.EnumCompletion(cmd, "key-algorithm", x509util.RequestKeyAlgorithms)
	cmdutil.EnumCompletion(cmd, "options", inventory.OptionPairs())
	_ = cmd.RegisterFlagCompletionFunc("certificate-authority-arn", f.CompleteCAFlag(cmdutil.CAChoice{Keep: cmdutil.CAPrivateIssuer, Default: true}))
	cmdutil.MarkNonEmpty(fl, "certificate-authority-arn", "a certificate validated by domain, as ACM's public ones")
	cmdutil.MarkNonEmpty(fl, "idempotency-token", "a new certificate at every request")
	return cmd
}

// Input checks the flag values and returns the service request they make
// and, with --wait, how long to wait. Errors are usage errors (exit 2); the
// names are checked by the service (exit 4).
func (o *RequestOptions) Input() (certificates.RequestInput, time.Duration, error) {
	in := certificates.RequestInput{
		DomainName:           o.DomainName,
		KeyAlgorithm:         o.KeyAlgorithm,
		CertificateAuthority: o.CA,
		ValidationMethod:     o.ValidationMethod,
		IdempotencyToken:     o.IdempotencyToken,
	}
	if err := cmdutil.CheckEnum("key-algorithm", []string{o.KeyAlgorithm}, x509util.RequestKeyAlgorithms); err != nil {
		return in, 0, err
	}
	if err := cmdutil.CheckEnum("validation-method", []string{in.ValidationMethod}, ValidationMethods); err != nil {
		return in, 0, err
	}
	var err error
	if in.Export, in.CTLogging, err = inventory.ParseOptions(strings.Join(o.CertOptions, ",")); err != nil {
		return in, 0, err
	}
	if in.Tags, err = inventory.ParseTags(o.Tags); err != nil {
		return in, 0, err
	}
	// An empty name is a name refused, as the service refuses b..example
	// (exit 4).
	if in.SubjectAlternativeNames, err = cmdutil.SplitListFlag("subject-alternative-names", o.SANs, errs.ExitInvalid); err != nil {
		return in, 0, err
	}
	var timeout time.Duration
	if o.CA == "" {
		// Domain validation options and --wait concern ISSUED-type
		// requests only.
		for _, s := range o.DVOptions {
			opt, err := validation.ParseDomainValidationOption(s)
			if err != nil {
				return in, 0, errs.UsageErrorf("--domain-validation-options: %v", err)
			}
			in.DomainValidationOptions = append(in.DomainValidationOptions, opt)
		}
		if o.Wait {
			d, err := cmdutil.PositiveDuration("timeout", o.Timeout)
			if err != nil {
				return in, 0, err
			}
			timeout = d
		}
	}
	return in, timeout, nil
}

func runRequest(ctx context.Context, o *RequestOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	in, timeout, err := o.Input()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	res, err := svc.Request(ctx, in)
	if err != nil {
		return err
	}
	arnStr := res.CertificateArn
	if res.Failed != nil {
		// Recorded, as ACM records it, but FAILED: the ARN is printed
		// (describe shows the FailureReason) and the request exits 5.
		if err := p.Print(Result{CertificateArn: arnStr}, output.View{
			Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Failed", arnStr}}} },
			Records: func() [][]string { return [][]string{{arnStr}} },
		}); err != nil {
			return err
		}
		return res.Failed
	}
	stderr, quiet, id := o.IO.ErrOut, o.Quiet(), res.ID
	// A retry (the same --idempotency-token) is answered as the first
	// request was, on stdout and by its exit; a certificate that has
	// moved on since (ended in validation, issued, revoked) is told on
	// stderr, in place of advice about a validation no longer pending.
	moved := res.Moved
	if moved && !quiet && !o.Wait {
		status := res.Status
		if res.FailureReason != "" {
			status += " (" + res.FailureReason + ")"
		}
		fmt.Fprintf(stderr, "certificate %s was requested before with this idempotency token; it is now %s (`certctl describe %s`)\n", id, status, id)
	}
	if res.Type == inventory.TypePrivate {
		return p.Print(Result{CertificateArn: arnStr}, output.View{
			Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Issued", arnStr}}} },
			Records: func() [][]string { return [][]string{{arnStr}} },
		})
	}
	switch {
	case res.MailError != nil:
		fmt.Fprintf(stderr, "certctl: warning: the validation email could not be sent: %v\n", res.MailError)
		fix := "fix the smtp.* settings"
		if res.Outbox != "" {
			fix = "fix what kept it from the outbox (" + res.Outbox + ")"
		}
		fmt.Fprintf(stderr, "hint: %s, then run `certctl resend-validation-email %s --domain NAME --validation-domain DOMAIN`\n", fix, id)
	case !quiet && res.Messages > 0 && res.Outbox != "":
		fmt.Fprintf(stderr, "no smtp.addr configured: wrote %s to %s\n", output.Count(res.Messages, "validation message"), res.Outbox)
	}
	if !quiet && !o.Wait && !moved {
		switch res.ValidationMethod {
		case validation.MethodDNS:
			fmt.Fprintf(stderr, "create the CNAME records (`certctl describe %s --validation-records bind`), then run `certctl validate check %s`\n", id, id)
		case validation.MethodHTTP:
			fmt.Fprintf(stderr, "redirect each RedirectFrom to its RedirectTo (`certctl describe %s`), run `certctl validate serve-http`, then `certctl validate check %s`\n", id, id)
		}
	}
	if err := p.Print(Result{CertificateArn: arnStr}, output.View{
		Table:   func(s *output.Styles) *output.Table { return &output.Table{Rows: [][]string{{"Requested", arnStr}}} },
		Records: func() [][]string { return [][]string{{arnStr}} },
	}); err != nil {
		return err
	}
	if !o.Wait {
		return nil
	}
	var sp *iostreams.Spinner
	if !quiet {
		sp = o.IO.StartSpinner("waiting for domain validation")
	}
	defer sp.Stop()
	return svc.WaitIssued(ctx, id, timeout, sp.Set)
}
