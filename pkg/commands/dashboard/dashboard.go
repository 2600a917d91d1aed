// Package dashboard implements `certctl dashboard`, the terminal
// counterpart of ACM's certificates dashboard.
package dashboard

import (
	"context"
	"sort"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/renewal"
)

// Options are the inputs of dashboard.
type Options struct {
	Factory *cmdutil.Factory
}

// NewCmdDashboard builds `certctl dashboard`.
func NewCmdDashboard(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
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
                      past half its renewal window), FAILED, VALIDATION_TIMED_OUT,
                      PENDING_VALIDATION, REVOKED_RECENTLY (within 30 days)

Statuses are judged now: an ISSUED certificate past its NotAfter counts as
EXPIRED (and INELIGIBLE) even before ` + "`renew --due`" + ` records it.

On a terminal the timeline is a bar chart. -o text prints one record a line:
  total N · status S N · type T N · origin O N · eligibility E N
  week START END N · action ARN DOMAIN REASON DETAIL
-o json holds the same figures:
  {"Counts":{"Total","ByStatus","ByType","ByKeyPairOrigin","ByRenewalEligibility"},
   "ExpirationTimeline":[{"WeekStart","WeekEnd","Count"}],
   "NeedsAction":[{"CertificateArn","DomainName","Reason","Detail","Status","NotAfter"}]}` + cmdutil.ExitStatus(0, 2, 6),
		Example: `  certctl dashboard
  certctl dashboard -o json --query 'NeedsAction[].CertificateArn'
  certctl dashboard -o text | awk '$1 == "action"'`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	return cmd
}

func run(ctx context.Context, o *Options) error {
	f := o.Factory
	e, err := f.OpenEnv(ctx)
	if err != nil {
		return err
	}
	certs, err := e.ListCertificates(ctx, localstore.CertificateFilter{})
	if err != nil {
		return err
	}
	policy := renewal.Policy{Window: e.Cfg.RenewalWindow, EmailWindow: e.Cfg.RenewalEmailWindow}
	out := Compute(e.Names, certs, policy, f.Now())
	var acme []endpoint.EndpointMetrics
	if err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		acme, err = endpoint.AllMetrics(tx)
		return err
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	out.AcmeEndpoints = []EndpointIssuance{}
	for _, m := range acme {
		out.AcmeEndpoints = append(out.AcmeEndpoints, EndpointIssuance{AcmeEndpointArn: e.Names.EndpointARN(m.EndpointID),
			CertificateIssuanceSuccess: m.CertificateIssuanceSuccess, CertificateIssuanceFailed: m.CertificateIssuanceFailed})
	}
	if e.P.Format == "table" && f.Globals.Query == "" {
		return render(e.P, out)
	}
	return e.P.Print(out, output.View{Records: func() [][]string { return Records(out) }})
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
