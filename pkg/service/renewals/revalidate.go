package renewals

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
)

// Domain validation at renewal (ISSUED-type certificates, as in ACM):
//
//   - EMAIL: the first pass that finds the certificate due mails new
//     approval codes for every name and reports PENDING_VALIDATION (the
//     certificate stays ISSUED; RenewalSummary PENDING_VALIDATION; one
//     Renewal Action Required event). Later passes send nothing and report
//     PENDING_VALIDATION until `validate approve` has approved every name;
//     the next pass (or `renew ARN`) then renews.
//   - DNS and HTTP: the validation of every name is checked again before
//     each renewal attempt (validation.Recheck: the CNAME record, or a GET
//     of the RedirectFrom URL following redirects; then CAA), outside the
//     write transaction; while a record or redirect is missing or wrong
//     the renewal is PENDING_VALIDATION, with the name and what the check
//     found (for HTTP, the URL tried), and it renews at the first pass
//     that finds them all in place (as ACM renews an HTTP-validated
//     certificate only while its redirect is still there).
//   - EMAIL: before the renewal is issued, the CAA records of its names
//     are read (validation.CAAForbidden): one that forbids this CA keeps
//     it PENDING_VALIDATION with CAA_ERROR, as a DNS or HTTP renewal is.

// precheck is what was checked outside the write transaction.
type precheck struct {
	checks  []validation.NameCheck
	checked bool
	// forbidden is a name whose CAA records forbid the renewal of an
	// EMAIL certificate (nil: none, or not read).
	forbidden *validation.NameCheck
}

// needsRecheck reports whether c's renewal checks its names' validation
// again first: a DNS or an HTTP certificate (CAA with it).
func needsRecheck(c *localstore.Certificate) bool {
	if c.Type != inventory.TypeIssued {
		return false
	}
	return c.ValidationMethod == validation.MethodDNS || c.ValidationMethod == validation.MethodHTTP
}

// needsCAARecheck reports whether c's renewal reads its names' CAA records
// alone before it is issued: an EMAIL certificate whose names are all
// approved again (tester: it renewed against a CAA record that forbade
// it). A DNS or HTTP one reads them in its recheck.
func needsCAARecheck(c *localstore.Certificate) bool {
	return c.Type == inventory.TypeIssued && c.ValidationMethod == validation.MethodEmail &&
		validation.RenewalPending(c) && validation.AllValidated(c)
}

// awaitingApproval reports whether c's renewal waits for EMAIL approvals
// (so no key is to be made for it yet).
func awaitingApproval(c *localstore.Certificate) bool {
	if c.Type != inventory.TypeIssued || c.ValidationMethod != validation.MethodEmail {
		return false
	}
	return !validation.RenewalPending(c) || !validation.AllValidated(c)
}

// recheck runs the checks of c (its names' DNS records or HTTP redirects,
// or an EMAIL one's CAA records) when its renewal needs them (network:
// outside any transaction).
func (s *Service) recheck(ctx context.Context, c *localstore.Certificate) (precheck, error) {
	if needsCAARecheck(c) {
		forbidden, err := s.validations.Rules().CAAForbidden(ctx, c)
		return precheck{forbidden: forbidden}, err
	}
	if !needsRecheck(c) {
		return precheck{}, nil
	}
	checks, err := s.validations.Rules().Recheck(ctx, c)
	if err != nil {
		return precheck{}, err
	}
	return precheck{checks: checks, checked: true}, nil
}

// revalidate decides, in the write transaction, whether c — eligible and
// due — may be renewed now. It returns "" to renew, or the outcome and
// reason to report, with the approval messages to send once the
// transaction has committed.
func (s *Service) revalidate(tx localstore.Tx, c *localstore.Certificate, pre precheck, now time.Time, em *events.Emitter) (string, string, []validation.Message, error) {
	if c.Type != inventory.TypeIssued {
		return "", "", nil, nil
	}
	switch c.ValidationMethod {
	case validation.MethodEmail:
		if validation.RenewalPending(c) {
			if validation.AllValidated(c) {
				return s.caaForbids(tx, c, pre, now, em)
			}
			return renewal.PendingValidation, awaitingReason(c), nil, nil
		}
		msgs, err := s.validations.Rules().StartEmailRenewal(tx, c, now)
		if err != nil {
			return "", "", nil, err
		}
		if err := renewal.MarkPendingValidation(tx, c, "", now, em); err != nil {
			return "", "", nil, err
		}
		return renewal.PendingValidation, fmt.Sprintf("renewal needs re-approval: approval email sent for %s",
			strings.Join(validation.PendingNames(c), ", ")), msgs, nil
	case validation.MethodDNS, validation.MethodHTTP:
		if !pre.checked {
			return renewal.PendingValidation, "domain validation is checked again at the next pass", nil, nil
		}
		return s.caaForbids(tx, c, pre, now, em)
	}
	return "", "", nil, nil
}

// caaForbids records on c what its checks found (pre: a DNS or HTTP
// renewal's recheck, or an EMAIL one's CAA records) and, when they keep
// the renewal waiting (recheckVerdict), marks it PENDING_VALIDATION with
// the reason's code; "" to renew.
func (s *Service) caaForbids(tx localstore.Tx, c *localstore.Certificate, pre precheck, now time.Time, em *events.Emitter) (string, string, []validation.Message, error) {
	renew, reason, code := recheckVerdict(c, pre, now)
	if renew {
		return "", "", nil, nil
	}
	if err := renewal.MarkPendingValidation(tx, c, code, now, em); err != nil {
		return "", "", nil, err
	}
	return renewal.PendingValidation, reason, nil, nil
}

// recheckVerdict is what the checks pre (see recheck) decide of c's
// renewal, the pass's and the dry run's alike: renew, or wait for the
// reason given, whose RenewalStatusReason is code ("" is
// PENDING_DOMAIN_VALIDATION). It records on c what a recheck found of
// each name (validation.ApplyRecheck), and changes nothing else.
func recheckVerdict(c *localstore.Certificate, pre precheck, now time.Time) (renew bool, reason, code string) {
	switch {
	case pre.forbidden != nil:
		return false, "the CAA records of " + pre.forbidden.DomainName + " forbid it: " + pre.forbidden.Detail, validation.ReasonCAA
	case pre.checked:
		ok, why, code := validation.ApplyRecheck(c, pre.checks, now)
		if ok {
			return true, "", ""
		}
		return false, "domain validation no longer holds: " + why, code
	}
	return true, "", ""
}

// recordWaiting records on op, a RenewCertificate change that commits
// without renewing c (revalidate kept it waiting: approval mail sent,
// records or redirects gone, CAA forbidding it), the renewal state it left
// c in — RenewalStatus and RenewalStatusReason — and, when that reason is
// a definite failure rather than a wait for validation (CAA_ERROR, or
// another refusal of a name), records the change as a FAILURE with that
// code and why, the reason reported (which names the name and what was
// found; never a secret).
func recordWaiting(op *service.Op, c *localstore.Certificate, why string) {
	if c.Renewal == nil {
		return
	}
	op.Param("RenewalStatus", c.Renewal.Status)
	op.Param("RenewalStatusReason", c.Renewal.Reason)
	if c.Renewal.Reason != "" && c.Renewal.Reason != renewal.ReasonPendingDomainValidation {
		op.Failed(c.Renewal.Reason, why)
	}
}

// awaitingReason is the reason of an EMAIL renewal waiting for approvals.
func awaitingReason(c *localstore.Certificate) string {
	return "renewal waits for the approval of " + strings.Join(validation.PendingNames(c), ", ") +
		" (resend-validation-email sends a new code)"
}

// dryRevalidate is revalidate's EMAIL part for a dry run: no mail, no
// change. waiting: the pass would find the certificate waiting as it was
// (its approvals asked for already), which -q leaves out (tester: the dry
// run's -q printed it, the pass's nothing).
func dryRevalidate(c *localstore.Certificate) (outcome, reason string, waiting bool) {
	if c.Type != inventory.TypeIssued || c.ValidationMethod != validation.MethodEmail {
		return "", "", false
	}
	if !validation.RenewalPending(c) {
		return renewal.PendingValidation, "dry run: would send approval email for the renewal", false
	}
	if !validation.AllValidated(c) {
		return renewal.PendingValidation, awaitingReason(c), true
	}
	return "", "", false
}

// sendApprovals mails msgs; when that fails the renewal is recorded as
// FAILED, so that the next pass starts it again with new codes.
func (s *Service) sendApprovals(ctx context.Context, id string, msgs []validation.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	sendErr := s.validations.Send(ctx, msgs)
	if sendErr == nil {
		return nil
	}
	err := &errs.Error{Exit: errs.ExitFailure, Err: fmt.Errorf("approval email not sent: %w", sendErr)}
	s.recordFailureWhy(ctx, id, "OTHER", err.Error())
	return err
}

// storedForm is c as the store keeps it, to tell whether a change changed
// it.
func storedForm(c *localstore.Certificate) (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}

// dryRecheck is what a dry run reports for c, due and otherwise to be
// renewed, once it has made the checks the pass would make first (its
// names' DNS records or HTTP redirects, or an EMAIL one's CAA records:
// read only, nothing changed): "" when the renewal would go ahead, else
// the outcome and reason the pass would report, and whether the pass
// would find the certificate waiting as it was (so that -q leaves it out
// as the pass does). The dry run checked nothing before (review: it said
// "would renew" for a certificate whose record or redirect was gone). It
// decides as the pass does (recheckVerdict, renewal.SetPendingValidation),
// on a copy of what they change: c is the caller's (a selection renews it
// after the plan is shown).
func (s *Service) dryRecheck(ctx context.Context, c *localstore.Certificate, now time.Time) (outcome, reason string, waiting bool, err error) {
	pre, err := s.recheck(ctx, c)
	if err != nil {
		return "", "", false, err
	}
	outcome, reason, waiting = dryVerdict(c, pre, now)
	return outcome, reason, waiting, nil
}

// dryVerdict is dryRecheck's decision once the checks pre are made.
func dryVerdict(c *localstore.Certificate, pre precheck, now time.Time) (outcome, reason string, waiting bool) {
	cp := *c
	cp.Validations = slices.Clone(c.Validations)
	renew, reason, code := recheckVerdict(&cp, pre, now)
	if renew {
		return "", "", false
	}
	changed := renewal.SetPendingValidation(&cp, code, now)
	for i := range cp.Validations {
		changed = changed || cp.Validations[i].Status != c.Validations[i].Status
	}
	return renewal.PendingValidation, "dry run: would wait: " + reason, !changed
}
