// Package search implements `certctl search`.
package search

import (
	"context"
	"strings"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	sq "github.com/certctl/certctl/pkg/search"
)

// Name is an X.509 subject in search results.
type Name struct {
	CommonName string `json:"CommonName,omitempty"`
	Rendered   string `json:"DistinguishedName,omitempty"`
}

// X509Attributes are a result's certificate attributes.
type X509Attributes struct {
	Subject                 Name                 `json:"Subject"`
	Issuer                  string               `json:"Issuer,omitempty"`
	SubjectAlternativeNames []map[string]string  `json:"SubjectAlternativeNames"`
	KeyAlgorithm            string               `json:"KeyAlgorithm"`
	KeyUsages               []string             `json:"KeyUsages"`
	ExtendedKeyUsages       []string             `json:"ExtendedKeyUsages"`
	SerialNumber            string               `json:"SerialNumber,omitempty"`
	NotBefore               *inventory.Timestamp `json:"NotBefore,omitempty"`
	NotAfter                *inventory.Timestamp `json:"NotAfter,omitempty"`
}

// Metadata is a result's certctl (ACM) metadata.
type Metadata struct {
	Status                   string               `json:"Status"`
	Type                     string               `json:"Type"`
	CertificateKeyPairOrigin string               `json:"CertificateKeyPairOrigin"`
	RenewalStatus            string               `json:"RenewalStatus,omitempty"`
	RenewalEligibility       string               `json:"RenewalEligibility"`
	InUse                    bool                 `json:"InUse"`
	Exported                 bool                 `json:"Exported"`
	ExportOption             string               `json:"ExportOption"`
	ValidationMethod         string               `json:"ValidationMethod,omitempty"`
	CertificateAuthorityArn  string               `json:"CertificateAuthorityArn,omitempty"`
	AcmeEndpointArn          string               `json:"AcmeEndpointArn,omitempty"`
	AcmeAccountId            string               `json:"AcmeAccountId,omitempty"`
	CreatedAt                *inventory.Timestamp `json:"CreatedAt,omitempty"`
	IssuedAt                 *inventory.Timestamp `json:"IssuedAt,omitempty"`
	ImportedAt               *inventory.Timestamp `json:"ImportedAt,omitempty"`
	RevokedAt                *inventory.Timestamp `json:"RevokedAt,omitempty"`
}

// Result is one search result.
type Result struct {
	CertificateArn      string         `json:"CertificateArn"`
	X509Attributes      X509Attributes `json:"X509Attributes"`
	CertificateMetadata Metadata       `json:"CertificateMetadata"`
}

// Output is search's JSON form.
type Output struct {
	Results   []Result `json:"Results"`
	NextToken *string  `json:"NextToken"`
}

// NewCmdSearch builds `certctl search`.
func NewCmdSearch(f *cmdutil.Factory) *cobra.Command {
	var stmtArg, token string
	var maxItems int
	cmd := &cobra.Command{
		Use:   "search [QUERY] [--filter-statement JSON|file://F]",
		Short: "Search certificates by X.509 attributes and metadata",
		Long: `Search every certificate of the vault, ACME-issued ones included, with ACM's
SearchCertificates filter grammar (--filter-statement, JSON or file://F): a
statement is {"And":[…]}, {"Or":[…]}, {"Not":{…}} or {"Filter":{…}}; a filter is
{"CertificateArn":…}, {"X509AttributeFilter":{…}} (Subject.CommonName,
SubjectAlternativeName.DnsName with Value and ComparisonOperator EQUALS|CONTAINS,
ExtendedKeyUsage, KeyUsage, KeyAlgorithm, SerialNumber, NotAfter/NotBefore
{Start,End}) or {"AcmCertificateMetadataFilter":{…}} (Status, Type,
RenewalStatus, InUse, Exported, ExportOption, ValidationMethod,
CertificateKeyPairOrigin, AcmeEndpointArn, AcmeAccountId, CertificateAuthorityArn).

For one-liners, a terse QUERY of space-separated terms, all of which must hold:
` + sq.TerseHelp + `

A malformed statement or query exits 4.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  certctl search 'san:*.example.com status:ISSUED expires<30d tag:env=prod'
  certctl search --filter-statement '{"Filter":{"AcmCertificateMetadataFilter":{"CertificateKeyPairOrigin":"ACME"}}}'
  certctl search --filter-statement file://filter.json -o text`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errs.UsageErrorf("give the query as one argument (quote it)")
			}
			if (len(args) == 1) == (stmtArg != "") {
				return errs.UsageErrorf("give either a QUERY or --filter-statement")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			var stmt *sq.Statement
			var err error
			if stmtArg != "" {
				data := []byte(stmtArg)
				if strings.HasPrefix(stmtArg, "file://") || strings.HasPrefix(stmtArg, "fileb://") || stmtArg == "-" {
					if data, err = cmdutil.ReadFileArg(f.IO, stmtArg); err != nil {
						return errs.Invalidf("--filter-statement: %v", err)
					}
				}
				if stmt, err = sq.Parse(data); err != nil {
					return errs.Invalidf("%v", err)
				}
			} else if stmt, err = sq.ParseTerse(args[0], f.Now()); err != nil {
				return errs.Invalidf("%v", err)
			}
			offset, err := inventory.DecodeToken(token)
			if err != nil {
				return err
			}
			if maxItems < 0 {
				return errs.UsageErrorf("--max-items must be positive")
			}
			e, err := f.OpenEnv(ctx)
			if err != nil {
				return err
			}
			out, err := run(ctx, e, stmt, offset, maxItems)
			if err != nil {
				return err
			}
			return e.P.Print(out, view(out))
		},
	}
	cmd.Flags().StringVar(&stmtArg, "filter-statement", "", "ACM SearchCertificates filter statement (`JSON` or file://F)")
	cmd.Flags().IntVar(&maxItems, "max-items", 0, "return at most `N` results and a NextToken")
	cmd.Flags().StringVar(&token, "starting-token", "", "continue from a previous NextToken")
	return cmd
}

func run(ctx context.Context, e *cmdutil.Env, stmt *sq.Statement, offset, maxItems int) (Output, error) {
	certs, err := e.ListCertificates(ctx, localstore.CertificateFilter{SortBy: "CREATED_AT", Descending: true})
	if err != nil {
		return Output{}, err
	}
	out := Output{Results: []Result{}}
	seen := 0
	for _, c := range certs {
		d := inventory.NewSummary(e.Names, c)
		subj := &sq.Subject{Cert: c, CertificateArn: d.CertificateArn, ExportOption: d.ExportOption,
			CertificateAuthorityArn: e.Names.CAARN(c.CertificateAuthorityID), AcmeEndpointArn: e.Names.EndpointARN(c.AcmeEndpointID)}
		if !stmt.Match(subj) {
			continue
		}
		seen++
		if seen <= offset {
			continue
		}
		if maxItems > 0 && len(out.Results) == maxItems {
			next := inventory.EncodeToken(offset + maxItems)
			out.NextToken = &next
			break
		}
		out.Results = append(out.Results, result(e, c, d, subj))
	}
	return out, nil
}

func result(e *cmdutil.Env, c *localstore.Certificate, d inventory.Summary, s *sq.Subject) Result {
	sans := make([]map[string]string, 0, len(c.SubjectAlternativeNames))
	for _, n := range c.SubjectAlternativeNames {
		sans = append(sans, map[string]string{"DnsName": n})
	}
	cn := ""
	for _, part := range strings.Split(c.Subject, ",") {
		if v, ok := strings.CutPrefix(part, "CN="); ok {
			cn = v
		}
	}
	r := Result{
		CertificateArn: d.CertificateArn,
		X509Attributes: X509Attributes{
			Subject: Name{CommonName: cn, Rendered: c.Subject}, Issuer: c.Issuer, SubjectAlternativeNames: sans,
			KeyAlgorithm: c.KeyAlgorithm, KeyUsages: d.KeyUsages, ExtendedKeyUsages: d.ExtendedKeyUsages,
			SerialNumber: c.Serial, NotBefore: d.NotBefore, NotAfter: d.NotAfter,
		},
		CertificateMetadata: Metadata{
			Status: c.Status, Type: c.Type, CertificateKeyPairOrigin: c.KeyPairOrigin, RenewalEligibility: d.RenewalEligibility,
			InUse: d.InUse, Exported: c.Exported, ExportOption: d.ExportOption, ValidationMethod: c.ValidationMethod,
			CertificateAuthorityArn: s.CertificateAuthorityArn, AcmeEndpointArn: s.AcmeEndpointArn, AcmeAccountId: c.AcmeAccountID,
			CreatedAt: d.CreatedAt, IssuedAt: d.IssuedAt, ImportedAt: d.ImportedAt, RevokedAt: d.RevokedAt,
		},
	}
	if c.Renewal != nil {
		r.CertificateMetadata.RenewalStatus = c.Renewal.Status
	}
	return r
}

func view(out Output) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"ID", "DOMAIN", "STATUS", "TYPE", "ORIGIN", "NOT AFTER"}}
			for _, r := range out.Results {
				na := ""
				if r.X509Attributes.NotAfter != nil {
					na = r.X509Attributes.NotAfter.String()
				}
				t.Rows = append(t.Rows, []string{r.CertificateArn[strings.LastIndexByte(r.CertificateArn, '/')+1:], r.X509Attributes.Subject.CommonName,
					s.Status(r.CertificateMetadata.Status), r.CertificateMetadata.Type, r.CertificateMetadata.CertificateKeyPairOrigin, na})
			}
			if len(t.Rows) == 0 {
				return &output.Table{Rows: [][]string{{"No certificates match."}}}
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, r := range out.Results {
				na := ""
				if r.X509Attributes.NotAfter != nil {
					na = r.X509Attributes.NotAfter.String()
				}
				rows = append(rows, []string{r.CertificateArn, r.X509Attributes.Subject.CommonName, r.CertificateMetadata.Status,
					r.CertificateMetadata.Type, r.CertificateMetadata.CertificateKeyPairOrigin, na})
			}
			return rows
		},
	}
}
