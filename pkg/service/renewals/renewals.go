// Package renewals is managed renewal's service: the due pass (`renew
// --due`), renewing one certificate (`renew ARN`), and deploy targets
// (`deploy`, and the redeployment after every renewal). The rules are
// pkg/renewal's, pkg/deploy's and pkg/validation's; this package owns the
// transactions, each a recorded change (service.Core.Change):
//
//	RenewCertificate             a renewal (or the start of its revalidation); a failed one is a FAILURE
//	RecordRenewalFailure         RenewalSummary FAILED after a failed renewal, with its event
//	ExpireCertificate            the move of an expired certificate to EXPIRED
//	NotifyApproachingExpiration  the day's Certificate Approaching Expiration event
//	DeployCertificate            a deploy target installed and recorded (deploy, redeployment)
//	CheckDomainValidation        pending validations advanced by the pass (the validations service)
//
// The due pass records its changes as made by the scheduler (Scheduler).
package renewals

import (
	"context"
	"crypto"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/validation"
)

// Settings are the configuration the service acts on.
type Settings struct {
	// Window and EmailWindow are renewal.window and renewal.email_window.
	Window, EmailWindow time.Duration
	// Validity is the lifetime of renewed certificates
	// (certificate_validity).
	Validity time.Duration
	// Validations are the settings of domain validation: revalidation at
	// renewal and approval mail.
	Validations validations.Settings
	// Host returns this host's deploy identity (deploy.LocalHost: kept in
	// the vault directory, created on first use); it is asked for only
	// when a target is recorded or installed.
	Host func() (deploy.Host, error)
	// AllowExec is hooks.allow_exec: whether this host runs the --exec
	// commands of its deploy targets.
	AllowExec bool
	// HookOutput receives what those commands print (this host's standard
	// error; nil: discarded). See deploy.Hooks.
	HookOutput io.Writer
	// SharedStore reports a store shared by many hosts (PostgreSQL): a
	// target recorded without a host is then nobody's.
	SharedStore bool
}

// Service renews and deploys certificates.
type Service struct {
	core        *service.Core
	set         Settings
	validations *validations.Service
	renewer     *renewal.Renewer
	// reaching, when set (tests), is called as the due pass reaches the
	// certificate id, before it does anything with it.
	reaching func(id string)
	// written, when set (tests), is called once Deploy or a pass has
	// written the files of certificate id, before the target is recorded
	// and its command run.
	written func(id string)
}

// New returns the service over core.
func New(core *service.Core, set Settings) *Service {
	return &Service{core: core, set: set,
		validations: validations.New(core, set.Validations),
		renewer: &renewal.Renewer{Vault: core.Vault, Authority: core.Authority, Validity: set.Validity, Now: core.Now,
			Requester: authority.Requester(core.Actor)},
	}
}

// Scheduler is who the due pass records its changes as made by, on the
// host of host (this host's name as its changes record it).
func Scheduler(host string) audit.Actor {
	if host == "" {
		host = service.Hostname()
	}
	return audit.Actor{Type: audit.ActorScheduler, ID: "renew --due", Host: host}
}

// ReasonAborted is the reason given with FAILED for the certificates a
// due pass did not reach because an error (the store unavailable) ended it.
const ReasonAborted = "not done: the pass stopped on an error"

// Result is one certificate's outcome.
type Result struct {
	CertificateArn string `json:"CertificateArn"`
	DomainName     string `json:"DomainName,omitempty"`
	// Outcome is one of RENEWED NOT_DUE INELIGIBLE FAILED
	// PENDING_VALIDATION (renewal.Renewed …); a certificate an
	// interruption did not let the pass reach is FAILED with a reason
	// that begins "not done".
	Outcome string `json:"Outcome"`
	Reason  string `json:"Reason"`
	// Deployed reports that this run installed the certificate to a
	// deploy target, or tried to.
	Deployed bool `json:"-"`
	// Waiting reports that the outcome is a state the certificate was in
	// before this run (still waiting for validation or approval), not
	// something the run did: renew --due -q leaves it out, so that cron
	// does not mail it every pass.
	Waiting bool `json:"-"`
	// Advanced reports that the certificate's request, pending validation
	// before this run, ended in it: issued, timed out or failed (its
	// Reason says which). renew --due -q reports it.
	Advanced bool `json:"-"`
	// Targets are the certificate's deploy targets that this run
	// installed, tried to install, or left for their hosts (omitted when
	// there are none).
	Targets []TargetResult `json:"Targets,omitempty"`
	// life is how long the version a renewal issued is valid from its
	// issue (NotBefore is backdated): a --within as long is open at once.
	life time.Duration
}

// TargetResult is what a run did with one deploy target.
type TargetResult struct {
	// Target is the target's InUseBy label, "file:PATH (host NAME)".
	Target string `json:"Target"`
	// Host is the ID of the host the target belongs to ("" for a target
	// recorded before targets had hosts).
	Host string `json:"Host,omitempty"`
	// Outcome is INSTALLED, FAILED (install or command failed), HOOK_SKIPPED
	// (files installed, command not run: hooks off on this host),
	// OTHER_HOST (left for its host, or not this host's to install),
	// NOT_DONE (an interruption came first) or DELETED (the certificate
	// was deleted meanwhile: the files are left as they are, and no
	// renewal installs it again).
	Outcome string `json:"Outcome"`
	Reason  string `json:"Reason,omitempty"`
}

// Target outcomes.
const (
	TargetInstalled   = "INSTALLED"
	TargetFailed      = "FAILED"
	TargetHookSkipped = "HOOK_SKIPPED"
	TargetOtherHost   = "OTHER_HOST"
	// TargetNotDone: an interruption stopped the pass before it reached
	// the target of a certificate it renewed; the next due pass
	// installs it (service.OutcomeNotDone).
	TargetNotDone = service.OutcomeNotDone
	// TargetDeleted: the certificate was deleted (delete --force, by
	// another process or host) while the pass installed it; this host
	// forgot the target. Not a failed deployment.
	TargetDeleted = "DELETED"
)

// Report is the outcome of a renewal run.
type Report struct {
	Results []Result
	// DeployFailed reports that installing to a deploy target failed.
	DeployFailed bool
	// Selected reports a renewal of a selection (RenewSelected), where an
	// ineligible certificate counts as a failure.
	Selected bool
	// DryRun reports a report of what a run would do: its error says
	// what would fail.
	DryRun bool
	// Notices are messages for the operator (stderr): the commands not run
	// because hooks are off on this host.
	Notices []string
	// Interrupted reports that an interruption stopped the run: the
	// certificates it did not reach are FAILED ("not done: …"), and nothing was
	// deployed.
	Interrupted bool
}

// Err is the error of a run that was interrupted or in which a renewal
// or a deployment failed (exit 7), or nil.
func (r *Report) Err() error {
	if r.Interrupted {
		n := 0
		for _, res := range r.Results {
			if res.Reason == service.ReasonNotDone {
				n++
			}
		}
		if n == 0 {
			// Every certificate was reached: the deployments were not.
			return &errs.Error{Exit: errs.ExitPartial, Msg: "interrupted while deploying: run `certctl renew --due` again to install the rest"}
		}
		return service.Interrupted(n, len(r.Results), "certificates")
	}
	if r.Selected {
		return r.selectedErr()
	}
	failed := r.DeployFailed
	for _, res := range r.Results {
		failed = failed || res.Outcome == renewal.Failed
	}
	if failed && r.DryRun {
		return &errs.Error{Exit: errs.ExitPartial, Msg: "some renewals or deployments would fail (see the results)"}
	}
	if failed {
		return &errs.Error{Exit: errs.ExitPartial, Msg: "some renewals or deployments failed (see the results)"}
	}
	return nil
}

// DueOptions are the inputs of the due pass.
type DueOptions struct {
	DryRun bool
	// Within, when set, replaces the renewal windows (uncapped) for this
	// run.
	Within time.Duration
}

// RenewDue is the cron pass, recorded as made by the scheduler: for every
// certificate it advances a pending validation (checks, 72-hour timeout,
// issuance), moves an expired certificate to EXPIRED, emits the day's
// Approaching Expiration event, and renews an eligible certificate inside
// its window, each in a change of its own; then it installs the current
// version to every deploy target that does not hold it yet and runs their
// commands. A dry run changes nothing and reports what would happen.
func (s *Service) RenewDue(ctx context.Context, o DueOptions) (*Report, error) {
	return New(s.core.As(Scheduler(s.core.Actor.Host)), s.set).due(ctx, o)
}

func (s *Service) due(ctx context.Context, o DueOptions) (*Report, error) {
	policy := renewal.Policy{Window: s.set.Window, EmailWindow: s.set.EmailWindow, Within: o.Within}
	var certs []*localstore.Certificate
	var acct renewal.AccountConfig
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if acct, err = renewal.GetAccountConfig(tx); err != nil {
			return err
		}
		// Every origin: ACME certificates are not renewed here, but they
		// expire and get expiry events like the others.
		certs, err = tx.ListCertificates(localstore.CertificateFilter{Origins: inventory.Origins, SortBy: "NOT_AFTER"})
		return err
	}); err != nil {
		return nil, err
	}
	if !o.DryRun {
		if err := s.checkUnlocked(certs); err != nil {
			return nil, err
		}
	}
	rep := &Report{Results: make([]Result, 0, len(certs)), DryRun: o.DryRun}
	// stop reports the certificates from certs[i] on as not done: an
	// interruption stopped the pass (see service.Stopped) before it
	// reached them, or while it worked on certs[i], whose change was
	// not committed.
	stop := func(i int) {
		rep.Interrupted = true
		for _, c := range certs[i:] {
			rep.Results = append(rep.Results, Result{CertificateArn: s.core.Names.CertificateARN(c.ID), DomainName: c.DomainName,
				Outcome: renewal.Failed, Reason: service.ReasonNotDone})
		}
	}
	// abort reports, with err, what the pass did before err stopped it
	// at certs[i] (the store became unavailable: whatever was committed
	// stays so, and the user sees it) and the rest as not done.
	abort := func(i int, err error) (*Report, error) {
		for _, c := range certs[i:] {
			rep.Results = append(rep.Results, Result{CertificateArn: s.core.Names.CertificateARN(c.ID), DomainName: c.DomainName,
				Outcome: renewal.Failed, Reason: ReasonAborted})
		}
		return rep, err
	}
	// skip reports snap, when err is a refusal by a rule (exit 3, 4 or
	// 5), and the pass goes on — INELIGIBLE when it is gone (deleted
	// meanwhile by another process — tester: the pass stopped there, the
	// rest not done), FAILED for any other refusal, which the pass's exit
	// status then says (7); any other error stops it (abort).
	skip := func(snap *localstore.Certificate, err error) bool {
		if !ruleFailure(err) {
			return false
		}
		res := Result{CertificateArn: s.core.Names.CertificateARN(snap.ID), DomainName: snap.DomainName,
			Outcome: renewal.Failed, Reason: err.Error()}
		if errs.ExitCodeOf(err) == errs.ExitNotFound {
			res.Outcome = renewal.Ineligible
		}
		rep.Results = append(rep.Results, res)
		return true
	}
	for i, snap := range certs {
		if service.Stopped(ctx) {
			stop(i)
			break
		}
		if s.reaching != nil {
			s.reaching(snap.ID)
		}
		c, ended, err := s.validations.AdvancePending(ctx, snap, o.DryRun)
		if err != nil && service.Stopped(ctx) {
			stop(i)
			break
		}
		if skip(snap, err) {
			continue
		}
		if err != nil {
			return abort(i, err)
		}
		now := s.core.Now()
		res := Result{CertificateArn: s.core.Names.CertificateARN(c.ID), DomainName: c.DomainName}
		if o.DryRun {
			if ended {
				// What the pass would do first: end its request —
				// time it out, fail it or issue it (c is the request
				// as it would be then).
				res.Outcome, res.Reason = classify(policy, c, now)
				res.Reason = "dry run: would end its request: " + requestEnded(c, res.Reason)
				if requestFailed(c) {
					res.Outcome = renewal.Failed
				}
				if c.Status == inventory.StatusValidationTimedOut {
					res.Reason = "dry run: would time out its validation (not validated within 72 hours)"
				}
				res.Advanced = true // as the pass would tell it (review)
				rep.Results = append(rep.Results, res)
				continue
			}
			res.Outcome, res.Reason = classify(policy, c, now)
			if why := lapsed(c, now, c.Status != inventory.StatusExpired); why != "" && res.Outcome == renewal.Ineligible {
				res.Outcome, res.Reason = renewal.Failed, "dry run: would fail: "+why
			}
			// A certificate waiting as it was, which -q leaves out as the
			// pass does (review: the dry run listed it).
			res.Waiting = res.Outcome == renewal.PendingValidation
			if res.Outcome == "" {
				res.Outcome, res.Reason, res.Waiting = dryRevalidate(c)
			}
			if res.Outcome == "" {
				if res.Outcome, res.Reason, res.Waiting, err = s.dryDue(ctx, c, now); err != nil && service.Stopped(ctx) {
					stop(i)
					break
				} else if skip(snap, err) {
					continue
				} else if err != nil {
					return abort(i, err)
				}
			}
			rep.Results = append(rep.Results, res)
			continue
		}
		// expiring: this pass moved it to EXPIRED (another pass at once,
		// of this host or another, finds it moved: review).
		expiring := false
		if renewal.HousekeepingDue(c, acct.DaysBeforeExpiry, now) {
			if c, expiring, err = s.housekeep(ctx, c.ID, acct.DaysBeforeExpiry, now); err != nil && service.Stopped(ctx) {
				stop(i)
				break
			} else if skip(snap, err) {
				continue
			} else if err != nil {
				return abort(i, err)
			}
		}
		if res.Outcome, res.Reason = classify(policy, c, now); res.Outcome == renewal.PendingValidation {
			res.Waiting = true
		} else if ended && res.Outcome != "" {
			// Its request ended in this pass (issued, timed out, failed):
			// that happened, and -q reports it (tester: cron mailed
			// nothing) — once, by the pass that ended it (review: two
			// hosts' passes both told of it). A request that failed or
			// timed out is a failure of the pass (exit 7: on-call tester,
			// a request FAILED with CAA_ERROR in the pass exited 0).
			res.Advanced, res.Reason = true, requestEnded(c, res.Reason)
			if requestFailed(c) {
				res.Outcome = renewal.Failed
			}
		} else if why := lapsed(c, now, expiring); why != "" && res.Outcome == renewal.Ineligible {
			res.Outcome, res.Reason = renewal.Failed, why
		} else if res.Outcome == "" {
			if res, err = s.renew(ctx, c.ID, c, attempt{due: true, policy: policy}, now); err != nil && service.Stopped(ctx) {
				stop(i)
				break
			} else if skip(snap, err) {
				continue
			} else if err != nil {
				return abort(i, err)
			}
		}
		rep.Results = append(rep.Results, res)
	}
	if n := renewedWithin(rep.Results, o.Within); n > 0 {
		// Due again at once: a window as long as the certificate's life
		// opens at its issue (team tester: two passes in a row renewed
		// the same certificates twice).
		rep.Notices = append(rep.Notices, fmt.Sprintf("--within %s is as long as the life of %d certificate(s) renewed: their renewals are inside it from the start, so every pass with it renews them again",
			timeutil.FormatDuration(o.Within), n))
	}
	if o.DryRun && !rep.Interrupted {
		if err := s.dryDeploy(ctx, rep, true); err != nil {
			return rep, err
		}
	}
	if !o.DryRun {
		if err := s.redeployUnlessStopped(ctx, rep, true); err != nil {
			return rep, err // the renewals done are reported with the error
		}
		if !rep.Interrupted {
			// The renewals done stay reported when the purge fails: it
			// is told as a notice, and the next pass tries again.
			if err := s.purgeDeletedCAs(ctx); err != nil {
				rep.Notices = append(rep.Notices, "the keys of permanently deleted certificate authorities were not destroyed (the next pass tries again): "+err.Error())
			}
		}
	}
	return rep, nil
}

// checkUnlocked checks that the vault's master key can be opened when
// certs hold a key the vault sealed (a renewal, or the install of an
// imported certificate's new version, needs it): a pass that cron runs
// without the vault passphrase, or with one that no longer opens it,
// fails at once (exit 6), every pass, not on the day a renewal falls due
// (tester: it exited 0, silently, until then; see
// localstore.Vault.CheckUnlocked). A vault whose certificates hold no
// sealed key is not asked for one, nor is a dry run, which opens no key.
func (s *Service) checkUnlocked(certs []*localstore.Certificate) error {
	if s.core.Vault == nil {
		return nil
	}
	for _, c := range certs {
		if c.KeyPairOrigin == inventory.OriginVault || c.KeyPairOrigin == inventory.OriginImported {
			return service.MapError(s.core.Vault.CheckUnlocked())
		}
	}
	return nil
}

// purgeDeletedCAs destroys the keys of the CAs whose restore window has
// ended (authority.PurgeDeleted), recorded as their permanent deletion
// (DeleteCertificateAuthority, PermanentDeletion): the pass is the cron
// job that keeps the vault to its rules. Nothing to purge records nothing.
func (s *Service) purgeDeletedCAs(ctx context.Context) error {
	due := false
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		all, err := authority.List(tx)
		for _, r := range all {
			due = due || r.PurgeDue(s.core.Now())
		}
		return err
	}); err != nil || !due {
		return err
	}
	_, err := s.core.ChangeIf(ctx, "DeleteCertificateAuthority", func(op *service.Op) error {
		purged, err := authority.PurgeDeleted(op.Tx, op.Now)
		if err != nil {
			return err
		}
		if len(purged) == 0 {
			return service.ErrUnchanged
		}
		op.Param("PermanentDeletion", true)
		for _, r := range purged {
			op.Resource(s.core.Names.CAARN(r.ID))
		}
		return nil
	})
	return err
}

// redeployUnlessStopped is redeploy, unless an interruption stopped the
// run: then no target is installed and no command run, and the operator
// is told that the next due pass installs what was renewed (a target
// behind its certificate's version is installed by every due pass).
func (s *Service) redeployUnlessStopped(ctx context.Context, rep *Report, due bool) error {
	if !rep.Interrupted {
		return s.redeploy(ctx, rep, due)
	}
	var all map[string][]deploy.Target
	// A short read, made though the run was interrupted, to say so only
	// when it matters.
	if err := s.core.Read(context.WithoutCancel(ctx), func(tx localstore.Tx) error {
		var err error
		all, err = deploy.AllTargets(tx)
		return err
	}); err != nil {
		return nil
	}
	for _, r := range rep.Results {
		if r.Outcome == renewal.Renewed && len(all[idOf(r.CertificateArn)]) > 0 {
			rep.Notices = append(rep.Notices, "interrupted before deploying: the next `certctl renew --due` installs the certificates renewed to their deploy targets")
			break
		}
	}
	return nil
}

// Renew renews the certificate named by ref (ARN, UUID or prefix) now,
// whatever its window, and redeploys it (`renew ARN`). An ineligible
// certificate is refused (exit 5). An EMAIL-validated one first needs its
// names approved again: the first call starts that (PENDING_VALIDATION).
func (s *Service) Renew(ctx context.Context, ref string) (*Report, error) {
	var snap *localstore.Certificate
	err := s.core.Read(ctx, func(tx localstore.Tx) error {
		id, err := inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Renewing)
		if err != nil {
			return err
		}
		snap, err = tx.GetCertificate(id)
		return err
	})
	if err != nil && !ruleFailure(err) {
		return nil, err
	}
	// A refusal found now is met again, and recorded, in the change.
	res, err := s.renew(ctx, ref, snap, attempt{}, s.core.Now())
	if err != nil {
		return nil, err
	}
	rep := &Report{Results: []Result{res}}
	if err := s.redeploy(ctx, rep, false); err != nil {
		return nil, err
	}
	return rep, nil
}

// requestEnded is the reason reported for a certificate whose request the
// pass moved out of PENDING_VALIDATION; why is what the pass says of the
// certificate now (an issued one not yet exported is INELIGIBLE: review).
func requestEnded(c *localstore.Certificate, why string) string {
	switch c.Status {
	case inventory.StatusIssued:
		if why != "" {
			return "issued: domain validation succeeded; " + why
		}
		return "issued: domain validation succeeded"
	case inventory.StatusValidationTimedOut:
		return fmt.Sprintf("request timed out: not validated within %d hours", int(validation.Timeout.Hours()))
	}
	if c.FailureReason != "" {
		return "request " + c.Status + ": " + c.FailureReason
	}
	return "request " + c.Status
}

// renewedWithin counts the results of certificates renewed (RENEWED, not
// by a dry run) whose new version's life is no longer than within (0: not
// given): due again at once.
func renewedWithin(results []Result, within time.Duration) int {
	n := 0
	for _, r := range results {
		if within > 0 && r.Outcome == renewal.Renewed && r.life > 0 && r.life <= within {
			n++
		}
	}
	return n
}

// requestFailed reports whether c's request ended without a certificate:
// FAILED (a CAA record that forbids the issue, …) or VALIDATION_TIMED_OUT.
func requestFailed(c *localstore.Certificate) bool {
	return c.Status == inventory.StatusFailed || c.Status == inventory.StatusValidationTimedOut
}

// lapsed is why the pass fails for c, found expired at now, or "" when
// it does not: while it is still deployed (every pass: its targets serve
// an expired certificate until a new one is deployed there, or the
// target is removed), and, in the pass that expires it (expiring), when
// certctl was to renew it (exported, and eligible but for its expiry) —
// on-call tester: the pass that expired a deployed certificate whose
// renewal had failed reported it INELIGIBLE, printed nothing with -q and
// exited 0, as every pass after it. An expired certificate nobody uses
// is INELIGIBLE, as before.
func lapsed(c *localstore.Certificate, now time.Time, expiring bool) string {
	if c.NotAfter.IsZero() || !now.After(c.NotAfter) || c.Status != inventory.StatusExpired && c.Status != inventory.StatusIssued {
		return ""
	}
	failed := ""
	if r := c.Renewal; r != nil && r.Status == renewal.StatusFailed {
		failed = " after its renewal failed"
		if r.Reason != "" {
			failed += " (" + r.Reason + ")"
		}
	}
	if c.InUse() {
		remove := fmt.Sprintf("certctl deploy %s --remove --cert-file PATH, with --host HOST for another host's target", c.ID)
		if c.Type == inventory.TypeImported {
			// Renewed elsewhere and reimported, it keeps its ARN and
			// targets, which the next pass installs (review: the
			// advice threw the targets away).
			return fmt.Sprintf("expired%s, and still deployed to %s: reimport its renewed certificate (certctl reimport %s --certificate FILE --private-key FILE), which the next pass installs there, or stop deploying it (%s)",
				failed, strings.Join(c.InUseBy, ", "), c.ID, remove)
		}
		return fmt.Sprintf("expired%s, and still deployed to %s: deploy a new certificate there, after removing this one's target (%s)",
			failed, strings.Join(c.InUseBy, ", "), remove)
	}
	if !expiring || !c.Exported {
		return ""
	}
	live := *c
	live.Status = inventory.StatusIssued
	if ok, _ := renewal.Eligible(&live, c.NotAfter); !ok {
		return ""
	}
	return "expired before it was renewed" + failed + ": request a new certificate, and export it where this one is used"
}

// classify returns the outcome of c in the due pass when it is not to be
// renewed now, or "" when it is eligible and due. A renewal already started
// (`renew ARN` before the window, waiting for domain validation) is due:
// the pass finishes it.
func classify(p renewal.Policy, c *localstore.Certificate, t time.Time) (string, string) {
	if c.Status == inventory.StatusPendingValidation {
		return renewal.PendingValidation, "waiting for domain validation"
	}
	if ok, why := renewal.Eligible(c, t); !ok {
		return renewal.Ineligible, why
	}
	if !p.Due(c, t) && !validation.RenewalPending(c) {
		return renewal.NotDue, "due " + timeutil.RFC3339(c.NotAfter.Add(-p.WindowFor(c)))
	}
	return "", ""
}

// attempt is how a renewal is made: by the due pass (a certificate no
// longer due is reported, and a failed renewal recorded on the
// certificate), or for `renew ARN` (an ineligible certificate is refused,
// and a failure returned).
type attempt struct {
	due    bool
	policy renewal.Policy
}

// renew makes the renewal of the certificate named by ref at now one
// change, RenewCertificate, that checks it again in its transaction; snap
// is the certificate as read before (nil when it was not found), from
// which the work that must not hold the write lock is done first: the new
// key, and the DNS records or HTTP redirects checked again. A change that finds nothing to do
// (renewed meanwhile, still waiting for approvals) records nothing.
func (s *Service) renew(ctx context.Context, ref string, snap *localstore.Certificate, a attempt, now time.Time) (Result, error) {
	var pre precheck
	var key crypto.Signer
	if snap != nil && a.renewable(snap, now) {
		var err error
		if pre, err = s.recheck(ctx, snap); err != nil {
			return Result{}, service.MapError(err)
		}
		if !awaitingApproval(snap) {
			if key, err = renewal.NewKey(snap); err != nil {
				return Result{}, service.MapError(err)
			}
		}
	}
	var res Result
	var msgs []validation.Message
	var renewErr error
	_, err := s.core.ChangeIf(ctx, "RenewCertificate", func(op *service.Op) error {
		res, msgs, renewErr = Result{}, nil, nil
		c, arn, err := s.core.Certificate(op, ref, inventory.Renewing)
		if err != nil {
			return err
		}
		res.CertificateArn = arn
		before, err := storedForm(c)
		if err != nil {
			return err
		}
		res.DomainName = c.DomainName
		if a.due {
			if res.Outcome, res.Reason = classify(a.policy, c, now); res.Outcome != "" {
				res.Waiting = res.Outcome == renewal.PendingValidation
				return service.ErrUnchanged
			}
		} else if ok, why := renewal.Eligible(c, now); !ok {
			return errs.Refusedf("certificate %s is not eligible for renewal: %s", c.ID, why)
		}
		if res.Outcome, res.Reason, msgs, err = s.revalidate(op.Tx, c, pre, now, op.Events); err != nil {
			return err
		}
		if res.Outcome != "" {
			after, err := storedForm(c)
			if err != nil {
				return err
			}
			if after == before && len(msgs) == 0 && len(op.Events.Pending) == 0 {
				res.Waiting = res.Outcome == renewal.PendingValidation
				return service.ErrUnchanged
			}
			// Not renewed: the record says where the renewal was left,
			// and one that a definite failure holds back (CAA_ERROR) is a
			// FAILURE with its reason (tester: SUCCESS, no parameter).
			recordWaiting(op, c, res.Reason)
			return nil
		}
		if key == nil { // became due, or was approved, since the snapshot
			if key, err = renewal.NewKey(c); err != nil {
				return err
			}
		}
		if renewErr = s.renewer.Renew(op.Tx, c, key, op.Events); renewErr != nil {
			return renewErr
		}
		res.Outcome, res.life = renewal.Renewed, c.NotAfter.Sub(c.NotBefore.Add(casign.Backdate))
		return nil
	})
	switch {
	case err != nil && service.Stopped(ctx):
		// Interrupted in its transaction, which was rolled back under
		// its statements: not a renewal that failed (tester: FAILED with
		// "sql: transaction has already been committed or rolled back")
		// but one not done, as the pass reports those it did not reach.
		return Result{}, err
	case err != nil && renewErr != nil && a.due:
		// The reason code (PCA_INVALID_STATE, …: what describe and the
		// event show, and the README's outcome table names) leads the
		// message (tester: the report had only the words).
		code, reason := failedReason(renewErr)
		res.Outcome, res.Reason = renewal.Failed, reason
		s.recordFailureWhy(ctx, idOf(res.CertificateArn), code, renewErr.Error())
		return res, nil
	case err != nil:
		return Result{}, err
	}
	if err := s.sendApprovals(ctx, idOf(res.CertificateArn), msgs); err != nil {
		if !a.due {
			return Result{}, err
		}
		res.Outcome, res.Reason = renewal.Failed, err.Error()
	}
	return res, nil
}

// dryDue is what a dry run reports for c, due and not waiting for EMAIL
// approvals: the recheck the pass would make first (dryRecheck), then
// the renewal's refusal if any (dryRenew).
func (s *Service) dryDue(ctx context.Context, c *localstore.Certificate, now time.Time) (outcome, reason string, waiting bool, err error) {
	if outcome, reason, waiting, err = s.dryRecheck(ctx, c, now); err != nil || outcome != "" {
		return outcome, reason, waiting, err
	}
	outcome, reason, err = s.dryRenew(ctx, c, true)
	return outcome, reason, false, err
}

// dryRenew is what a dry run reports for c, due (or selected) and
// validated: Renewed, or the refusal the renewal would meet — its CA
// DISABLED, EXPIRED or DELETED, its record changed outside certctl
// (renewal.Renewer.Check) — as the renewal reports it: FAILED in a pass
// over the due certificates, INELIGIBLE or FAILED for a selection.
// The store's own failure (or an interruption) is the error, not an
// outcome: the pass stops on it as the real one does (review).
func (s *Service) dryRenew(ctx context.Context, c *localstore.Certificate, due bool) (string, string, error) {
	var refusal error
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		refusal = s.renewer.Check(tx, c)
		return nil
	}); err != nil {
		return "", "", err
	}
	switch {
	case refusal == nil:
		return renewal.Renewed, "dry run: would renew", nil
	case !due && ruleFailure(refusal):
		return renewal.Ineligible, "dry run: would be refused: " + refusal.Error(), nil
	}
	_, reason := failedReason(refusal)
	return renewal.Failed, "dry run: would fail: " + reason, nil
}

// failedReason is the reason code of a failed renewal (what describe and
// the event show, and the README's outcome table names) and its Reason:
// the message, led by the code unless it is OTHER (tester: the report had
// only the words; the dry run had no code).
func failedReason(err error) (code, reason string) {
	code, reason = renewal.FailureReason(err), err.Error()
	if code != "OTHER" {
		reason = code + ": " + reason
	}
	return code, reason
}

// renewable reports whether c, as read before the change, is to be
// renewed (so that the work outside the transaction is worth doing).
func (a attempt) renewable(c *localstore.Certificate, now time.Time) bool {
	if a.due {
		out, _ := classify(a.policy, c, now)
		return out == ""
	}
	ok, _ := renewal.Eligible(c, now)
	return ok
}

// recordFailure records a failed renewal on the certificate: RenewalSummary
// FAILED with ACM's reason code, and a Renewal Action Required event. The
// renewal already failed: a failure to record it is not reported over it.
func (s *Service) recordFailure(ctx context.Context, id, reason string) {
	s.recordFailureWhy(ctx, id, reason, "")
}

// recordFailureWhy is recordFailure with why the renewal failed, in words
// (never a secret), kept in the summary for describe ("": not known).
func (s *Service) recordFailureWhy(ctx context.Context, id, reason, message string) {
	_ = s.core.Change(ctx, "RecordRenewalFailure", func(op *service.Op) error {
		op.Resource(s.core.Names.CertificateARN(id))
		op.Param("RenewalStatusReason", reason)
		c, err := op.Tx.GetCertificate(id)
		if err != nil {
			return err
		}
		return renewal.RecordFailure(op.Tx, c, reason, message, op.Now, op.Events)
	})
}

// housekeep moves certificate id to EXPIRED, or emits its Approaching
// Expiration event of the day, as one change (ExpireCertificate or
// NotifyApproachingExpiration), and returns the certificate as it is now
// and whether this change moved it to EXPIRED.
func (s *Service) housekeep(ctx context.Context, id string, daysBefore int, now time.Time) (c *localstore.Certificate, expired bool, err error) {
	_, err = s.core.ChangeIf(ctx, "ExpireCertificate", func(op *service.Op) error {
		op.Resource(s.core.Names.CertificateARN(id))
		var err error
		if c, err = op.Tx.GetCertificate(id); err != nil {
			return err
		}
		was := c.Status
		changed, err := renewal.Housekeep(op.Tx, c, daysBefore, now, op.Events)
		expired = changed && was != inventory.StatusExpired && c.Status == inventory.StatusExpired
		switch {
		case err != nil:
			return err
		case !changed:
			return service.ErrUnchanged
		case c.Status != inventory.StatusExpired:
			op.Rename("NotifyApproachingExpiration")
			op.Param("DaysBeforeExpiry", daysBefore)
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	return c, expired, nil
}

// idOf is the certificate ID at the end of an ARN.
func idOf(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// ruleFailure reports whether err is a refusal by a rule (exit 3, 4 or 5)
// rather than a failure of the vault.
func ruleFailure(err error) bool {
	switch errs.ExitCodeOf(err) {
	case errs.ExitNotFound, errs.ExitInvalid, errs.ExitRefused:
		return true
	}
	return false
}
