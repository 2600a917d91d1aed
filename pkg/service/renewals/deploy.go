package renewals

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/shellarg"
)

// host is this host's deploy identity.
func (s *Service) host() (deploy.Host, error) {
	if s.set.Host == nil {
		return deploy.Host{}, errors.New("renewals: no deploy host identity configured")
	}
	h, err := s.set.Host()
	if err != nil {
		return deploy.Host{}, fmt.Errorf("host identity: %w", err)
	}
	return h, nil
}

// hooks is how this host runs deploy targets' commands.
func (s *Service) hooks() deploy.Hooks {
	h := deploy.Hooks{Allow: s.set.AllowExec, Output: s.set.HookOutput}
	if s.core.Vault != nil {
		h.Env = s.core.Vault.HookEnv()
	}
	return h
}

// DeployResult is a certificate after a deploy.
type DeployResult struct {
	CertificateArn string
	// InUseBy are the certificate's deploy targets.
	InUseBy []string
	// Notices are messages for the operator (stderr): the targets at the
	// same path of another host that bears this host's name (see
	// deploy.Host.FormerSelf), left in place, with the command that
	// removes one.
	Notices []string
}

// Deploy installs the current version of the certificate named by ref into
// t's files and runs t's command, then records t, bound to this host (only
// this host installs it again; see deploy.Host), as one change,
// DeployCertificate (the certificate is in use from then on, and every
// renewal redeploys it). A target whose command failed is recorded all the
// same, as not yet done, so that the next `renew --due` retries it; the
// failure is returned (exit 1). A certificate that is not ISSUED, or whose
// key an ACME client holds, is refused (exit 5), and so recorded; so is a
// command where this host's hooks.allow_exec is off.
func (s *Service) Deploy(ctx context.Context, ref string, t deploy.Target) (*DeployResult, error) {
	host, err := s.host()
	if err != nil {
		return nil, err
	}
	var id string
	var m deploy.Material
	var in deploy.Identity
	seen := s.core.Witnessed()
	err = s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if id, err = inventory.ResolveCertificate(tx, s.core.Names, ref, inventory.Exporting); err != nil {
			return err
		}
		if t.Exec != "" && !s.set.AllowExec {
			return &errs.Error{Exit: errs.ExitRefused, Err: fmt.Errorf("deploy --exec refused: %w", deploy.ErrHooksOff)}
		}
		c, err := tx.GetCertificate(id)
		if err != nil {
			return err
		}
		if err := checkDeployable(c); err != nil {
			return err
		}
		if err := s.checkFilesFree(tx, host, id, t); err != nil {
			return err
		}
		// The files are written before the target is recorded: a log
		// that would refuse the record refuses the deploy before its
		// key is written, as an export's is (tester).
		if err := s.core.CheckRecordable(tx, seen); err != nil {
			return err
		}
		m, in, err = s.material(tx, c)
		return err
	})
	if err != nil {
		if ruleFailure(err) {
			return nil, s.core.Change(ctx, "DeployCertificate", func(op *service.Op) error {
				targetParams(op, t)
				if id == "" {
					op.Param("CertificateArn", ref)
				} else {
					op.Resource(s.core.Names.CertificateARN(id))
				}
				return err
			})
		}
		return nil, err
	}
	t = host.Bind(id, t)
	// The files are written and the install remembered under this host's
	// install lock: a pass of `renew --due` deciding meanwhile finds it
	// (see deploy.Host.LockInstalls), and neither writes the files nor
	// runs the command again. The command runs after it (see
	// runClaimed): it may take up to deploy.HookTimeout, and may itself
	// run certctl on this vault.
	unlock, err := host.LockInstalls(ctx)
	if err != nil {
		return nil, &errs.Error{Exit: errs.ExitFailure, Err: err}
	}
	written, err := host.WriteNoting(t, m)
	if err != nil {
		unlock()
		if mistake, fix := fsutil.PathMistake(err); mistake {
			// A path that cannot be a file (a directory, in a
			// directory that does not exist, behind a link another
			// user could have made): invalid input, as for every
			// command's output file.
			return nil, &errs.Error{Exit: errs.ExitInvalid, Err: err, Hint: fix}
		}
		return nil, &errs.Error{Exit: errs.ExitFailure, Err: err}
	}
	t.Version, t.LastError = m.Version, ""
	if err := host.Remember(id, t, in); err != nil {
		unlock()
		return nil, &errs.Error{Exit: errs.ExitFailure, Err: fmt.Errorf("written, but this host's record of its targets (%s) was not updated; not recorded, its command not run: %w", deploy.TargetsFile, err)}
	}
	release, st, claimErr := host.ClaimHook(id, t, in)
	unlock()
	// The files are in place and this host remembers them: the target is
	// recorded in the store before its command runs, so that the store
	// names every target this host installed even when certctl is killed
	// while the command runs (the next `renew --due` then finds the
	// target, and runs the command this host notes as pending again), and
	// even when an interruption (Ctrl-C, SIGTERM) cancels ctx.
	var labels, notices []string
	record := func(t deploy.Target, installErr error) error {
		return s.core.Change(context.WithoutCancel(ctx), "DeployCertificate", func(op *service.Op) error {
			targetParams(op, t)
			// The files are in place whenever it is recorded (also when
			// the command failed), as a renewal's record says of each
			// target (tester: the field was missing here).
			op.Param("Installed", true)
			op.Resource(m.CertificateARN)
			c, err := op.Tx.GetCertificate(id)
			if err != nil {
				return err
			}
			ts, err := deploy.Targets(op.Tx, id)
			if err != nil {
				return err
			}
			notices = nil
			for _, x := range ts {
				if x.CertFile == t.CertFile && host.FormerSelf(x) {
					notices = append(notices, fmt.Sprintf("%s: host %s (%s), another host of this host's name, has a deploy target at %s too; it is left for that host, which alone installs it — %s",
						m.CertificateARN, x.Host, x.HostID, x.CertFile, deploy.RebuiltHint(m.CertificateARN, x)))
				}
			}
			if installErr != nil {
				now := op.Now
				t.FailedAt = &now
				op.Failed(CodeDeploymentFailed, t.Label()+": "+deploy.FailureSummary(installErr))
			}
			if labels, err = deploy.AddTarget(op.Tx, id, t, op.Now); err != nil {
				return err
			}
			c.InUseBy = labels
			c.UpdatedAt = op.Now
			inventory.UpdateEligibility(c, op.Now)
			if err := op.Tx.PutCertificate(c); err != nil {
				return err
			}
			var hookErr *deploy.HookError
			if installErr == nil || errors.As(installErr, &hookErr) && hookErr.Interrupted {
				return nil
			}
			// The failure is new: `renew --due` retries the target on
			// every pass but tells only of failures new to it, so a
			// command broken from the first deploy would never be told
			// to an alert on this event (tester, from the README).
			d := events.CertificateDetail(c, op.Now)
			d["RenewalStatusReason"] = "OTHER"
			d["DeploymentErrors"] = []string{t.Label() + ": " + deploy.FailureSummary(installErr)}
			return op.Events.Emit(op.Tx, events.RenewalActionRequired, []string{m.CertificateARN}, d)
		})
	}
	if s.written != nil {
		s.written(id)
	}
	// A first record that fails (the store busy) does not keep the
	// command from running, as this host's record has it pending: it
	// runs, and the target is recorded after it, as before (review: the
	// command was left to no one).
	recordErr := record(t, nil)
	if errs.ExitCodeOf(recordErr) == errs.ExitNotFound {
		// Deleted meanwhile (delete --force, here or on another host):
		// no command runs for it and this host installs it no more
		// (tester: exit 3 "not found" after the command had run, and the
		// target left in this host's record).
		release()
		return nil, s.forgetDeleted(ctx, host, id, t, m.CertificateARN)
	}
	// The command runs; when it failed (or an interruption stopped it,
	// recorded as failed), the target is recorded again as not yet done:
	// the next `renew --due` retries it. The certificate is in the files
	// all the same: nothing older is installed over it
	// (deploy.Host.Decide).
	installErr := s.runClaimed(ctx, host, id, t, m, in, release, st, claimErr)
	if installErr != nil {
		t.Version, t.LastError, t.Failure = 0, installErr.Error(), deploy.FailureSummary(installErr)
		var noted *hookNotNoted
		if errors.As(installErr, &noted) {
			return nil, &errs.Error{Exit: errs.ExitFailure, Err: fmt.Errorf("installed, but %w", installErr)}
		}
	}
	if installErr != nil || recordErr != nil {
		if err := record(t, installErr); err != nil {
			return nil, err
		}
	}
	if installErr != nil {
		// The summary, not the command's words: an --exec may hold a
		// token, and deploy may run from a script whose output is mailed
		// (review; renew reports it so too).
		e := &errs.Error{Exit: errs.ExitFailure, Msg: "installed and recorded, but " + deploy.FailureSummary(installErr)}
		var hookErr *deploy.HookError
		if errors.As(installErr, &hookErr) && hookErr.OutputHidden {
			e.Hint = deploy.HookOutputHint
		}
		return nil, e
	}
	notices = append(notices, written...)
	if t.Exec != "" && s.set.SharedStore {
		notices = append(notices, SharedExecNotice)
	}
	return &DeployResult{CertificateArn: m.CertificateARN, InUseBy: labels, Notices: notices}, nil
}

// SharedExecNotice is what deploy --exec says on a shared store: the
// command is recorded as written, sealed by this host's key against
// change but readable by whoever reads the database (security tester: a
// bearer token in --exec reached every host and backup).
const SharedExecNotice = "the --exec command is recorded in the shared store as written: every host and reader of the database can read it (only this host runs it); keep secrets out of it — have the command read them from a file on this host"

// deletedMeanwhile reports whether certificate id is gone from the store
// (delete --force, by another process or host, since the pass read it):
// its targets' commands are not to run (see forgetInstalled). A read that
// fails otherwise says nothing: the record after the commands meets it.
func (s *Service) deletedMeanwhile(ctx context.Context, id string) bool {
	err := s.core.Read(context.WithoutCancel(ctx), func(tx localstore.Tx) error {
		_, err := tx.GetCertificate(id)
		return err
	})
	return errors.Is(err, localstore.ErrNotFound)
}

// forgetInstalled is the end of a pass's install of certificate id into
// the targets stale (written: whether each one's files were written) when
// the certificate was deleted meanwhile — before their commands ran, or
// (ran) while they ran: as for deploy (forgetDeleted), this host forgets
// the targets and the report says so, each target DELETED; the files are
// left as they are. It is not a failed deployment: nothing is left to
// deploy.
func (s *Service) forgetInstalled(ctx context.Context, rep *Report, res *Result, host deploy.Host, id string, all, stale []deploy.Target, written []bool, ran bool) {
	var labels []string
	for i, t := range stale {
		if written[i] {
			labels = append(labels, t.Label())
		}
	}
	why := "the certificate was deleted while it was being installed"
	if len(labels) > 0 {
		why += fmt.Sprintf(": the files of %s were written and are left as they are", strings.Join(labels, ", "))
	}
	switch {
	case ran:
		why += "; the commands run meanwhile are not recorded, and no renewal installs it again"
	default:
		why += "; no command was run, and no renewal installs it again"
	}
	reportDeleted(ctx, rep, res, host, id, all, stale, why)
}

// reportDeleted has this host forget its targets ts of certificate id
// (res), deleted meanwhile, and reports each DELETED, for why, with a
// notice.
func reportDeleted(ctx context.Context, rep *Report, res *Result, host deploy.Host, id string, all, ts []deploy.Target, why string) {
	if err := forgetTargets(ctx, host, id, ts); err != nil {
		why += fmt.Sprintf(" (this host's record of its targets, %s, still names it: %v)", deploy.TargetsFile, err)
	}
	for _, t := range ts {
		res.Targets = append(res.Targets, TargetResult{Target: deploy.LabelIn(all, t), Host: t.HostID, Outcome: TargetDeleted, Reason: why})
	}
	res.Reason = joinReason(res.Reason, why)
	rep.Notices = append(rep.Notices, res.CertificateArn+": "+why)
}

// forgetDeletedBefore reports certificate id (res), which the pass
// renewed or redeploys, as deleted before the pass installed it: its
// targets keep the files they had, and this host forgets its own (all:
// the certificate's targets the pass read first).
func (s *Service) forgetDeletedBefore(ctx context.Context, rep *Report, res *Result, host deploy.Host, id string, all []deploy.Target) {
	var own []deploy.Target
	for _, t := range all {
		if t.HostID == host.ID {
			own = append(own, t)
		}
	}
	if len(own) == 0 {
		return
	}
	reportDeleted(ctx, rep, res, host, id, all, own,
		"the certificate was deleted before it was installed: its deploy targets on this host keep the files they had, and no renewal installs it again")
}

// forgetTargets has this host forget its targets ts of certificate id,
// deleted meanwhile, under its install lock.
func forgetTargets(ctx context.Context, host deploy.Host, id string, ts []deploy.Target) error {
	unlock, err := host.LockInstalls(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	defer unlock()
	for _, t := range ts {
		if err := host.Forget(id, t); err != nil {
			return err
		}
	}
	return nil
}

// forgetDeleted is the end of a deploy of certificate id to t whose
// certificate was deleted once its files were written: this host forgets
// the target, and the error (exit 3) says what was done and what not.
func (s *Service) forgetDeleted(ctx context.Context, host deploy.Host, id string, t deploy.Target, arn string) error {
	msg := fmt.Sprintf("certificate %s was deleted while it was being deployed: its files (%s) were written and are left as they are; its command was not run, and no renewal installs it again", arn, t.Label())
	if err := forgetTargets(ctx, host, id, []deploy.Target{t}); err != nil {
		msg += fmt.Sprintf(" (this host's record of its targets, %s, still names it: %v)", deploy.TargetsFile, err)
	}
	return &errs.Error{Exit: errs.ExitNotFound, Msg: msg}
}

// checkFilesFree refuses (exit 5) a deploy of certificate id to t when a
// file of t is a file of another certificate's target on this host (the
// same path, or a link to it): each renewal pass would install one over
// the other, and run both commands.
func (s *Service) checkFilesFree(tx localstore.Tx, host deploy.Host, id string, t deploy.Target) error {
	// The certificate's own other targets on this host: one whose file is
	// another's (its key where the other has its certificate) would
	// replace it at every renewal (second tester). The same target
	// (its certificate file) deployed again is an update.
	own, err := deploy.Targets(tx, id)
	if err != nil {
		return err
	}
	for _, x := range own {
		if x.HostID != host.ID || deploy.SamePath(x.CertFile, t.CertFile) {
			continue
		}
		if f := t.Shared(x); f != "" {
			return errs.Invalidf("%s is a file of this certificate's deploy target %s on this host: two targets in one file would replace each other at every renewal", f, x.CertFile).
				WithHint("remove that target first (certctl deploy %s --remove --cert-file %s), or choose other files", id, shellarg.Quote(x.CertFile))
		}
	}
	others, err := host.OtherCertificates(id)
	if err != nil {
		return err
	}
	for _, other := range others {
		ts, err := deploy.Targets(tx, other)
		if err != nil {
			return err
		}
		for _, x := range ts {
			if x.HostID != host.ID {
				continue
			}
			if f := t.Shared(x); f != "" {
				return errs.Refusedf("%s is a file of certificate %s's deploy target on this host (%s): two certificates in one file would replace each other at every renewal", f, s.core.Names.CertificateARN(other), x.CertFile).
					WithHint("remove that target first: certctl deploy %s --remove --cert-file %s", other, shellarg.Quote(x.CertFile))
			}
		}
	}
	return nil
}

// RemoveResult is a certificate after `certctl deploy --remove`.
type RemoveResult struct {
	CertificateArn string
	// Removed are the targets removed.
	Removed []deploy.Target
	// RemovedLabels are their InUseBy labels, as they were.
	RemovedLabels []string
	// InUseBy are the certificate's deploy targets left.
	InUseBy []string
}

// RemoveTarget removes the deploy target at certFile of the certificate
// named by ref — this host's, or with hostRef (a host's ID, name, or the
// first characters of its ID as InUseBy shows them) another host's, such
// as this host's former self after its vault directory was rebuilt (see
// deploy.Host.Removal) — as one change, RemoveDeployTarget. The files
// stay where they are and nothing is run, on any host: no renewal
// installs that target again. The certificate's InUseBy and renewal
// eligibility follow (with no target left and not exported, it is no
// longer in use, nor eligible). No such target is not found (exit 3); a
// name that names several is invalid (exit 4). Both are recorded.
//
// A target of this host is also noted removed in the host's record
// (deploy.Host.Forget), under its install lock, so that the same sealed
// target put back into the database is not installed again.
func (s *Service) RemoveTarget(ctx context.Context, ref, certFile, hostRef string) (*RemoveResult, error) {
	host, err := s.host()
	if err != nil {
		return nil, err
	}
	unlock, err := host.LockInstalls(ctx)
	if err != nil {
		return nil, &errs.Error{Exit: errs.ExitFailure, Err: err}
	}
	defer unlock()
	var res RemoveResult
	var id string
	if err := s.core.Change(ctx, "RemoveDeployTarget", func(op *service.Op) error {
		res = RemoveResult{}
		op.Param("CertFile", certFile)
		if hostRef != "" {
			op.Param("Host", hostRef)
		}
		c, arn, err := s.core.Certificate(op, ref, inventory.Exporting)
		if err != nil {
			return err
		}
		id, res.CertificateArn = c.ID, arn
		ts, err := deploy.Targets(op.Tx, id)
		if err != nil {
			return err
		}
		drop, err := host.Removal(res.CertificateArn, ts, certFile, hostRef)
		if err != nil {
			return err
		}
		removed := make([]map[string]any, len(drop))
		for i, t := range drop {
			res.RemovedLabels = append(res.RemovedLabels, deploy.LabelIn(ts, t))
			removed[i] = map[string]any{"CertFile": t.CertFile}
			if t.HostID != "" {
				removed[i]["Host"] = t.HostID
			}
		}
		op.Param("Targets", removed)
		res.Removed = drop
		if res.InUseBy, err = deploy.DropTargets(op.Tx, id, drop, op.Now); err != nil {
			return err
		}
		c.InUseBy = res.InUseBy
		c.UpdatedAt = op.Now
		inventory.UpdateEligibility(c, op.Now)
		return op.Tx.PutCertificate(c)
	}); err != nil {
		return nil, err
	}
	for _, t := range res.Removed {
		if err := host.Forget(id, t); err != nil {
			return nil, &errs.Error{Exit: errs.ExitFailure, Err: fmt.Errorf("removed, but this host's record of its targets (%s) was not updated: %w", deploy.TargetsFile, err)}
		}
	}
	return &res, nil
}

// targetParams records the request parameters of a deploy: the paths, and
// whether a command is set (the command itself may hold anything).
func targetParams(op *service.Op, t deploy.Target) {
	for k, v := range targetFields(t) {
		op.Param(k, v)
	}
}

func targetFields(t deploy.Target) map[string]any {
	m := map[string]any{"CertFile": t.CertFile, "KeyFile": t.KeyFile, "Exec": t.Exec != ""}
	if t.HostID != "" {
		m["Host"] = t.HostID
	}
	if t.ChainFile != "" {
		m["ChainFile"] = t.ChainFile
	}
	if t.FullchainFile != "" {
		m["FullchainFile"] = t.FullchainFile
	}
	return m
}

func checkDeployable(c *localstore.Certificate) error {
	switch {
	case c.KeyPairOrigin == inventory.OriginACME:
		return errs.Refusedf("certificate %s belongs to an ACME client, which holds its key", c.ID)
	case c.Status != inventory.StatusIssued:
		return errs.Refusedf("certificate %s is %s, not ISSUED", c.ID, c.Status)
	}
	return nil
}

// material is the current version of certificate c and its key, as
// this host may install them (certificates.Service.Material).
func (s *Service) material(tx localstore.Tx, c *localstore.Certificate) (deploy.Material, deploy.Identity, error) {
	return certificates.New(s.core, certificates.Settings{}).Material(tx, c)
}

// redeploy installs the current version to every deploy target of this
// host that does not hold it yet — those of certificates renewed in this
// run and, in a due pass, any whose earlier install or command failed (so a
// failed reload is retried at every pass) or whose certificate was
// reimported since — and runs their commands where
// this host's hooks.allow_exec allows; the attempts on one certificate's
// targets are one change, DeployCertificate. Another host's target is left
// for that host and reported so (deploy.Host.Owns), as is one that names
// this host without its seal. A version this host does not install — one
// material refuses, or one older than what the host installed there
// (deploy.Host.Decide) — is reported FAILED for each of its targets,
// nothing written and nothing run; the comparison, the install and its
// record are made under the host's install lock, so that two passes at
// once install a version and run a command once. A failing target, or a command not run
// because hooks are off, is reported (the result's reason, DeployFailed,
// and a Renewal Action Required event when the failure is new); the
// renewal stands.
func (s *Service) redeploy(ctx context.Context, rep *Report, due bool) error {
	err := s.redeployAll(ctx, rep, due)
	if err != nil && service.Stopped(ctx) {
		// Stopped before every target was reached (an interruption
		// after the last one stopped nothing: review).
		// The renewals are reported; the deployments not reached are the
		// next due pass's (a target whose command an interruption
		// killed is run again then, see deploy.Host.HookFailed).
		rep.Interrupted = true
		rep.Notices = append(rep.Notices, "interrupted while deploying: the next `certctl renew --due` installs the certificates renewed to the targets not reached")
		return nil
	}
	return err
}

// allTargets reads every certificate's deploy targets and whether the
// store was copied from another (a store-wide fact, read once: see
// deploy.Host.Owns), as a pass decides which targets it installs.
func (s *Service) allTargets(ctx context.Context) (all map[string][]deploy.Target, copied bool, err error) {
	err = s.core.Read(ctx, func(tx localstore.Tx) error {
		var err error
		if all, err = deploy.AllTargets(tx); err != nil {
			return err
		}
		copied, err = deploy.CopiedStore(tx)
		return err
	})
	return all, copied, err
}

// redeployAll is redeploy, stopping at an interruption.
func (s *Service) redeployAll(ctx context.Context, rep *Report, due bool) error {
	all, copied, err := s.allTargets(ctx)
	if err != nil {
		return err
	}
	var host deploy.Host
	// This host's audit witness, read once before the installs' read
	// transactions (CheckRecordable): a witness older than the log is
	// sound, and a pass over many targets reads the file once, not once
	// a certificate.
	seen := s.core.Witnessed()
	for i := range rep.Results {
		res := &rep.Results[i]
		renewed := res.Outcome == renewal.Renewed
		id := idOf(res.CertificateArn)
		if (!renewed && !due) || len(all[id]) == 0 {
			continue
		}
		// Asked only where there is a target to reach: an interruption
		// when none is left stopped nothing.
		if service.Stopped(ctx) {
			s.reportNotDone(rep, i, all, host)
			return ctx.Err()
		}
		if host.ID == "" {
			var err error
			if host, err = s.host(); err != nil {
				return err
			}
		}
		var stale, ts []deploy.Target
		var left []TargetResult
		var refused []refusedTarget
		var m deploy.Material
		var in deploy.Identity
		err := s.core.Read(ctx, func(tx localstore.Tx) error {
			stale, left, refused = nil, nil, nil
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			if ts, err = deploy.Targets(tx, id); err != nil {
				return err
			}
			if c.Status != inventory.StatusIssued || (c.KeyPairOrigin != inventory.OriginVault && c.KeyPairOrigin != inventory.OriginImported) {
				// An imported certificate's new version comes by
				// reimport (its renewal, done elsewhere): it is
				// redeployed too.
				return nil
			}
			// The certificate's record says which certificate is
			// current; its version is read only for a target that may
			// not hold it (a due pass asks of every target).
			cur := deploy.Identity{Version: c.Version, Serial: c.Serial, NotBefore: c.NotBefore}
			for _, t := range ts {
				if !host.Stale(id, t, cur) {
					continue
				}
				t = host.Local(id, t)
				if ok, why := host.Owns(id, t, s.set.SharedStore, copied); !ok {
					outcome := TargetOtherHost
					if t.HostID == host.ID {
						// This host's own target, refused (not sealed by
						// it, or not as it recorded it): a deployment
						// that failed, which the host must hear of.
						outcome = TargetFailed
						refused = append(refused, refusedTarget{t, why})
					}
					if host.FormerSelf(t) {
						why += "; " + deploy.RebuiltHint(res.CertificateArn, t)
					}
					left = append(left, TargetResult{Target: deploy.LabelIn(ts, t), Host: t.HostID, Outcome: outcome, Reason: why})
					continue
				}
				stale = append(stale, t)
			}
			if len(stale) == 0 {
				return nil
			}
			// Its key is written before the install is recorded: a log
			// that would refuse the record refuses the install first, as
			// deploy's and export's (review: renew --due wrote the new key,
			// then exited 6).
			if err := s.core.CheckRecordable(tx, seen); err != nil {
				return err
			}
			m, in, err = s.material(tx, c)
			if errs.ExitCodeOf(err) == errs.ExitRefused {
				// A version this host does not install (see material):
				// each of its targets is refused, as a forged one is.
				for _, t := range stale {
					left = append(left, TargetResult{Target: deploy.LabelIn(ts, t), Host: t.HostID, Outcome: TargetFailed, Reason: t.Label() + ": " + err.Error()})
					refused = append(refused, refusedTarget{t, t.Label() + ": " + err.Error()})
				}
				stale = nil
				return nil
			}
			return err
		})
		if errors.Is(err, localstore.ErrNotFound) {
			// Deleted since the pass read its targets.
			s.forgetDeletedBefore(ctx, rep, res, host, id, all[id])
			continue
		}
		if err != nil {
			return err
		}
		if len(stale) > 0 {
			// Compare, write and remember under this host's install
			// lock: another certctl of this host that installed one of
			// these meanwhile is seen here, in this host's record, and
			// the target is left as it is (see deploy.Host.Decide). The
			// commands run after it (see deploy.Host.Write).
			unlock, err := host.LockInstalls(ctx)
			if err != nil {
				return err
			}
			written, writeErrs, claims, left, decided := s.writeStale(ctx, host, id, ts, stale, left, m, in)
			unlock()
			s.reportLeft(rep, res, left)
			s.recordRefused(ctx, rep, res.CertificateArn, id, append(refused, decided...))
			if len(written) == 0 {
				continue
			}
			if s.written != nil {
				s.written(id)
			}
			if err := s.finishStale(ctx, rep, res, host, id, ts, written, writeErrs, claims, m, in, renewed); err != nil {
				return err
			}
			continue
		}
		s.reportLeft(rep, res, left)
		s.recordRefused(ctx, rep, res.CertificateArn, id, refused)
	}
	return nil
}

// refusedTarget is a target of this host that a pass does not install,
// and why (its version refused, its record not as this host sealed it).
type refusedTarget struct {
	t   deploy.Target
	why string
}

// recordRefused records, for certificate id, the targets of this host a
// pass refused to install as failed attempts, in the store, where every
// host and the metrics see them (the target's last error): as one change,
// DeployCertificate (FAILURE), with a Renewal Action Required event, when
// a refusal is new — the same refusal at every later pass records nothing
// more (tester: a refused version was told to this host's cron mail
// alone: no event, no audit record, certctl_deploy_failed 0). A failure
// to record them is a notice of rep: the refusals are reported all the
// same, and the pass goes on (review: it stopped there). A target whose
// last error the pass read is set already has nothing new to record: no
// write transaction is begun for it at every pass (review).
func (s *Service) recordRefused(ctx context.Context, rep *Report, arn, id string, refused []refusedTarget) {
	refused = slices.DeleteFunc(refused, func(r refusedTarget) bool { return r.t.LastError != "" })
	if len(refused) == 0 {
		return
	}
	_, err := s.core.ChangeIf(context.WithoutCancel(ctx), "DeployCertificate", func(op *service.Op) error {
		op.Resource(arn)
		var fresh []string
		targets := make([]map[string]any, 0, len(refused))
		for _, r := range refused {
			isNew, err := deploy.RecordAttempt(op.Tx, id, r.t, 0, errors.New(r.why), op.Now)
			if err != nil {
				return err
			}
			if isNew {
				fresh = append(fresh, r.why)
			}
			f := targetFields(r.t)
			f["Installed"] = false
			targets = append(targets, f)
		}
		if len(fresh) == 0 {
			return service.ErrUnchanged
		}
		op.Param("Targets", targets)
		op.Failed(CodeDeploymentFailed, strings.Join(fresh, "; "))
		return emitDeploymentErrors(op, id, arn, fresh)
	})
	if err != nil {
		rep.Notices = append(rep.Notices, fmt.Sprintf("%s: the refused deployment could not be recorded in the store: %v", arn, err))
	}
}

// emitDeploymentErrors emits the Renewal Action Required event of the
// deployment failures fresh (new ones: see deploy.RecordAttempt) of
// certificate id, unless it was deleted meanwhile.
func emitDeploymentErrors(op *service.Op, id, arn string, fresh []string) error {
	c, err := op.Tx.GetCertificate(id)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	d := events.CertificateDetail(c, op.Now)
	d["RenewalStatus"] = renewal.StatusSuccess
	d["RenewalStatusReason"] = "OTHER"
	d["DeploymentErrors"] = fresh
	return op.Events.Emit(op.Tx, events.RenewalActionRequired, []string{arn}, d)
}

// CodeDeploymentFailed is the audit ErrorCode of a DeployCertificate
// change that recorded a target whose files could not be written or whose
// command failed (or was not run: hooks off).
const CodeDeploymentFailed = "DeploymentFailed"

// reportNotDone reports, for each certificate renewed from rep.Results[i]
// on, its targets of this host as NOT_DONE: an interruption came before
// the pass reached them, and the certificate's old files are still in
// place (tester: a renewal whose files were not installed read as a plain
// RENEWED). host is this host, or none yet read (each target is then
// taken for this host's: the pass would have judged it).
func (s *Service) reportNotDone(rep *Report, i int, all map[string][]deploy.Target, host deploy.Host) {
	for ; i < len(rep.Results); i++ {
		res := &rep.Results[i]
		if res.Outcome != renewal.Renewed {
			continue
		}
		ts := all[idOf(res.CertificateArn)]
		n := 0
		for _, t := range ts {
			if host.ID != "" && t.HostID != "" && t.HostID != host.ID {
				continue
			}
			res.Targets = append(res.Targets, TargetResult{Target: deploy.LabelIn(ts, t), Host: t.HostID, Outcome: TargetNotDone, Reason: service.ReasonNotDone})
			n++
		}
		if n > 0 {
			res.Reason = joinReason(res.Reason, "renewed, not deployed: the command was interrupted (the next `certctl renew --due` installs it)")
		}
	}
}

// reportLeft reports the targets not installed, on this host's word:
// another host's, and this host's own refused (a failed deployment).
func (s *Service) reportLeft(rep *Report, res *Result, left []TargetResult) {
	for _, l := range left {
		res.Targets = append(res.Targets, l)
		if l.Outcome == TargetFailed {
			res.Reason = joinReason(res.Reason, "deployment failed: "+l.Reason)
			rep.DeployFailed = true
			continue
		}
		res.Reason = joinReason(res.Reason, l.Reason)
	}
}

// claim is a target's command claimed under the install lock
// (deploy.Host.ClaimHook), to run after it.
type claim struct {
	release func()
	st      deploy.HookState
	err     error
}

// writeStale writes m, version in of certificate id (whose targets are
// all), to the candidate targets of this host that Decide admits, and
// remembers each one written in this host's record, its command pending
// — all under the host's install lock, which the caller holds, so that
// another certctl of this host deciding after it finds them installed and
// neither writes them nor runs their commands again. A candidate that
// holds in already with its command still pending (the certctl that ran
// it was killed meanwhile) is claimed to run it again, unless another
// process is running it now (reported INSTALLED, in left). It returns the
// targets attempted, the error of each (nil: written and remembered, or
// holding in already; its command is still to run), their commands'
// claims (see runClaimed), and left with the targets Decide refused
// added, which refused names too.
func (s *Service) writeStale(ctx context.Context, host deploy.Host, id string, all, candidates []deploy.Target, left []TargetResult,
	m deploy.Material, in deploy.Identity) (stale []deploy.Target, writeErrs []error, claims []claim, _ []TargetResult, refused []refusedTarget) {
	var pending []deploy.Target
	for _, t := range candidates {
		install, why, installed := host.Decide(id, t, in, s.core.Now())
		switch {
		case why != "" && s.superseded(ctx, id, in, installed):
			// Another certctl of this host renewed the certificate
			// meanwhile and installed the newer version: this one is
			// simply late (tester: two renewals at once, one FAILED).
			left = append(left, TargetResult{Target: deploy.LabelIn(all, t), Host: t.HostID, Outcome: TargetInstalled,
				Reason: fmt.Sprintf("%s: version %d, newer than this pass's %d, is installed already (another certctl of this host renewed it meanwhile)", t.Label(), installed, in.Version)})
		case why != "":
			left = append(left, TargetResult{Target: deploy.LabelIn(all, t), Host: t.HostID, Outcome: TargetFailed, Reason: why})
			refused = append(refused, refusedTarget{t, why})
		case install:
			stale = append(stale, t)
		default:
			pending = append(pending, t)
		}
	}
	writeErrs = make([]error, len(stale))
	claims = make([]claim, len(stale))
	for j, t := range stale {
		claims[j] = claim{release: func() {}}
		if writeErrs[j] = host.Write(t, m); writeErrs[j] != nil {
			continue
		}
		t.Version = m.Version
		if err := host.Remember(id, t, in); err != nil {
			// Not run: with the install not remembered, the next pass
			// writes it again and runs its command then.
			writeErrs[j] = &writtenErr{fmt.Errorf("written, but this host's record of its targets (%s) was not updated, and its command not run: %w", deploy.TargetsFile, err)}
			continue
		}
		var c claim
		c.release, c.st, c.err = host.ClaimHook(id, t, in)
		claims[j] = c
	}
	for _, t := range pending {
		release, st, err := host.ClaimHook(id, t, in)
		switch {
		case err == nil && st == deploy.HookNone:
			// Installed, its command run: another certctl of this
			// host did it meanwhile.
		case err == nil && st == deploy.HookRunning:
			left = append(left, TargetResult{Target: deploy.LabelIn(all, t), Host: t.HostID, Outcome: TargetInstalled,
				Reason: t.Label() + ": installed; its command is running in another certctl process of this host"})
		default:
			// The certctl that ran its command was killed meanwhile:
			// it runs now (the files hold in already).
			stale = append(stale, t)
			writeErrs = append(writeErrs, nil)
			claims = append(claims, claim{release: release, st: st, err: err})
		}
	}
	return stale, writeErrs, claims, left, refused
}

// superseded reports whether version in of certificate id is refused
// only because this process is late: this host installed a newer version
// there (installed, from Decide), and the store holds that version or a
// newer one still — not a store restored from an older backup (whose
// versions are behind what this host installed), which Decide's refusal
// is for.
func (s *Service) superseded(ctx context.Context, id string, in deploy.Identity, installed int) bool {
	if installed <= in.Version {
		return false
	}
	cur := 0
	if err := s.core.Read(ctx, func(tx localstore.Tx) error {
		c, err := tx.GetCertificate(id)
		if err == nil {
			cur = c.Version
		}
		return err
	}); err != nil {
		return false
	}
	return cur >= installed
}

// writtenErr is the failure of a target whose files were written (what
// came after them failed).
type writtenErr struct{ error }

func (e *writtenErr) Unwrap() error { return e.error }

// hookNotNoted is the failure to note in this host's record how a
// target's command ended (deploy.Host.HookDone, HookFailed).
type hookNotNoted struct {
	err   error // the failure of the command, or nil
	noted error
}

func (e *hookNotNoted) Error() string {
	if e.err != nil {
		return fmt.Sprintf("its command failed (%s), and this host's record of its targets (%s) was not updated: %v", deploy.FailureSummary(e.err), deploy.TargetsFile, e.noted)
	}
	return fmt.Sprintf("its command ran, but this host's record of its targets (%s) was not updated (the next pass runs it again): %v", deploy.TargetsFile, e.noted)
}

func (e *hookNotNoted) Unwrap() error { return e.noted }

// runClaimed runs the command of t, a target of certID id whose install
// of in (material m) this process wrote and remembered, and claimed with
// deploy.Host.ClaimHook under the install lock (release, st, claimErr),
// which the caller has released: it waits for a run of an earlier
// install's command another process is making (deploy.Host.AwaitHook),
// runs the command unless another process ran it meanwhile, notes under
// the install lock how it ended (HookDone, or HookFailed so that the
// next pass retries it), and releases the claim. It returns the command's
// failure (a claim that failed is one: the command was not run); a
// failure to note it is a *hookNotNoted.
func (s *Service) runClaimed(ctx context.Context, host deploy.Host, id string, t deploy.Target, m deploy.Material, in deploy.Identity,
	release func(), st deploy.HookState, claimErr error) error {
	if claimErr == nil && st == deploy.HookRunning {
		release, st, claimErr = host.AwaitHook(ctx, id, t, in)
	}
	var hookErr error
	switch {
	case claimErr != nil:
		hookErr = fmt.Errorf("%s: its command was not run: %w", t.Label(), claimErr)
	case st == deploy.HookNone:
		// No command, or another process ran it for this install.
		return nil
	default:
		hookErr = t.Hook(ctx, m.CertificateARN, s.hooks())
	}
	defer release()
	// Noted even when an interruption stopped the command (ctx
	// cancelled): the next pass runs it again.
	unlock, err := host.LockInstalls(context.WithoutCancel(ctx))
	if err != nil {
		return &hookNotNoted{err: hookErr, noted: err}
	}
	defer unlock()
	if hookErr != nil {
		err = host.HookFailed(id, t, in)
	} else {
		err = host.HookDone(id, t, in)
	}
	if err != nil {
		return &hookNotNoted{err: hookErr, noted: err}
	}
	return hookErr
}

// finishStale runs the commands of the targets writeStale wrote or
// claimed (stale, with writeErrs and the claims), outside the install
// lock (see runClaimed), records the attempts as one change
// (DeployCertificate) and reports them.
func (s *Service) finishStale(ctx context.Context, rep *Report, res *Result, host deploy.Host, id string, all []deploy.Target,
	stale []deploy.Target, writeErrs []error, claims []claim, m deploy.Material, in deploy.Identity, renewed bool) error {
	installErrs := writeErrs
	// installed: the files are in place, whatever came after them (the
	// command, noting it) — what the record's Installed says (tester: it
	// said false when only the command failed).
	installed := make([]bool, len(stale))
	for j := range stale {
		var written *writtenErr
		installed[j] = installErrs[j] == nil || errors.As(installErrs[j], &written)
	}
	if s.deletedMeanwhile(ctx, id) {
		for _, c := range claims {
			c.release()
		}
		s.forgetInstalled(ctx, rep, res, host, id, all, stale, installed, false)
		return nil
	}
	for j, t := range stale {
		if installErrs[j] != nil {
			continue
		}
		c := claims[j]
		installErrs[j] = s.runClaimed(ctx, host, id, t, m, in, c.release, c.st, c.err)
		var noted *hookNotNoted
		if errors.As(installErrs[j], &noted) {
			for _, c := range claims[j+1:] {
				c.release()
			}
			return fmt.Errorf("%s: %w", t.Label(), installErrs[j])
		}
	}
	var fresh []string
	// What was written is recorded even when an interruption stopped
	// the pass meanwhile: the files are in place.
	err := s.core.Change(context.WithoutCancel(ctx), "DeployCertificate", func(op *service.Op) error {
		fresh = nil
		op.Resource(res.CertificateArn)
		op.Param("Version", m.Version)
		// Deleted while the commands ran (one of them may have deleted
		// it): no install of it is recorded (review: a DeployCertificate
		// SUCCESS came after its DeleteCertificate).
		if _, err := op.Tx.GetCertificate(id); err != nil {
			return err
		}
		targets := make([]map[string]any, len(stale))
		for j, t := range stale {
			isNew, err := deploy.RecordAttempt(op.Tx, id, t, m.Version, installErrs[j], op.Now)
			if err != nil {
				return err
			}
			var stopped *deploy.HookError
			if installErrs[j] != nil && (isNew || renewed) && !(errors.As(installErrs[j], &stopped) && stopped.Interrupted) {
				fresh = append(fresh, t.Label()+": "+deploy.FailureSummary(installErrs[j]))
			}
			targets[j] = targetFields(t)
			targets[j]["Installed"] = installed[j]
			var hookErr *deploy.HookError
			if installErrs[j] != nil && !(errors.As(installErrs[j], &hookErr) && hookErr.Interrupted) {
				op.Failed(CodeDeploymentFailed, t.Label()+": "+deploy.FailureSummary(installErrs[j]))
			}
		}
		op.Param("Targets", targets)
		if len(fresh) == 0 {
			return nil
		}
		return emitDeploymentErrors(op, id, res.CertificateArn, fresh)
	})
	if errors.Is(err, localstore.ErrNotFound) {
		s.forgetInstalled(ctx, rep, res, host, id, all, stale, installed, true)
		return nil
	}
	if err != nil {
		return err
	}
	var failures, done []string
	interrupted := false
	for j, t := range stale {
		tr := TargetResult{Target: deploy.LabelIn(all, t), Host: t.HostID, Outcome: TargetInstalled}
		var hookErr *deploy.HookError
		switch err := installErrs[j]; {
		case err == nil:
			done = append(done, tr.Target)
		case errors.As(err, &hookErr) && hookErr.Skipped:
			tr.Outcome, tr.Reason = TargetHookSkipped, err.Error()
			failures = append(failures, err.Error())
			rep.Notices = append(rep.Notices, fmt.Sprintf("%s: %v", res.CertificateArn, err))
		case errors.As(err, &hookErr) && hookErr.Interrupted:
			// The files are in place; the interruption stopped (or
			// came before) the command, which the next pass runs:
			// not done, not failed (review).
			tr.Outcome, tr.Reason = TargetNotDone, t.Label()+": "+hookErr.Summary
			interrupted = true
		default:
			// Its summary, not the error: a failed command's words are
			// the target's --exec, which may hold a token, and the
			// report goes to cron's mail (tester); the target's label
			// names the files.
			why := t.Label() + ": " + deploy.FailureSummary(err)
			tr.Outcome, tr.Reason = TargetFailed, why
			failures = append(failures, why)
		}
		res.Targets = append(res.Targets, tr)
	}
	res.Deployed = true
	switch {
	case interrupted && len(failures) == 0:
		res.Reason = joinReason(res.Reason, "installed, but a command not run: the command was interrupted (the next `certctl renew --due` runs it)")
		rep.Interrupted = true // something left not done: exit 7
	case len(failures) > 0 && renewed:
		res.Reason = joinReason(res.Reason, "renewed, but deployment failed: "+strings.Join(failures, "; "))
	case len(failures) > 0:
		res.Reason = joinReason(res.Reason, "deployment failed: "+strings.Join(failures, "; "))
	case len(done) > 0 && !renewed:
		res.Reason = joinReason(res.Reason, "redeployed to "+strings.Join(done, ", "))
	}
	if len(failures) > 0 {
		rep.DeployFailed = true
	}
	return nil
}

// dryDeploy adds to a dry run's report what redeploying would meet on
// this host that it can know without installing: a deploy command of this
// host's target, with hooks off here (hooks.allow_exec; PostgreSQL's
// default), is not run — the run reports that deployment failed, exit 7
// (verification tester: the dry run said only "would renew"); and, in a
// due pass (due), a target of this host whose last deployment failed is
// tried again — a deployment failed until it succeeds, exit 7 too.
func (s *Service) dryDeploy(ctx context.Context, rep *Report, due bool) error {
	all, copied, err := s.allTargets(ctx)
	if err != nil {
		return err
	}
	var host deploy.Host
	for i := range rep.Results {
		res := &rep.Results[i]
		id := idOf(res.CertificateArn)
		ts := all[id]
		renewed := res.Outcome == renewal.Renewed
		if (!renewed && !due) || len(ts) == 0 {
			continue
		}
		for _, t := range ts {
			if host.ID == "" {
				var err error
				if host, err = s.host(); err != nil {
					return err
				}
			}
			// The targets the run installs here, as it decides it
			// (redeployAll): a target recorded without a host is this
			// host's on a store of its own (review: it was left out).
			if ok, _ := host.Owns(id, host.Local(id, t), s.set.SharedStore, copied); !ok {
				continue
			}
			switch {
			case renewed && t.Exec != "" && !s.set.AllowExec:
				msg := fmt.Sprintf("deploy hook of %s would not run: %v", t.Label(), deploy.ErrHooksOff)
				res.Targets = append(res.Targets, TargetResult{Target: deploy.LabelIn(ts, t), Host: t.HostID, Outcome: TargetHookSkipped, Reason: "dry run: " + msg})
				res.Reason = joinReason(res.Reason, "but deployment would fail: "+msg)
				rep.DeployFailed = true
			case !renewed && t.LastError != "" && s.wouldRetry(ctx, host, id, t):
				// A deployment that failed, which the pass tries again
				// (on-call tester: the dry run said NOT_DUE and exited 0,
				// the pass after it ran the failing command again and
				// exited 7). Its Failure, not LastError, which may quote
				// the command's output.
				why := t.Failure
				if why == "" {
					why = "it failed"
				}
				msg := fmt.Sprintf("deployment to %s failed and would be tried again (last attempt: %s)", t.Label(), why)
				res.Targets = append(res.Targets, TargetResult{Target: deploy.LabelIn(ts, t), Host: t.HostID, Outcome: TargetFailed, Reason: "dry run: " + msg})
				res.Reason = joinReason(res.Reason, msg)
				rep.DeployFailed = true
			}
		}
	}
	return nil
}

// wouldRetry reports whether a due pass installs target t of certificate
// id again, as redeployAll decides it: an ISSUED certificate whose key
// the vault holds (or imported), whose target may not hold its current
// version (host.Stale) — not a revoked or expired one's (review: the dry
// run said it would retry, exit 7, the pass did nothing, exit 0).
func (s *Service) wouldRetry(ctx context.Context, host deploy.Host, id string, t deploy.Target) bool {
	var c *localstore.Certificate
	if err := s.core.Read(ctx, func(tx localstore.Tx) (err error) {
		c, err = tx.GetCertificate(id)
		return err
	}); err != nil {
		return false
	}
	if c.Status != inventory.StatusIssued || (c.KeyPairOrigin != inventory.OriginVault && c.KeyPairOrigin != inventory.OriginImported) {
		return false
	}
	return host.Stale(id, t, deploy.Identity{Version: c.Version, Serial: c.Serial, NotBefore: c.NotBefore})
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
