// Package search implements `certctl search`.
package search

import (
	"context"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	sq "github.com/certctl/certctl/pkg/search"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// SearchOptions are the inputs of search: its dependencies, as functions
// that tests replace, and its flag values.
type SearchOptions struct {
	IO           *iostreams.IOStreams
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)

	// Query is the terse positional query ("" when none was given).
	Query string
	// FilterStatement is --filter-statement: JSON, file://F, fileb://F or -.
	FilterStatement string
	MaxItems        int
	StartingToken   string
	// SortBy is one of certificates.SearchSortKeys ("": newest first);
	// SortOrder ASCENDING or DESCENDING ("": DESCENDING for CREATED_AT,
	// else ASCENDING).
	SortBy, SortOrder string
}

// Output is search's JSON form.
type Output struct {
	Results   []certificates.SearchResult `json:"Results"`
	NextToken *string                     `json:"NextToken"`
}

// NewCmdSearch builds `certctl search`.
func NewCmdSearch(f *cmdutil.Factory, runF func(*SearchOptions) error) *cobra.Command {
	opts := &SearchOptions{IO: f.IO, Printer: f.Printer, Certificates: f.Certificates}
	cmd := &cobra.Command{
		Use:   "search [QUERY] [--filter-statement JSON|file://F]",
		Short: "Search certificates by X.509 attributes and metadata",
		Long: `Search every certificate of the vault, ACME-issued ones included, with ACM's
SearchCertificates filter grammar (--filter-statement, JSON or file://F): a
statement is {"And":[…]}, {"Or":[…]}, {"Not":{…}} or {"Filter":{…}}; a filter is
{"CertificateArn":…}, {"X509AttributeFilter":{…}} (Subject.CommonName,
SubjectAlternativeName.DnsName with Value and ComparisonOperator EQUALS (the
whole value, any case: *.example.com is the wildcard name itself) or CONTAINS,
ExtendedKeyUsage, KeyUsage, KeyAlgorithm, SerialNumber, NotAfter/NotBefore
{Start,End}: RFC 3339 times, or dates meaning their midnight UTC, as the AWS
CLI reads them — an End of 2027-01-05 leaves out the rest of that day, both
ends included) or {"AcmCertificateMetadataFilter":{…}} (Status, Type,
RenewalStatus, InUse, Exported, ExportOption, ValidationMethod,
CertificateKeyPairOrigin, AcmeEndpointArn, AcmeAccountId, CertificateAuthorityArn).

For one-liners, a terse QUERY of space-separated terms, all of which must hold:
` + sq.TerseHelp + `

With neither, search lists every certificate. Status and renewal eligibility
are judged as of now: a certificate past its NotAfter is EXPIRED.

Results come newest first; --sort-by takes ACM's SearchCertificates sort keys
(` + strings.Join(certificates.SearchSortKeys, " ") + `)
with --sort-order ASCENDING or DESCENDING (default DESCENDING for CREATED_AT,
else ASCENDING). Certificates without a value for the key (never revoked, not
from ACME…) come last; equal values are ordered by ARN, so that the pages of
--max-items and --starting-token follow one order. A NextToken holds the
position of its page's last result, so a certificate imported or deleted
between pages repeats or skips none; give the next page the same --sort-by
and --sort-order (a token of another order exits 4). With -o text the records
are on stdout and the NextToken on stderr ("More: --starting-token TOKEN").
Each is one tab-separated line, list's columns and then the key pair's origin:
  ARN  DOMAIN  STATUS  TYPE  KEY_ALGORITHM  NOT_AFTER  RENEWAL_ELIGIBILITY  IN_USE  ORIGIN

A malformed statement or query exits 4.` + cmdutil.ExitStatus(0, 2, 3, 4, 6),
		Example: `  certctl search 'san:*.example.com status:ISSUED expires<30d tag:env=prod'
  certctl search --filter-statement '{"Filter":{"AcmCertificateMetadataFilter":{"CertificateKeyPairOrigin":"ACME"}}}'
  certctl search --filter-statement file://filter.json -o text
  certctl search 'status:ISSUED' --sort-by NOT_AFTER --sort-order DESCENDING --max-items 50`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errs.UsageErrorf("give the query as one argument (quote it)")
			}
			if len(args) == 1 {
				if strings.TrimSpace(args[0]) == "" {
					return errs.Invalidf("empty query").WithHint("the terms: %s", sq.TerseHelp)
				}
				opts.Query = args[0]
			}
			return nil
		},
		ValidArgsFunction: cmdutil.CompleteTerseQuery,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("filter-statement") && strings.TrimSpace(opts.FilterStatement) == "" {
				// As an empty QUERY: a script's --filter-statement "$F"
				// with F unset must not list every certificate.
				_, err := cmdutil.ReadStatement(opts.IO, opts.FilterStatement)
				return err
			}
			if opts.Query != "" && opts.FilterStatement != "" {
				return errs.UsageErrorf("give either a QUERY or --filter-statement, not both")
			}
			if opts.SortBy != "" {
				if err := cmdutil.CheckEnum("sort-by", []string{opts.SortBy}, certificates.SearchSortKeys); err != nil {
					return err
				}
			}
			if opts.SortOrder != "" {
				if err := cmdutil.CheckEnum("sort-order", []string{opts.SortOrder}, certificates.SortOrders); err != nil {
					return err
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return runSearch(cmd.Context(), opts)
		},
	}
	cmdutil.OnceStringVar(cmd.Flags(), &opts.FilterStatement, "filter-statement", "ACM SearchCertificates filter statement (`JSON` or file://F)",
		`join the statements in one {"And":[…]} or {"Or":[…]}`)
	_ = cmd.RegisterFlagCompletionFunc("filter-statement", cmdutil.CompleteFileURL)
	cmdutil.MaxItemsFlag(cmd.Flags(), &opts.MaxItems, "return at most `N` results and a NextToken")
	cmd.Flags().StringVar(&opts.StartingToken, "starting-token", "", "continue from a previous NextToken")
	cmd.Flags().StringVar(&opts.SortBy, "sort-by", "", "sort by this ACM sort `key` (CREATED_AT, NOT_AFTER, COMMON_NAME, STATUS…)")
	cmd.Flags().StringVar(&opts.SortOrder, "sort-order", "", "sort `order`, ASCENDING or DESCENDING (default DESCENDING for CREATED_AT, else ASCENDING)")
	cmdutil.EnumCompletion(cmd, "sort-by", certificates.SearchSortKeys)
	cmdutil.EnumCompletion(cmd, "sort-order", certificates.SortOrders)
	return cmd
}

func runSearch(ctx context.Context, o *SearchOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	in := certificates.SearchInput{Query: o.Query, MaxItems: o.MaxItems, StartingToken: o.StartingToken,
		SortBy: o.SortBy, SortOrder: o.SortOrder}
	if s := o.FilterStatement; s != "" {
		if in.FilterStatement, err = cmdutil.ReadStatement(o.IO, s); err != nil {
			return err
		}
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	// Printed as it is read, a thousand results at a time, in every
	// format but a table and --query (tester: `search -o yaml` of
	// 100,000 held them all, 8 GB), as list prints.
	if p.PlainText() {
		page, err := svc.SearchEach(ctx, in, func(block []certificates.SearchResult) error {
			return p.WriteRecords(Records(block))
		})
		if err != nil {
			return err
		}
		return p.WriteNextToken(page.NextToken)
	}
	if l := p.StreamList("Results"); l != nil {
		page, err := svc.SearchEach(ctx, in, func(block []certificates.SearchResult) error {
			for i := range block {
				if err := l.Add(&block[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return output.EndWithNextToken(l, page.NextToken)
	}
	page, err := svc.Search(ctx, in)
	if err != nil {
		return err
	}
	out := Output{Results: page.Results}
	if page.NextToken != "" {
		out.NextToken = &page.NextToken
	}
	return p.Print(out, view(out))
}

func view(out Output) output.View {
	return output.View{
		NextToken: out.NextToken,
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"ID", "DOMAIN", "STATUS", "TYPE", "ORIGIN", "NOT AFTER"},
				Optional: []string{"TYPE", "ORIGIN"}} // on a narrow terminal
			for _, r := range out.Results {
				na := ""
				if r.X509Attributes.NotAfter != nil {
					na = r.X509Attributes.NotAfter.String()
				}
				t.Rows = append(t.Rows, []string{output.ShortID(r.CertificateArn), output.Sanitize(domainOf(r)),
					s.Status(r.CertificateMetadata.Status), r.CertificateMetadata.Type, r.CertificateMetadata.CertificateKeyPairOrigin, na})
			}
			if len(t.Rows) == 0 {
				return &output.Table{Rows: [][]string{{"No certificates match."}}}
			}
			return t
		},
		Records: func() [][]string { return Records(out.Results) },
	}
}

// Records are results as -o text prints them, a line each.
func Records(results []certificates.SearchResult) [][]string {
	var rows [][]string
	for _, r := range results {
		na := ""
		if r.X509Attributes.NotAfter != nil {
			na = r.X509Attributes.NotAfter.String()
		}
		// list's columns, then the origin (tester: the fifth
		// column was the key type in one and the origin in the
		// other).
		m := r.CertificateMetadata
		rows = append(rows, []string{r.CertificateArn, domainOf(r), m.Status, m.Type, r.X509Attributes.KeyAlgorithm, na,
			m.RenewalEligibility, strconv.FormatBool(m.InUse), m.CertificateKeyPairOrigin})
	}
	return rows
}

// domainOf is what the DOMAIN column shows of r: the subject's common
// name, else (a certificate not issued yet has no subject, nor has one
// named by its alternative names alone) the first name it is for, as list
// shows it.
func domainOf(r certificates.SearchResult) string {
	if cn := r.X509Attributes.Subject.CommonName; cn != "" {
		return cn
	}
	for _, san := range r.X509Attributes.SubjectAlternativeNames {
		if n := san["DnsName"]; n != "" {
			return n
		}
	}
	return ""
}
