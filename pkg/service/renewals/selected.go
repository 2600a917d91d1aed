package renewals

import (
	"context"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/service/certificates"
)

// RenewSelected renews now every certificate o selects (the selection of
// the certificates service, as search makes it), as `renew ARN` renews
// one: whatever its window, each in a RenewCertificate change of its own,
// then redeployed. A certificate that is not eligible is INELIGIBLE and
// its refusal recorded; the others are renewed all the same. The report's
// Err is exit 7 when some certificate was ineligible or failed.
func (s *Service) RenewSelected(ctx context.Context, o certificates.BulkOptions) (*Report, error) {
	sel, err := certificates.New(s.core, certificates.Settings{}).Select(ctx, o.Selection)
	if err != nil {
		return nil, err
	}
	now := s.core.Now()
	plan := &Report{Results: make([]Result, len(sel)), Selected: true, DryRun: true}
	doable := 0
	for i, c := range sel {
		r := Result{CertificateArn: c.CertificateArn, DomainName: c.DomainName}
		if ok, why := renewal.Eligible(c.Cert, now); !ok {
			r.Outcome, r.Reason = renewal.Ineligible, why
		} else if r.Outcome, r.Reason, r.Waiting = dryRevalidate(c.Cert); r.Outcome == "" {
			r.Outcome, r.Reason = renewal.Renewed, "dry run: would renew"
			if o.DryRun || o.Confirm != nil { // the plan is shown: checked as the renewal would, asked of the CA too
				if r.Outcome, r.Reason, r.Waiting, err = s.dryRecheck(ctx, c.Cert, now); err != nil {
					return nil, err
				}
				if r.Outcome == "" {
					if r.Outcome, r.Reason, err = s.dryRenew(ctx, c.Cert, false); err != nil {
						return nil, err
					}
				}
			}
		}
		if r.Outcome != renewal.Ineligible {
			doable++
		}
		plan.Results[i] = r
	}
	if o.DryRun {
		return plan, s.dryDeploy(ctx, plan, false)
	}
	if o.Confirm != nil && doable > 0 {
		if err := o.Confirm(plan.bulk()); err != nil {
			return nil, err
		}
	}
	rep := &Report{Results: make([]Result, len(sel)), Selected: true}
	for i, c := range sel {
		if service.Stopped(ctx) {
			rep.Interrupted = true
		}
		// Ineligible certificates go through the change too, so that
		// the refusal is recorded (and a certificate that became
		// eligible meanwhile is renewed).
		var res Result
		var err error
		if !rep.Interrupted {
			res, err = s.renew(ctx, c.ID, c.Cert, attempt{}, s.core.Now())
		}
		switch {
		case rep.Interrupted || (err != nil && service.Stopped(ctx)):
			// Not reached, or its change not committed.
			rep.Interrupted = true
			res = Result{CertificateArn: c.CertificateArn, DomainName: c.DomainName, Outcome: renewal.Failed, Reason: service.ReasonNotDone}
		case err != nil && ruleFailure(err):
			res = Result{CertificateArn: c.CertificateArn, DomainName: c.DomainName, Outcome: renewal.Ineligible, Reason: err.Error()}
		case err != nil:
			res = Result{CertificateArn: c.CertificateArn, DomainName: c.DomainName, Outcome: renewal.Failed, Reason: err.Error()}
		}
		rep.Results[i] = res
		if !rep.Interrupted {
			o.Advanced(i+1, len(sel))
		}
	}
	if err := s.redeployUnlessStopped(ctx, rep, false); err != nil {
		return nil, err
	}
	return rep, nil
}

// bulk is r in the shape of the certificates service's bulk reports (for
// a confirmation shared by every bulk command).
func (r *Report) bulk() *certificates.BulkReport {
	out := &certificates.BulkReport{Results: make([]certificates.BulkResult, len(r.Results)), DryRun: true}
	for i, res := range r.Results {
		b := certificates.BulkResult{CertificateArn: res.CertificateArn, DomainName: res.DomainName, Outcome: res.Outcome, Reason: res.Reason}
		if res.Outcome == renewal.Ineligible {
			b.Outcome = certificates.OutcomeRefused
		}
		out.Results[i] = b
	}
	return out
}

// failedSelected is how many certificates of a selection were not renewed
// because they were ineligible or failed.
func (r *Report) failedSelected() int {
	n := 0
	for _, res := range r.Results {
		if res.Outcome == renewal.Failed || res.Outcome == renewal.Ineligible {
			n++
		}
	}
	return n
}

// selectedErr is Err for a renewal of a selection.
func (r *Report) selectedErr() error {
	if n := r.failedSelected(); (n > 0 || r.DeployFailed) && r.DryRun {
		return &errs.Error{Exit: errs.ExitPartial, Msg: "some certificates are ineligible or would fail to renew or deploy (see the results)"}
	}
	if n := r.failedSelected(); n > 0 || r.DeployFailed {
		return &errs.Error{Exit: errs.ExitPartial, Msg: "some certificates were ineligible or failed to renew or deploy (see the results)"}
	}
	return nil
}
