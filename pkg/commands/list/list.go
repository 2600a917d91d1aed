// Package list implements `certctl list`.
package list

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// listGCPercent and listMemoryLimit are GOGC and GOMEMLIMIT while a list
// runs: the limit is above what a list of a million certificates holds
// (1.2 GiB), so that only larger lists collect by it.
const (
	listGCPercent   = 1000
	listMemoryLimit = 2 << 30
)

// ListOptions are the inputs of list: its dependencies, as functions that
// tests replace, and its flag values.
type ListOptions struct {
	Printer      func() (*output.Printer, error)
	Certificates func(context.Context) (*certificates.Service, error)
	// TuneGC sets the collector for a list (cmdutil.Factory.TuneGC).
	TuneGC func(percent int, limit int64) (undo func())

	Statuses       []string
	KeyTypes       []string
	Types          []string
	Origins        []string
	Exportable     string
	Eligibility    []string
	InUse          string
	ExpiringWithin string
	Domains        []string
	Tags           []string
	KeyUsages      []string
	ExtKeyUsages   []string
	SortBy         string
	SortOrder      string
	MaxItems       int
	StartingToken  string
}

// Output is list's JSON form.
type Output struct {
	CertificateSummaryList []inventory.Summary `json:"CertificateSummaryList"`
	NextToken              *string             `json:"NextToken"`
}

// NewCmdList builds `certctl list`.
func NewCmdList(f *cmdutil.Factory, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{Printer: f.Printer, Certificates: f.Certificates, TuneGC: f.TuneGC}
	cmd := &cobra.Command{
		Use:   "list [filters]",
		Short: "List the certificates of the inventory",
		Long: `List certificates, newest first unless sorted otherwise, with the field names of
ACM's ListCertificates (CertificateSummaryList, NextToken). A NextToken holds
the position of its page's last certificate, so a certificate added or deleted
between pages repeats or skips none; give the next page the same --sort-by and
--sort-order (a token of another order exits 4). With -o text the records are
on stdout and the NextToken on stderr ("More: --starting-token TOKEN").
Sorted by NOT_AFTER, certificates not issued yet (no NotAfter) come first
ascending, last descending, and those valid past 2262-04-11 (9999-12-31: "does
not expire") after every other date, among themselves by ID; no
--expiring-within reaches them (search compares such dates exactly).

Every key type is listed by default. ACME-origin certificates (keys held by ACME
clients) are left out unless --certificate-key-pair-origins names ACME, as in ACM.
List-valued filters repeat or take comma-separated values; filters combine with AND.
--key-usage and --extended-key-usage filter as ACM's Includes does, with ACM's
names: a certificate is kept when it has one of the usages named (key usage ANY:
any key usage; extended key usage NONE: no Extended Key Usage extension, ANY:
the anyExtendedKeyUsage purpose, CUSTOM: a purpose without an ACM name).

With -o text each certificate is one tab-separated line:
  ARN  DOMAIN  STATUS  TYPE  KEY_ALGORITHM  NOT_AFTER  RENEWAL_ELIGIBILITY  IN_USE

-o json and -o text print the list as it is read, so a list of any length starts
at once and is never held whole: a list that fails midway (exit 6 for the vault,
1 otherwise) leaves its output cut short — trust it only when the exit status is 0.` + cmdutil.ExitStatus(0, 2, 4, 6),
		Example: `  certctl list
  certctl list --expiring-within 30d -o text | cut -f1,2
  certctl list --certificate-statuses ISSUED,EXPIRED --key-types EC_prime256v1
  certctl list --domain '*.example.com' --tag env=prod
  certctl list --sort-by NOT_AFTER --max-items 20
  certctl list --extended-key-usage TLS_WEB_CLIENT_AUTHENTICATION --key-usage DIGITAL_SIGNATURE`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				// `--in-use -o text` takes -o as --in-use's value and
				// leaves text over: the flag is what to name.
				if _, err := opts.Input(); err != nil {
					return err
				}
			}
			return cmdutil.NoArgs(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := cmdutil.RefuseEmptyFlags(cmd, "exportable", "in-use", "expiring-within"); err != nil {
				return err
			}
			if _, err := opts.Input(); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runList(cmd.Context(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Statuses, "certificate-statuses", nil, "only these `statuses` ("+strings.Join(inventory.Statuses, ", ")+")")
	fl.StringArrayVar(&opts.KeyTypes, "key-types", nil, "only these key `algorithms` ("+strings.Join(x509util.ImportKeyAlgorithms, ", ")+")")
	fl.StringArrayVar(&opts.Types, "type", nil, "only these `types` ("+strings.Join(inventory.Types, ", ")+")")
	fl.StringArrayVar(&opts.Origins, "certificate-key-pair-origins", nil, "only these key pair `origins` (VAULT, IMPORTED, ACME)")
	fl.StringVar(&opts.Exportable, "exportable", "", "only exportable (true) or non-exportable (false)")
	fl.StringArrayVar(&opts.Eligibility, "renewal-eligibility", nil, "only this renewal `eligibility`: "+strings.Join(inventory.Eligibilities, " or "))
	fl.StringVar(&opts.InUse, "in-use", "", "only in use (true) or not in use (false)")
	fl.StringVar(&opts.ExpiringWithin, "expiring-within", "", "only certificates expiring within this `duration` (e.g. 30d)")
	fl.StringArrayVar(&opts.Domains, "domain", nil, "only certificates with a name matching this `glob` (repeatable, or comma-separated)")
	fl.StringArrayVar(&opts.Tags, "tag", nil, "only certificates with this tag `K=V` (or K; repeatable)")
	_ = cmd.RegisterFlagCompletionFunc("tag", f.CompleteTagKeys)
	fl.StringArrayVar(&opts.KeyUsages, "key-usage", nil, "only certificates with one of these key `usages` (DIGITAL_SIGNATURE, KEY_ENCIPHERMENT, …, ANY)")
	fl.StringArrayVar(&opts.ExtKeyUsages, "extended-key-usage", nil, "only certificates with one of these extended key `usages` (TLS_WEB_SERVER_AUTHENTICATION, …, NONE)")
	fl.StringVar(&opts.SortBy, "sort-by", "CREATED_AT", "CREATED_AT, NOT_AFTER or DOMAIN_NAME")
	fl.StringVar(&opts.SortOrder, "sort-order", "", "ASCENDING or DESCENDING (default DESCENDING for CREATED_AT, else ASCENDING)")
	cmdutil.MaxItemsFlag(fl, &opts.MaxItems, "return at most `N` certificates and a NextToken")
	fl.StringVar(&opts.StartingToken, "starting-token", "", "continue from a previous NextToken")
	cmdutil.EnumCompletion(cmd, "certificate-statuses", inventory.Statuses)
	cmdutil.EnumCompletion(cmd, "key-types", x509util.ImportKeyAlgorithms)
	cmdutil.EnumCompletion(cmd, "type", inventory.Types)
	cmdutil.EnumCompletion(cmd, "certificate-key-pair-origins", inventory.Origins)
	cmdutil.EnumCompletion(cmd, "renewal-eligibility", inventory.Eligibilities)
	cmdutil.EnumCompletion(cmd, "exportable", []string{"true", "false"})
	cmdutil.EnumCompletion(cmd, "in-use", []string{"true", "false"})
	cmdutil.EnumCompletion(cmd, "key-usage", inventory.KeyUsageFilterNames)
	cmdutil.EnumCompletion(cmd, "extended-key-usage", inventory.ExtendedKeyUsageFilterNames)
	cmdutil.EnumCompletion(cmd, "sort-by", inventory.SortKeys)
	cmdutil.EnumCompletion(cmd, "sort-order", inventory.SortOrders)
	return cmd
}

// Input checks the flag values and returns the service request they make.
// Errors are usage errors (exit 2).
func (o *ListOptions) Input() (certificates.ListInput, error) {
	in := certificates.ListInput{
		SortBy:        o.SortBy,
		Descending:    o.SortOrder == "DESCENDING" || (o.SortOrder == "" && o.SortBy == "CREATED_AT"),
		MaxItems:      o.MaxItems,
		StartingToken: o.StartingToken,
	}
	for _, f := range []struct {
		flag string
		vals []string
		to   *[]string
	}{
		{"certificate-statuses", o.Statuses, &in.Statuses},
		{"key-types", o.KeyTypes, &in.KeyAlgorithms},
		{"type", o.Types, &in.Types},
		{"certificate-key-pair-origins", o.Origins, &in.Origins},
		{"renewal-eligibility", o.Eligibility, &in.Eligibility},
		{"domain", o.Domains, &in.Domains},
		{"key-usage", o.KeyUsages, &in.KeyUsages},
		{"extended-key-usage", o.ExtKeyUsages, &in.ExtendedKeyUsages},
	} {
		var err error
		if *f.to, err = cmdutil.SplitFilterFlag(f.flag, f.vals); err != nil {
			return in, err
		}
	}
	checks := []struct {
		flag    string
		vals    []string
		allowed []string
	}{
		{"certificate-statuses", in.Statuses, inventory.Statuses},
		{"key-types", in.KeyAlgorithms, x509util.ImportKeyAlgorithms},
		{"type", in.Types, inventory.Types},
		{"certificate-key-pair-origins", in.Origins, inventory.Origins},
		{"renewal-eligibility", in.Eligibility, inventory.Eligibilities},
		{"sort-by", []string{o.SortBy}, inventory.SortKeys},
		{"key-usage", in.KeyUsages, inventory.KeyUsageFilterNames},
		{"extended-key-usage", in.ExtendedKeyUsages, inventory.ExtendedKeyUsageFilterNames},
	}
	for _, c := range checks {
		if err := cmdutil.CheckEnum(c.flag, c.vals, c.allowed); err != nil {
			return in, err
		}
	}
	if o.SortOrder != "" {
		if err := cmdutil.CheckEnum("sort-order", []string{o.SortOrder}, inventory.SortOrders); err != nil {
			return in, err
		}
	}
	var err error
	if in.Exportable, err = cmdutil.ParseBoolFilter("exportable", o.Exportable); err != nil {
		return in, err
	}
	if in.InUse, err = cmdutil.ParseBoolFilter("in-use", o.InUse); err != nil {
		return in, err
	}
	if o.ExpiringWithin != "" {
		d, err := timeutil.ParseDuration(o.ExpiringWithin)
		if err != nil {
			return in, errs.UsageErrorf("--expiring-within: %v", err)
		}
		if d < 0 {
			return in, errs.UsageErrorf("--expiring-within must not be negative")
		}
		// 0 is a filter too (certificates already past their NotAfter),
		// not the absence of one: a script's --expiring-within ${DAYS}d
		// with DAYS=0 must not list the whole inventory.
		in.ExpiringWithin = &d
	}
	for _, t := range o.Tags {
		tag, valueGiven, err := inventory.ParseTagCondition(t)
		if err != nil {
			return in, err
		}
		if err := inventory.CheckTagCondition(t, tag); err != nil {
			return in, err
		}
		if tag.Key == "" {
			return in, errs.UsageErrorf("invalid --tag %q: the key is empty (use K=V or K)", t)
		}
		in.Tags = append(in.Tags, certificates.TagCondition{Key: tag.Key, Value: tag.Value, ValueGiven: valueGiven})
	}
	return in, nil
}

func runList(ctx context.Context, o *ListOptions) error {
	// A list printed as a table holds its page until it prints it, and
	// then the process ends: collecting garbage as often as a
	// long-running process would (GOGC=100) costs a list of ten thousand
	// certificates a third of its CPU time, and frees little it could
	// reuse. Collect when the heap has grown to 11× what is live (first
	// at 40 MB: a list of ten thousand never does), or nears
	// listMemoryLimit (a huge list then collects as often as it must, no
	// more), unless GOGC or GOMEMLIMIT says otherwise. A list printed as
	// it is read (-o json, -o text) reuses its blocks and holds little,
	// and still runs faster so: collecting at 4 MB costs more CPU than the
	// page faults it saves.
	if o.TuneGC != nil {
		defer o.TuneGC(listGCPercent, listMemoryLimit)()
	}
	p, err := o.Printer()
	if err != nil {
		return err
	}
	in, err := o.Input()
	if err != nil {
		return err
	}
	svc, err := o.Certificates(ctx)
	if err != nil {
		return err
	}
	if p.PlainText() {
		// Print the list as it is read, a block at a time.
		page, err := svc.ListEach(ctx, in, func(block []inventory.Summary) error {
			return p.WriteRecords(records(block))
		})
		if err != nil {
			return err
		}
		return p.WriteNextToken(page.NextToken)
	}
	if p.PlainJSON() {
		j := beginJSON(p.IO.Out)
		page, err := svc.ListEach(ctx, in, func(block []inventory.Summary) error {
			return writeSummaries(j, block)
		})
		if err != nil {
			return err
		}
		var next *string
		if page.NextToken != "" {
			next = &page.NextToken
		}
		return endJSON(j, next)
	}
	if y := p.StreamList("CertificateSummaryList"); y != nil {
		// -o yaml (-o json took the branch above): an item at a time too
		// (the whole list as YAML nodes took gigabytes: scale tester),
		// the same bytes as Print's.
		page, err := svc.ListEach(ctx, in, func(block []inventory.Summary) error {
			for i := range block {
				if err := y.Add(&block[i]); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		return output.EndWithNextToken(y, page.NextToken)
	}
	page, err := svc.List(ctx, in)
	if err != nil {
		return err
	}
	out := Output{CertificateSummaryList: page.Certificates}
	if page.NextToken != "" {
		out.NextToken = &page.NextToken
	}
	return p.Print(out, view(out, page.AsOf))
}

func view(out Output, now time.Time) output.View {
	return output.View{
		NextToken: out.NextToken,
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"ID", "DOMAIN", "STATUS", "TYPE", "KEY", "EXPIRES", "IN USE"},
				Optional: []string{"TYPE", "IN USE", "KEY"}} // on a narrow terminal (tester)
			for _, c := range out.CertificateSummaryList {
				id := output.ShortID(c.CertificateArn)
				expires := ""
				if c.NotAfter != nil {
					na := time.Time(*c.NotAfter)
					expires = timeutil.Relative(na, now)
					switch {
					case na.Before(now):
						expires = s.Bad(expires)
					case na.Sub(now) < 30*timeutil.Day:
						expires = s.Warn(expires)
					}
				}
				inUse := "no"
				if c.InUse {
					inUse = "yes"
				}
				// Sanitise before styling: the table keeps the styles' own
				// escape sequences, so outside text must not carry any.
				domain := output.Sanitize(c.DomainName)
				if n := len(c.SubjectAlternativeNameSummaries); n > 1 {
					domain = output.WithTail(domain, s.Dim(" +"+strconv.Itoa(n-1)))
				}
				t.Rows = append(t.Rows, []string{id, domain, s.Status(c.Status), c.Type, c.KeyAlgorithm, expires, inUse})
			}
			if len(t.Rows) == 0 {
				return &output.Table{Rows: [][]string{{"No certificates."}}}
			}
			return t
		},
		Records: func() [][]string { return records(out.CertificateSummaryList) },
	}
}

// records are the -o text lines of l.
func records(l []inventory.Summary) [][]string {
	rows := make([][]string, 0, len(l))
	for i := range l {
		c := &l[i]
		na := ""
		if c.NotAfter != nil {
			na = c.NotAfter.String()
		}
		inUse := "false"
		if c.InUse {
			inUse = "true"
		}
		rows = append(rows, []string{c.CertificateArn, c.DomainName, c.Status, c.Type, c.KeyAlgorithm, na, c.RenewalEligibility, inUse})
	}
	return rows
}
