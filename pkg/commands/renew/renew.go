// Package renew implements `certctl renew`, the managed-renewal cron job.
package renew

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/certctl/certctl/pkg/cmdutil"
	validatecmd "github.com/certctl/certctl/pkg/commands/validate"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/validation"
)

// Options are the inputs of renew.
type Options struct {
	Factory *cmdutil.Factory
	ID      string
	Due     bool
	DryRun  bool
	Within  string
}

// Result is one certificate's outcome.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
	DomainName     string `json:"DomainName,omitempty"`
	Outcome        string `json:"Outcome"`
	Reason         string `json:"Reason"`
}

// Output is renew's JSON form.
type Output struct {
	Results []Result `json:"Results"`
}

// NewCmdRenew builds `certctl renew`.
func NewCmdRenew(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "renew ARN | renew --due [--dry-run] [--within D]",
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

Eligible (as in ACM): PRIVATE or domain-validated certificates whose key the
vault holds, that were exported or deployed since they were issued, and are
neither expired nor revoked. A certificate is due when now ≥ NotAfter − window,
the window being renewal.window (default 60d; renewal.email_window, 45d, for
EMAIL validation) capped at a third of its lifetime; --within D uses D instead,
uncapped, for this run. --dry-run reports what would happen and changes nothing.

Domain-validated certificates are revalidated first, as in ACM. EMAIL: the
first pass inside the window mails new approval codes for every name, once
(resend-validation-email sends again), and the renewal is PENDING_VALIDATION
(RenewalSummary too, with a Renewal Action Required event) while the current
version stays ISSUED and usable; once validate approve has approved every
name, the next pass (or renew ARN) renews. DNS: the validation records are
checked again (CNAME, then CAA); while one is missing the renewal is
PENDING_VALIDATION, and the first pass that finds it renews. HTTP-validated
certificates are renewed without a new check.

Each certificate's outcome is reported: RENEWED NOT_DUE INELIGIBLE FAILED
PENDING_VALIDATION.` + cmdutil.ExitStatus(0, 2, 3, 5, 6, 7),
		Example: `  certctl renew --due                       # from cron: */15 * * * * certctl renew --due -q
  certctl renew --due --dry-run --within 90d
  certctl renew 3f2a1b9c`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return errs.UsageErrorf("renew takes one ARN at most")
			}
			return nil
		},
		ValidArgsFunction: f.CompleteCertificates,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("certificate-arn") {
					return errs.UsageErrorf("give the ARN as an argument or with --certificate-arn, not both")
				}
				opts.ID = args[0]
			}
			if (opts.ID == "") == !opts.Due {
				return errs.UsageErrorf("give either a certificate ARN or --due")
			}
			if !opts.Due && (opts.DryRun || opts.Within != "") {
				return errs.UsageErrorf("--dry-run and --within go with --due")
			}
			if runF != nil {
				return runF(opts)
			}
			return run(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.ID, "certificate-arn", "", "the certificate (alias of the positional ARN)")
	_ = cmd.Flags().MarkHidden("certificate-arn")
	cmd.Flags().BoolVar(&opts.Due, "due", false, "renew every eligible certificate inside its renewal window")
	cmd.Flags().BoolVar(&opts.DryRun, "dry-run", false, "report what would be renewed; change nothing")
	cmd.Flags().StringVar(&opts.Within, "within", "", "use this renewal window `duration` (uncapped) for this run")
	return cmd
}

type runner struct {
	e       *cmdutil.Env
	renewer *renewal.Renewer
	svc     *validation.Service
	policy  renewal.Policy
	partial bool
	renewed []string
}

func run(ctx context.Context, o *Options) error {
	e, err := o.Factory.OpenEnv(ctx)
	if err != nil {
		return err
	}
	r := &runner{e: e, renewer: &renewal.Renewer{Vault: e.V, Authority: e.Authority, Validity: e.Cfg.CertificateValidity, Now: o.Factory.Now},
		svc:    validatecmd.NewService(e),
		policy: renewal.Policy{Window: e.Cfg.RenewalWindow, EmailWindow: e.Cfg.RenewalEmailWindow}}
	if o.Within != "" {
		if r.policy.Within, err = timeutil.ParseDuration(o.Within); err != nil || r.policy.Within <= 0 {
			return errs.UsageErrorf("--within: invalid duration %q", o.Within)
		}
	}
	var out Output
	if o.Due {
		if out.Results, err = r.due(ctx, o.DryRun); err != nil {
			return err
		}
	} else {
		res, err := r.one(ctx, o.ID)
		if err != nil {
			return err
		}
		out.Results = []Result{res}
	}
	if !o.DryRun {
		if err := r.redeploy(ctx, out.Results, o.Due); err != nil {
			return err
		}
	}
	if err := e.P.Print(out, view(out)); err != nil {
		return err
	}
	counts := map[string]int{}
	for _, res := range out.Results {
		counts[res.Outcome]++
	}
	if o.Due && !o.Factory.Globals.Quiet {
		prefix := ""
		if o.DryRun {
			prefix = "dry run: "
		}
		fmt.Fprintf(o.Factory.IO.ErrOut, "%s%d renewed, %d not due, %d ineligible, %d pending validation, %d failed\n", prefix,
			counts[renewal.Renewed], counts[renewal.NotDue], counts[renewal.Ineligible], counts[renewal.PendingValidation], counts[renewal.Failed])
	}
	if counts[renewal.Failed] > 0 || r.partial {
		return &errs.Error{Exit: errs.ExitPartial, Msg: "some renewals or deployments failed (see the results)"}
	}
	return nil
}

// one forces the renewal of one eligible certificate.
func (r *runner) one(ctx context.Context, arg string) (Result, error) {
	e := r.e
	var c *localstore.Certificate
	if err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, arg)
		if err != nil {
			return err
		}
		c, err = tx.GetCertificate(id)
		return err
	}); err != nil {
		return Result{}, cmdutil.VaultError(err)
	}
	if ok, why := renewal.Eligible(c, r.renewer.Now()); !ok {
		return Result{}, errs.Refusedf("certificate %s is not eligible for renewal: %s", c.ID, why)
	}
	pre, err := r.recheck(ctx, c)
	if err != nil {
		return Result{}, cmdutil.VaultError(err)
	}
	var key crypto.Signer
	if !awaitingApproval(c) {
		if key, err = renewal.NewKey(c); err != nil {
			return Result{}, err
		}
	}
	res := Result{CertificateArn: e.Names.CertificateARN(c.ID), DomainName: c.DomainName, Outcome: renewal.Renewed}
	em := e.Emitter()
	var msgs []validation.Message
	err = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
		cur, err := tx.GetCertificate(c.ID)
		if err != nil {
			return err
		}
		em.Pending = nil
		res.Outcome, res.Reason, msgs = renewal.Renewed, "", nil
		now := r.renewer.Now()
		if ok, why := renewal.Eligible(cur, now); !ok {
			return errs.Refusedf("certificate %s is not eligible for renewal: %s", c.ID, why)
		}
		var out string
		if out, res.Reason, msgs, err = r.revalidate(tx, cur, pre, now, em); err != nil || out != "" {
			res.Outcome = out
			return err
		}
		if key == nil { // approved since the snapshot
			if key, err = renewal.NewKey(cur); err != nil {
				return err
			}
		}
		return r.renewer.Renew(tx, cur, key, em)
	})
	if err != nil {
		return Result{}, cmdutil.VaultError(err)
	}
	e.Deliver(ctx, em)
	if err := r.sendApprovals(ctx, c.ID, msgs); err != nil {
		return Result{}, errs.Failuref("%v", err)
	}
	return res, nil
}

// due runs the cron pass over every certificate.
func (r *runner) due(ctx context.Context, dryRun bool) ([]Result, error) {
	e := r.e
	var certs []*localstore.Certificate
	var acct renewal.AccountConfig
	if err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		var err error
		if acct, err = renewal.GetAccountConfig(tx); err != nil {
			return err
		}
		// Every origin: ACME certificates are not renewed here, but they
		// expire and get expiry events like the others.
		certs, err = tx.ListCertificates(localstore.CertificateFilter{Origins: inventory.Origins, SortBy: "NOT_AFTER"})
		return err
	}); err != nil {
		return nil, cmdutil.VaultError(err)
	}
	results := make([]Result, 0, len(certs))
	for _, snap := range certs {
		if ctx.Err() != nil {
			return nil, cmdutil.VaultError(ctx.Err())
		}
		res := Result{CertificateArn: e.Names.CertificateARN(snap.ID), DomainName: snap.DomainName}
		if err := validatecmd.AdvancePending(ctx, e, snap, dryRun); err != nil { // checks, 72 h timeout, issuance
			return nil, err
		}
		now := r.renewer.Now()
		if dryRun {
			res.Outcome, res.Reason = r.classify(snap, now)
			if res.Outcome == "" {
				res.Outcome, res.Reason = dryRevalidate(snap)
			}
			if res.Outcome == "" {
				res.Outcome, res.Reason = renewal.Renewed, "dry run: would renew"
			}
			results = append(results, res)
			continue
		}
		var key crypto.Signer
		var pre precheck
		if out, _ := r.classify(snap, now); out == "" {
			var err error
			if pre, err = r.recheck(ctx, snap); err != nil {
				return nil, cmdutil.VaultError(err)
			}
			if !awaitingApproval(snap) {
				k, err := renewal.NewKey(snap)
				if err != nil {
					return nil, err
				}
				key = k
			}
		}
		em := e.Emitter()
		var renewErr error
		var msgs []validation.Message
		err := e.V.Store.Update(ctx, func(tx localstore.Tx) error {
			em.Pending = nil
			msgs = nil
			c, err := tx.GetCertificate(snap.ID)
			if err != nil {
				return err
			}
			if _, err := renewal.Housekeep(tx, c, acct.DaysBeforeExpiry, now, em); err != nil {
				return err
			}
			res.Outcome, res.Reason = r.classify(c, now)
			if res.Outcome != "" {
				return nil
			}
			if res.Outcome, res.Reason, msgs, err = r.revalidate(tx, c, pre, now, em); err != nil || res.Outcome != "" {
				return err
			}
			if key == nil { // became due (or approved) since the snapshot
				if key, err = renewal.NewKey(c); err != nil {
					return err
				}
			}
			renewErr = r.renewer.Renew(tx, c, key, em)
			return renewErr
		})
		switch {
		case renewErr != nil:
			res.Outcome, res.Reason = renewal.Failed, renewErr.Error()
			em = e.Emitter()
			_ = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
				em.Pending = nil
				c, err := tx.GetCertificate(snap.ID)
				if err != nil {
					return err
				}
				return renewal.RecordFailure(tx, c, renewal.FailureReason(renewErr), now, em)
			})
		case err != nil:
			return nil, cmdutil.VaultError(err)
		case res.Outcome == "":
			res.Outcome = renewal.Renewed
		}
		e.Deliver(ctx, em)
		if err := r.sendApprovals(ctx, snap.ID, msgs); err != nil {
			res.Outcome, res.Reason = renewal.Failed, err.Error()
		}
		results = append(results, res)
	}
	return results, nil
}

// classify returns the outcome of c when it is not to be renewed now, or ""
// when it is eligible and due.
func (r *runner) classify(c *localstore.Certificate, t time.Time) (string, string) {
	if c.Status == inventory.StatusPendingValidation {
		return renewal.PendingValidation, "waiting for domain validation"
	}
	if ok, why := renewal.Eligible(c, t); !ok {
		return renewal.Ineligible, why
	}
	if !r.policy.Due(c, t) {
		return renewal.NotDue, "due " + timeutil.RFC3339(c.NotAfter.Add(-r.policy.WindowFor(c)))
	}
	return "", ""
}

// redeploy installs the current version to every deploy target that does
// not hold it yet — those of certificates renewed in this run and, in a
// --due pass, any whose earlier install or command failed (so a failed
// reload is retried at every pass) — and runs their commands. A failing
// target is reported (result reason, exit 7, and a Renewal Action Required
// event when the failure is new); the renewal stands.
func (r *runner) redeploy(ctx context.Context, results []Result, due bool) error {
	e := r.e
	var all map[string][]deploy.Target
	if err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
		var err error
		all, err = deploy.AllTargets(tx)
		return err
	}); err != nil {
		return cmdutil.VaultError(err)
	}
	for i := range results {
		res := &results[i]
		renewed := res.Outcome == renewal.Renewed
		id := res.CertificateArn[strings.LastIndexByte(res.CertificateArn, '/')+1:]
		if (!renewed && !due) || len(all[id]) == 0 {
			continue
		}
		var stale []deploy.Target
		var m deploy.Material
		err := e.V.Store.View(ctx, func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			ts, err := deploy.Targets(tx, id)
			if err != nil {
				return err
			}
			if c.Status != inventory.StatusIssued || c.KeyPairOrigin != inventory.OriginVault {
				return nil
			}
			if stale = deploy.Stale(ts, c.Version); len(stale) == 0 {
				return nil
			}
			m, err = Material(tx, e.V, id, res.CertificateArn)
			return err
		})
		if errors.Is(err, localstore.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return cmdutil.VaultError(err)
		}
		var failures, fresh, done []string
		for _, t := range stale {
			installErr := deploy.Install(ctx, t, m)
			isNew := false
			if err := e.V.Store.Update(ctx, func(tx localstore.Tx) error {
				var err error
				isNew, err = deploy.RecordAttempt(tx, id, t.CertFile, m.Version, installErr, r.renewer.Now())
				return err
			}); err != nil {
				return cmdutil.VaultError(err)
			}
			switch {
			case installErr == nil:
				done = append(done, t.Label())
			case isNew || renewed:
				fresh = append(fresh, installErr.Error())
				fallthrough
			default:
				failures = append(failures, installErr.Error())
			}
		}
		switch {
		case len(failures) > 0 && renewed:
			res.Reason = "renewed, but deployment failed: " + strings.Join(failures, "; ")
		case len(failures) > 0:
			res.Reason = joinReason(res.Reason, "deployment failed: "+strings.Join(failures, "; "))
		case len(done) > 0 && !renewed:
			res.Reason = joinReason(res.Reason, "redeployed to "+strings.Join(done, ", "))
		}
		if len(failures) > 0 {
			r.partial = true
		}
		if len(fresh) == 0 {
			continue
		}
		em := e.Emitter()
		_ = e.V.Store.Update(ctx, func(tx localstore.Tx) error {
			em.Pending = nil
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			d := events.CertificateDetail(c, r.renewer.Now())
			d["RenewalStatus"] = renewal.StatusSuccess
			d["RenewalStatusReason"] = "OTHER"
			d["DeploymentErrors"] = fresh
			return em.Emit(tx, events.RenewalActionRequired, []string{res.CertificateArn}, d)
		})
		e.Deliver(ctx, em)
	}
	return nil
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// Material reads the current version of a certificate and its key.
func Material(tx localstore.Tx, v *localstore.Vault, id, arnStr string) (deploy.Material, error) {
	c, err := tx.GetCertificate(id)
	if err != nil {
		return deploy.Material{}, err
	}
	ver, err := tx.GetVersion(id, c.Version)
	if err != nil {
		return deploy.Material{}, err
	}
	if ver.KeyRef == "" {
		return deploy.Material{}, errs.Refusedf("certificate %s has no key in the vault", id)
	}
	key, err := v.OpenKey(tx, ver.KeyRef)
	if err != nil {
		return deploy.Material{}, err
	}
	return deploy.Material{CertificateARN: arnStr, Version: ver.Number, CertificatePEM: ver.CertificatePEM, ChainPEM: ver.ChainPEM, Key: key}, nil
}

func view(out Output) output.View {
	return output.View{
		Table: func(s *output.Styles) *output.Table {
			t := &output.Table{Headers: []string{"ID", "DOMAIN", "OUTCOME", "REASON"}}
			for _, r := range out.Results {
				t.Rows = append(t.Rows, []string{r.CertificateArn[strings.LastIndexByte(r.CertificateArn, '/')+1:], r.DomainName, s.Status(r.Outcome), r.Reason})
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
