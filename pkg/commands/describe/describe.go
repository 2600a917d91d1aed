// Package describe implements `certctl describe`.
package describe

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/timeutil"
)

// DescribeOptions are the inputs of describe: its dependencies, as
// functions that tests replace, and its flag values.
type DescribeOptions struct {
	IO           *iostreams.IOStreams
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)
	// Structured tells whether the user asked for -o json|yaml or a
	// --query (which wrap --pem's PEM).
	Structured func() bool

	ID       string
	Versions bool
	PEM      bool
	// ValidationRecords is the format of --validation-records.
	ValidationRecords string
	// Output is the -o given ("" when none), Query whether a --query
	// was: with --validation-records, see checkRecordsFlag.
	Output string
	Query  bool
}

// Output is describe's JSON form.
type Output struct {
	Certificate inventory.Detail `json:"Certificate"`
}

// NewCmdDescribe builds `certctl describe`.
func NewCmdDescribe(f *cmdutil.Factory, runF func(*DescribeOptions) error) *cobra.Command {
	opts := &DescribeOptions{IO: f.IO, Printer: f.Printer, Certificates: f.Certificates,
		Structured: f.StructuredOutput}
	cmd := &cobra.Command{
		Use:   "describe ARN",
		Short: "Show a certificate's details",
		Long: `Show everything the vault knows about a certificate, with the field names of
ACM's DescribeCertificate: names, validation state, serial, subject and issuer,
status, validity, key and signature algorithms, key usages, renewal state, tags.
The table also says why a managed renewal failed ("Renewal error") and names
each deploy target whose last install or command failed ("Deploy failed", as
the dashboard lists it); the JSON keeps ACM's fields.

--versions adds every version of the certificate (reimports, renewals).
--pem prints the certificate and its chain as PEM instead (on a terminal or
not; -o json wraps them in {"Certificate","CertificateChain"}).
--validation-records bind|csv|json|route53 prints the DNS validation records
to create (route53: a change batch for aws route53 change-resource-record-sets).
The records have formats of their own: -o json prints the json or route53
records as they are, -o yaml the same data in YAML; with bind or csv, -o json
or -o yaml is refused (exit 2: --validation-records json is the records as
JSON), as are -o table and -o text, but to format what a --query picks.` + cmdutil.ExitStatus(0, 2, 3, 4, 5, 6),
		Example: `  certctl describe 3f2a1b9c
  certctl describe arn:certctl:acm:local:000000000000:certificate/3f2a1b9c-... --versions
  certctl describe 3f2a1b9c --pem > fullchain.pem
  certctl describe 3f2a1b9c --query Certificate.NotAfter -o text`,
		Args:              cmdutil.IDArg(&opts.ID, "certificate-arn", "ARN"),
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Output, opts.Query = f.Globals.Output, f.Globals.Query != ""
			if err := checkRecordsFlag(opts); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runDescribe(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Versions, "versions", false, "include every version of the certificate")
	cmd.Flags().BoolVar(&opts.PEM, "pem", false, "print the certificate and chain as PEM")
	cmd.Flags().StringVar(&opts.ValidationRecords, "validation-records", "", "print the DNS validation records to create: bind, csv, json or route53")
	cmdutil.EnumCompletion(cmd, "validation-records", RecordFormats)
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN)")
	return cmd
}

func runDescribe(ctx context.Context, o *DescribeOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	switch {
	case o.ValidationRecords != "":
		isJSON := o.ValidationRecords == "json" || o.ValidationRecords == "route53"
		if !isJSON {
			if err := p.RefuseQuery("--validation-records " + o.ValidationRecords); err != nil {
				return err
			}
		}
		recs, err := svc.ValidationRecords(ctx, o.ID)
		if err != nil {
			return err
		}
		if isJSON && (p.HasQuery() || o.Output == "yaml") {
			// --query picks from the document itself, printed as -o
			// asks (JSON without one); -o yaml is the document in YAML.
			if o.Output == "" {
				p.Format = "json"
			}
			return p.Print(validationRecordsJSON(recs, o.ValidationRecords), output.View{})
		}
		return writeValidationRecords(o.IO.Out, recs, o.ValidationRecords)
	case o.PEM:
		out, err := svc.GetCertificate(ctx, o.ID)
		if err != nil {
			return err
		}
		// PEM is printed whether or not stdout is a terminal (SPEC section
		// 3): only an explicit -o json|yaml, or a --query, wraps it.
		if o.Structured() {
			return p.Print(out, output.View{})
		}
		_, err = io.WriteString(o.IO.Out, out.Certificate+out.CertificateChain)
		return err
	}
	d, err := svc.Describe(ctx, o.ID, o.Versions)
	if err != nil {
		return err
	}
	return p.Print(Output{Certificate: d.Certificate}, view(d))
}

func view(desc *certificates.Description) output.View {
	d, now := desc.Certificate, desc.AsOf
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{}
			// add takes text that may have come from outside (names,
			// subject, tags) and sanitises it; addStyled takes a value
			// built from sanitised parts and styles.
			addStyled := func(k, v string) {
				if v != "" {
					t.Rows = append(t.Rows, []string{k, v})
				}
			}
			add := func(k, v string) { addStyled(k, output.Sanitize(v)) }
			ts := timestamp
			add("ARN", d.CertificateArn)
			add("Domain", d.DomainName)
			add("Names", strings.Join(d.SubjectAlternativeNames, ", "))
			addStyled("Status", s.Status(d.Status))
			add("Type", d.Type)
			add("Key origin", d.KeyPairOrigin)
			add("Key algorithm", d.KeyAlgorithm)
			add("Signature", d.SignatureAlgorithm)
			add("Serial", d.Serial)
			add("Subject", d.Subject)
			add("Issuer", d.Issuer)
			add("Not before", ts(d.NotBefore))
			if d.NotAfter != nil {
				rel := timeutil.Relative(time.Time(*d.NotAfter), now)
				addStyled("Not after", ts(d.NotAfter)+"  "+s.Dim("("+rel+")"))
			}
			add("Created", ts(d.CreatedAt))
			add("Issued", ts(d.IssuedAt))
			add("Imported", ts(d.ImportedAt))
			add("Revoked", strings.TrimSpace(ts(d.RevokedAt)+" "+d.RevocationReason))
			add("Failure", d.FailureReason)
			var ku []string
			for _, k := range d.KeyUsages {
				ku = append(ku, k.Name)
			}
			add("Key usages", strings.Join(ku, ", "))
			var eku []string
			for _, e := range d.ExtendedKeyUsages {
				eku = append(eku, e.Name)
			}
			add("Extended key usages", strings.Join(eku, ", "))
			addStyled("Renewal", s.Status(d.RenewalEligibility))
			if d.RenewalSummary != nil {
				addStyled("Renewal status", s.Status(d.RenewalSummary.RenewalStatus)+" "+output.Sanitize(d.RenewalSummary.RenewalStatusReason))
			}
			// Why, in words (tester: only the code was shown).
			add("Renewal error", desc.RenewalMessage)
			add("Exported", fmt.Sprint(d.Exported))
			add("In use by", strings.Join(d.InUseBy, ", "))
			// A target whose install or command failed (tester: only the
			// dashboard and the metrics told it; InUseBy looked fine).
			for _, f := range desc.DeployFailures {
				line := output.Sanitize(f.Target + ": " + f.Reason)
				if f.FailedAt != nil {
					line += "  " + s.Dim("("+ts(f.FailedAt)+")")
				}
				addStyled("Deploy failed", s.Status("FAILED")+" "+line)
			}
			add("CA", d.CertificateAuthorityArn)
			add("ACME endpoint", d.AcmeEndpointArn)
			var tags []string
			for _, tg := range d.Tags {
				tags = append(tags, inventory.TagString(tg))
			}
			add("Tags", strings.Join(tags, ", "))
			for _, dv := range d.DomainValidationOptions {
				line := s.Status(dv.ValidationStatus) + " " + dv.ValidationMethod
				if dv.ResourceRecord != nil {
					line += "  " + output.Sanitize(dv.ResourceRecord.Name+" "+dv.ResourceRecord.Type+" "+dv.ResourceRecord.Value)
				}
				addStyled("Validation "+output.Sanitize(dv.DomainName), line)
			}
			for _, ver := range d.Versions {
				cur := ""
				if ver.Current {
					cur = " (current)"
				}
				add(fmt.Sprintf("Version %d", ver.VersionNumber), ver.Serial+"  "+ts(ver.NotBefore)+" → "+ts(ver.NotAfter)+cur)
			}
			return t
		},
		Records: func() [][]string {
			recs := [][]string{{d.CertificateArn, d.DomainName, d.Status, d.Type, d.KeyAlgorithm, timestamp(d.NotAfter), d.Serial}}
			// --versions: a line per version after the certificate's,
			// led by VERSION, as the AWS CLI's text output leads a nested
			// list's lines with its name.
			for _, ver := range d.Versions {
				recs = append(recs, []string{"VERSION", fmt.Sprint(ver.VersionNumber), ver.Serial,
					timestamp(ver.NotBefore), timestamp(ver.NotAfter), fmt.Sprint(ver.Current)})
			}
			return recs
		},
	}
}

// timestamp formats x as RFC 3339, "" for none.
func timestamp(x *inventory.Timestamp) string {
	if x == nil {
		return ""
	}
	return x.String()
}
