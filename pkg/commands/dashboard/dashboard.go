// Package dashboard implements `certctl dashboard`, the terminal
// counterpart of ACM's certificates dashboard.
package dashboard

import (
	"context"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/service/reports"
)

// DashboardOptions are the inputs of dashboard: its dependencies, as
// functions that tests replace.
type DashboardOptions struct {
	Printer func() (*output.Printer, error)
	Reports func(context.Context) (*reports.Service, error)
	// Query reports whether --query was given (the drawing is for people;
	// a query works on the JSON form).
	Query func() bool
}

// Output is the dashboard's JSON form.
type Output = reports.Dashboard

// NewCmdDashboard builds `certctl dashboard`.
func NewCmdDashboard(f *cmdutil.Factory, runF func(*DashboardOptions) error) *cobra.Command {
	opts := &DashboardOptions{Printer: f.Printer, Reports: f.Reports, Query: func() bool { return f.Globals.Query != "" }}
	cmd := &cobra.Command{
		Use:   "dashboard",
		Short: "Counts, a 13-week expiration timeline and the certificates needing action",
		Long: `Summarise the inventory, every origin included (ACME certificates too, which
list leaves out by default):

  Counts              by status, type, key pair origin and renewal eligibility
  ExpirationTimeline  13 weeks from today (UTC): ISSUED certificates whose NotAfter
                      falls in each week
  NeedsAction         certificates to look at, most urgent first, with a reason:
                      EXPIRED, RENEWAL_FAILED, EXPIRING_INELIGIBLE (within 30 days
                      and not renewed automatically), RENEWAL_OVERDUE (eligible but
                      past half its renewal window), RENEWAL_PENDING_VALIDATION
                      (its renewal waits for domain validation), FAILED,
                      VALIDATION_TIMED_OUT, PENDING_VALIDATION, REVOKED_RECENTLY
                      (within 30 days); the table shows the 25 most urgent and
                      how many more, -o json and -o text all of them
  FailedDeployments   deploy targets whose last install or command failed, most
                      recent first: certificate, target, when, and a reason that
                      never quotes the target's command or its output

Statuses are judged now: an ISSUED certificate past its NotAfter counts as
EXPIRED (and INELIGIBLE) even before ` + "`renew --due`" + ` records it.

On a terminal the timeline is a bar chart. -o text prints one record a line:
  total N · status S N · type T N · origin O N · eligibility E N
  week START END N · action ARN DOMAIN REASON DETAIL
  deployment-failed ARN DOMAIN TARGET FAILED_AT REASON
  acme-endpoint ARN ISSUED FAILED
-o json holds the same figures:
  {"Counts":{"Total","ByStatus","ByType","ByKeyPairOrigin","ByRenewalEligibility"},
   "ExpirationTimeline":[{"WeekStart","WeekEnd","Count"}],
   "NeedsAction":[{"CertificateArn","DomainName","Reason","Detail","Status","NotAfter"}],
   "AcmeEndpoints":[{"AcmeEndpointArn","CertificateIssuanceSuccess","CertificateIssuanceFailed"}],
   "FailedDeployments":[{"CertificateArn","DomainName","Target","FailedAt","Reason"}]}` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl dashboard
  certctl dashboard -o json --query 'NeedsAction[].CertificateArn'
  certctl dashboard -o text | awk '$1 == "action"'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return runDashboard(cmd.Context(), opts)
		},
	}
	return cmd
}

func runDashboard(ctx context.Context, o *DashboardOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Reports(ctx)
	if err != nil {
		return err
	}
	out, err := svc.Dashboard(ctx)
	if err != nil {
		return err
	}
	if p.Format == "table" && !o.Query() {
		return render(p, out)
	}
	return p.Print(out, output.View{Records: func() [][]string { return Records(out) }})
}

// Records is the -o text form of out.
func Records(out Output) [][]string {
	rows := [][]string{{"total", strconv.Itoa(out.Counts.Total)}}
	add := func(kind string, m map[string]int, order []string) {
		for _, k := range keys(m, order) {
			rows = append(rows, []string{kind, k, strconv.Itoa(m[k])})
		}
	}
	add("status", out.Counts.ByStatus, inventory.Statuses)
	add("type", out.Counts.ByType, inventory.Types)
	add("origin", out.Counts.ByKeyPairOrigin, inventory.Origins)
	add("eligibility", out.Counts.ByRenewalEligibility, inventory.Eligibilities)
	for _, w := range out.ExpirationTimeline {
		rows = append(rows, []string{"week", w.WeekStart.String(), w.WeekEnd.String(), strconv.Itoa(w.Count)})
	}
	for _, a := range out.NeedsAction {
		rows = append(rows, []string{"action", a.CertificateArn, a.DomainName, a.Reason, a.Detail})
	}
	for _, f := range out.FailedDeployments {
		when := ""
		if f.FailedAt != nil {
			when = f.FailedAt.String()
		}
		rows = append(rows, []string{"deployment-failed", f.CertificateArn, f.DomainName, f.Target, when, f.Reason})
	}
	for _, ep := range out.AcmeEndpoints {
		rows = append(rows, []string{"acme-endpoint", ep.AcmeEndpointArn,
			strconv.FormatInt(ep.CertificateIssuanceSuccess, 10), strconv.FormatInt(ep.CertificateIssuanceFailed, 10)})
	}
	return rows
}

// keys lists m's keys: those of order first, in that order, then the rest
// sorted.
func keys(m map[string]int, order []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, k := range order {
		if _, ok := m[k]; ok {
			out = append(out, k)
			seen[k] = true
		}
	}
	var rest []string
	for k := range m {
		if !seen[k] {
			rest = append(rest, k)
		}
	}
	sort.Strings(rest)
	return append(out, rest...)
}
