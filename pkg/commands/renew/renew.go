// Package renew implements `certctl renew`: renewing one certificate now,
// and the managed-renewal cron job (`renew --due`). The renewals service
// (pkg/service/renewals) does the work; this package parses and prints.
package renew

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/service/renewals"
)

// RenewOptions are the inputs of renew: its dependencies, as functions
// that tests replace, and its flag values.
type RenewOptions struct {
	Printer  func() (*output.Printer, error)
	Renewals func(context.Context) (*renewals.Service, error)
	IO       *iostreams.IOStreams
	// Quiet is the global -q: only what happened is printed.
	Quiet bool

	ID     string
	Due    bool
	DryRun bool
	// Within replaces the renewal windows for a --due run (0: not set).
	Within time.Duration
	// Select is a selection instead of ID or --due (--dry-run is DryRun).
	Select cmdutil.SelectionFlags
}

// Output is renew's JSON form.
type Output struct {
	Results []renewals.Result `json:"Results"`
	// DryRun: nothing was changed; the outcomes are what a run would do.
	DryRun bool `json:"DryRun,omitempty"`
}

// NewCmdRenew builds `certctl renew`.
func NewCmdRenew(f *cmdutil.Factory, runF func(*RenewOptions) error) *cobra.Command {
	opts := &RenewOptions{Printer: f.Printer, Renewals: f.Renewals, IO: f.IO}
	var within string
	cmd := &cobra.Command{
		Use:   "renew ARN | renew --due [--dry-run] [--within D] | renew --filter-statement JSON|--query-terse Q [--dry-run]",
		Short: "Renew a certificate now, or every certificate that is due (the cron job)",
		Long: `Renew certificates the way ACM's managed renewal does: same ARN, a new key pair
and serial, the previous version kept (` + "`describe --versions`" + `), Exported reset,
every deploy target rewritten and its --exec command run.

renew ARN renews one eligible certificate now. renew --due is the cron job:
it moves expired certificates to EXPIRED, emits Approaching Expiration events
(daily, from account-config's DaysBeforeExpiry), and renews every eligible
certificate inside its window; a deploy target whose install or --exec
command failed is retried at every pass until it succeeds. It is idempotent
and safe to run every minute, from several processes or machines at once
(each renewal re-checks the certificate inside its write transaction, so
none is renewed twice).

A deploy target belongs to the host that recorded it (deploy): each host
installs only its own targets and reports another host's as left for that
host (the result's Reason, and Targets in -o json). A target's --exec
command runs only where hooks.allow_exec allows (default: on for a local
SQLite vault, off on a shared PostgreSQL store); when it does not, the
files are installed, the command is not run, and the run says so on stderr
and fails (exit 7) until hooks are enabled or the target is deployed again.

Eligible (as in ACM): PRIVATE or domain-validated certificates whose key the
vault holds, that were exported or deployed since they were issued, and are
neither expired nor revoked. A certificate is due when now ≥ NotAfter − window,
the window being renewal.window (default 60d; renewal.email_window, 45d, for
EMAIL validation) capped at a third of its lifetime; --within D uses D instead,
uncapped, for this run. --dry-run reports what would happen and changes nothing
(it makes the DNS and HTTP checks the pass makes, of pending requests and of
renewals, and sends no email).

Domain-validated certificates are revalidated first, as in ACM. EMAIL: the
first pass inside the window mails new approval codes for every name, once
(resend-validation-email sends again), and the renewal is PENDING_VALIDATION
(RenewalSummary too, with a Renewal Action Required event) while the current
version stays ISSUED and usable; once validate approve has approved every
name, the next pass (or renew ARN) renews. DNS and HTTP: every name is
checked again (its CNAME record, or a GET of its RedirectFrom URL following
redirects to what validate serve-http serves; then CAA); while a record or
redirect is missing or wrong the renewal is PENDING_VALIDATION, its reason
naming the name and what was found (for HTTP, the URL tried), and the first
pass that finds them all renews.

Each certificate's outcome is reported: RENEWED NOT_DUE INELIGIBLE FAILED
PENDING_VALIDATION, with a summary line on stderr. FAILED (exit 7) is also a
pending request the pass failed or timed out, a certificate certctl was to
renew that expired first (in the pass that finds it expired), and, at every
pass, an expired certificate still deployed (deploy a new one there, and
deploy --remove the old target). Interrupted (Ctrl-C, or
SIGTERM as systemctl stop sends), a run starts no other renewal, installs
nothing, reports every outcome so far and the certificates not reached as
FAILED with the reason "not done: the command was interrupted", and exits 7 (not when
nothing was left to renew or install); the next pass installs what it renewed. Stopped by an
error (the store unavailable: exit 6), it reports what it renewed before
and the rest as FAILED, "not done: the pass stopped on an error". With -q (the cron
job's), only the certificates renewed, failed, redeployed (or whose deployment
failed or was refused), newly pending validation (not one still waiting as it
was), or whose pending request the pass issued, failed or timed out are printed — in every output format, -o json included — and
nothing at all when there are none, so that cron mails only when something
happened; the summary is left out.

` + cmdutil.SelectionHelp + ` Each selected certificate is renewed now, as
renew ARN renews one; one that is not eligible is INELIGIBLE (exit 7).` + cmdutil.ExitStatus(0, 2, 3, 5, 6, 7),
		Example: `  certctl renew --due                       # from cron: */15 * * * * /usr/local/bin/certctl renew --due -q
  certctl renew --due --dry-run --within 90d
  certctl renew 3f2a1b9c
  certctl renew --query-terse 'ca:arn:certctl:acm-pca:local:000000000000:certificate-authority/…' --dry-run`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errs.UsageErrorf("renew takes one ARN at most")
			}
			return nil
		},
		// Only an ISSUED certificate whose key the vault holds can be
		// renewed (renewal.Eligible; tester: revoked and imported ones
		// were offered; review: ACME ones too).
		ValidArgsFunction: f.CompleteCertificatesWhere(cmdutil.CertificateChoice{
			Statuses: []string{inventory.StatusIssued}, Types: []string{inventory.TypePrivate, inventory.TypeIssued},
			Origins: []string{inventory.OriginVault}}),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("certificate-arn") {
					return errs.UsageErrorf("give the ARN as an argument or with --certificate-arn, not both")
				}
				opts.ID = args[0]
			}
			if err := cmdutil.MutuallyExclusive(cmd.Flags(), "filter-statement", "query-terse"); err != nil {
				return err
			}
			if sel := opts.Select; sel.IsSet() {
				flag := "--filter-statement"
				if sel.FilterStatement == "" {
					flag = "--query-terse"
				}
				switch {
				case opts.ID != "" && cmd.Flags().Changed("certificate-arn"):
					return errs.UsageErrorf("%s and --certificate-arn cannot be used together", flag)
				case opts.ID != "":
					return errs.UsageErrorf("%s and the ARN argument cannot be used together", flag)
				case opts.Due:
					return errs.UsageErrorf("%s and --due cannot be used together", flag)
				case within != "":
					return errs.UsageErrorf("--within goes with --due")
				}
				opts.Select.DryRun = opts.DryRun
			} else {
				if (opts.ID == "") == !opts.Due {
					return errs.UsageErrorf("give either a certificate ARN, --due, or a selection (--filter-statement or --query-terse)")
				}
				if !opts.Due && (opts.DryRun || within != "") {
					return errs.UsageErrorf("--dry-run and --within go with --due or a selection")
				}
			}
			if within != "" {
				d, err := cmdutil.PositiveDuration("within", within)
				if err != nil {
					return err
				}
				opts.Within = d
			}
			opts.Quiet = f.Globals.Quiet
			if runF != nil {
				return runF(opts)
			}
			return runRenew(cmd.Context(), opts)
		},
	}
	cmdutil.IDAliasFlag(cmd, &opts.ID, "certificate-arn", "the certificate (alias of the positional ARN)")
	cmd.Flags().BoolVar(&opts.Due, "due", false, "renew every eligible certificate inside its renewal window")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "with --due or a selection: report what would be renewed; change nothing")
	cmd.Flags().StringVar(&within, "within", "", "use this renewal window `duration` (uncapped) for this run")
	cmdutil.MarkNonEmpty(cmd.Flags(), "within", "the renewal window of renewal.window")
	cmdutil.AddSelectionFlags(cmd, &opts.Select)
	return cmd
}

func runRenew(ctx context.Context, o *RenewOptions) error {
	p, err := o.Printer()
	if err != nil {
		return err
	}
	svc, err := o.Renewals(ctx)
	if err != nil {
		return err
	}
	var rep *renewals.Report
	switch {
	case o.Select.IsSet():
		sel, err := o.Select.Selection(o.IO)
		if err != nil {
			return err
		}
		prog := cmdutil.NewBulkProgress(o.IO, o.Quiet, "renewing")
		rep, err = svc.RenewSelected(ctx, certificates.BulkOptions{Selection: sel, DryRun: o.DryRun,
			Confirm: cmdutil.BulkConfirm(o.IO, o.Select.Yes, "renew"), Progress: prog.Advanced})
		prog.Clear()
		if err != nil {
			return err
		}
	case o.Due:
		rep, err = svc.RenewDue(ctx, renewals.DueOptions{DryRun: o.DryRun, Within: o.Within})
		if err != nil && rep != nil {
			// Stopped by an error (the store unavailable): what the pass
			// did before it is told, then the error.
			out := Output{Results: rep.Results}
			if o.Quiet { // what happened, not the hundreds not reached
				out.Results = nil
				for _, r := range noteworthy(rep.Results, false) {
					if r.Reason != renewals.ReasonAborted {
						out.Results = append(out.Results, r)
					}
				}
			}
			if len(out.Results) > 0 {
				_ = p.Print(out, view(out))
			}
			cmdutil.PrintNotices(o.IO, rep.Notices...)
			renewed, notDone := 0, 0
			for _, r := range rep.Results {
				switch {
				case r.Outcome == renewal.Renewed:
					renewed++
				case r.Reason == renewals.ReasonAborted:
					notDone++
				}
			}
			fmt.Fprintf(o.IO.ErrOut, "the pass stopped on an error: %d renewed before it (the next pass installs what this one did not), %d not done\n", renewed, notDone)
			return err
		}
	default:
		rep, err = svc.Renew(ctx, o.ID)
	}
	if err != nil {
		return err
	}
	// -q keeps the results something happened to, and prints nothing
	// when none is left (cron's mail, whatever -o) — unless a --query
	// asks: its answer is printed (tester: an empty line for
	// `length(Results)`).
	out := Output{Results: rep.Results, DryRun: o.DryRun}
	if o.Quiet {
		out.Results = noteworthy(rep.Results, rep.Selected)
	}
	if !o.Quiet || len(out.Results) > 0 || p.HasQuery() {
		if err := p.Print(out, view(out)); err != nil {
			return err
		}
	}
	cmdutil.PrintNotices(o.IO, rep.Notices...)
	if (o.Due || o.Select.IsSet()) && !o.Quiet {
		counts := map[string]int{}
		for _, res := range rep.Results {
			counts[res.Outcome]++
		}
		prefix, renewed, failed := "", "renewed", "failed"
		if o.DryRun {
			// As the other bulk commands say it (scale tester, review).
			prefix, renewed, failed = "dry run: ", "would be renewed", "would fail"
		}
		deployFailed := ""
		if n := failedDeployments(rep.Results); n > 0 {
			// A renewal that succeeded but whose deployment failed is
			// counted renewed: say why the exit code is 7.
			deployFailed = fmt.Sprintf(", %d deployment(s) failed", n)
		}
		notDone := 0
		for _, r := range rep.Results {
			if r.Reason == service.ReasonNotDone {
				notDone++
			}
		}
		if notDone > 0 {
			deployFailed += fmt.Sprintf(" (%d of them not done: interrupted)", notDone)
		}
		fmt.Fprintf(o.IO.ErrOut, "%s%d %s, %d not due, %d ineligible, %d pending validation, %d %s%s\n", prefix,
			counts[renewal.Renewed], renewed, counts[renewal.NotDue], counts[renewal.Ineligible], counts[renewal.PendingValidation], counts[renewal.Failed], failed, deployFailed)
	}
	return rep.Err()
}

// deployed sums up what the run did with r's deploy targets: the worst of
// their outcomes (FAILED, HOOK_SKIPPED, NOT_DONE, DELETED, INSTALLED), ""
// when it met none or left them all to other hosts.
func deployed(r renewals.Result) string {
	rank := map[string]int{renewals.TargetInstalled: 1, renewals.TargetDeleted: 2, renewals.TargetNotDone: 3, renewals.TargetHookSkipped: 4, renewals.TargetFailed: 5}
	worst := ""
	for _, t := range r.Targets {
		if rank[t.Outcome] > rank[worst] {
			worst = t.Outcome
		}
	}
	return worst
}

// failedDeployments counts the deploy targets that failed or whose hook
// was skipped.
func failedDeployments(results []renewals.Result) int {
	n := 0
	for _, r := range results {
		for _, t := range r.Targets {
			if t.Outcome == renewals.TargetFailed || t.Outcome == renewals.TargetHookSkipped {
				n++
			}
		}
	}
	return n
}

// noteworthy are the results -q prints: what happened or needs the
// operator — renewed, failed, newly pending validation, (re)deployed, a
// pending request issued, timed out or failed in the pass, and in a
// selection (selected) a certificate refused as INELIGIBLE, which makes it
// exit 7 (tester: -q exited 7 "see the results" printing none); not a
// certificate still waiting as it was (cron would mail it every pass).
func noteworthy(results []renewals.Result, selected bool) []renewals.Result {
	out := []renewals.Result{}
	for _, r := range results {
		switch {
		case r.Outcome == renewal.Renewed, r.Outcome == renewal.Failed, r.Outcome == renewal.PendingValidation && !r.Waiting, r.Deployed, r.Advanced, deployTrouble(r),
			selected && r.Outcome == renewal.Ineligible:
			out = append(out, r)
		}
	}
	return out
}

// deployTrouble reports a deploy target of r that failed, was not done or
// whose command was skipped — also one the pass refused to install
// without trying (tester: -q exited 7 printing no result).
func deployTrouble(r renewals.Result) bool {
	w := deployed(r)
	return w != "" && w != renewals.TargetInstalled
}

func view(out Output) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			// A DEPLOY column when a target was met: a failed deployment
			// of a certificate NOT_DUE was told only at the end of a
			// REASON a terminal cuts (tester).
			deployCol := false
			for _, r := range out.Results {
				deployCol = deployCol || len(r.Targets) > 0
			}
			t := &output.Table{Headers: []string{"ID", "DOMAIN", "OUTCOME", "REASON"}}
			if deployCol {
				t.Headers = []string{"ID", "DOMAIN", "OUTCOME", "DEPLOY", "REASON"}
			}
			for _, r := range out.Results {
				row := []string{output.ShortID(r.CertificateArn), output.Sanitize(r.DomainName), s.Status(r.Outcome), output.Sanitize(r.Reason)}
				if deployCol {
					row = []string{row[0], row[1], row[2], s.Status(deployed(r)), row[3]}
				}
				t.Rows = append(t.Rows, row)
			}
			if len(t.Rows) == 0 {
				return &output.Table{Rows: [][]string{{"No certificates."}}}
			}
			return t
		},
		Records: func() [][]string {
			var rows [][]string
			for _, r := range out.Results {
				rows = append(rows, []string{r.CertificateArn, r.DomainName, r.Outcome, r.Reason})
			}
			return rows
		},
	}
}
