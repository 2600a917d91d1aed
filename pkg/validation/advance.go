package validation

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/events"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// NameCheck is what a check found for one name.
type NameCheck struct {
	DomainName string
	Status     string
	// Detail says why a name is not validated (or failed).
	Detail string
	// Reason is ACM's FailureReason code of a FAILED name: CAA_ERROR for
	// a forbidding CAA record, OTHER for a CNAME chain that is too long.
	Reason string
}

// Outcome is the result of ApplyChecks.
type Outcome struct {
	// Certificate is the record after the checks.
	Certificate *localstore.Certificate
	// Checks has one entry per name, in the certificate's order (none when
	// the certificate was not pending validation).
	Checks []NameCheck
	// Changed reports that this advance stored a change (not another
	// process's, seen).
	Changed bool
}

// Send delivers approval messages through the mailer.
func (s *Service) Send(ctx context.Context, msgs []Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if s.Mailer == nil {
		return errors.New("no mailer configured")
	}
	return s.Mailer.Send(ctx, msgs)
}

// Checked is what CheckPending found outside any transaction, for
// ApplyChecks to record.
type Checked struct {
	// Checks has one entry per name (none when the validation had
	// already timed out).
	Checks []NameCheck
	// Key is the key of the certificate to issue, made beforehand when
	// every name passed: RSA key generation is slow and must not hold the
	// write lock.
	Key crypto.Signer
	// Now is when the checks ran.
	Now time.Time
}

// Pending reports whether c is an ISSUED-type certificate pending
// validation, the only kind CheckPending and ApplyChecks act on.
func Pending(c *localstore.Certificate) bool {
	return c.Status == inventory.StatusPendingValidation && c.Type == inventory.TypeIssued
}

// CheckPending checks every pending name of c (as read before) now: DNS and
// HTTP names over the network, through the configured resolvers; EMAIL
// names wait for their approval code. It stores nothing (ApplyChecks
// records the result) and runs outside any transaction. Only a cancelled
// context or a failed key generation is an error.
func (s *Service) CheckPending(ctx context.Context, c *localstore.Certificate) (*Checked, error) {
	ch := &Checked{Now: s.Now()}
	if !Pending(c) || TimedOut(c, ch.Now) {
		return ch, nil
	}
	var err error
	if ch.Checks, err = s.runChecks(ctx, c); err != nil {
		return nil, err
	}
	if allSucceed(c, ch.Checks) {
		if ch.Key, err = x509util.GenerateKey(c.KeyAlgorithm); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

// ApplyChecks records ch on certificate id, read again in tx: it times the
// certificate out once 72 hours have passed, fails it on a forbidding CAA
// record (or a CNAME chain that is too long), issues it once every name is
// validated, and otherwise stores the names' new statuses. It reports
// whether it changed anything (a certificate no longer pending, or whose
// names' statuses are unchanged, is left alone).
func (s *Service) ApplyChecks(tx localstore.Tx, id string, ch *Checked, em *events.Emitter) (*Outcome, bool, error) {
	c, err := tx.GetCertificate(id)
	if err != nil {
		return nil, false, err
	}
	changed := false
	switch {
	case !Pending(c):
	case TimedOut(c, ch.Now):
		changed = true
		err = s.expire(tx, c, ch.Now)
	default:
		changed, err = s.apply(tx, c, ch.Checks, ch.Key, ch.Now, em)
	}
	if err != nil {
		return nil, false, err
	}
	checks := ch.Checks
	if c.Status == inventory.StatusValidationTimedOut && checks == nil {
		for _, v := range c.Validations {
			checks = append(checks, NameCheck{DomainName: v.DomainName, Status: v.Status, Detail: "not validated within 72 hours"})
		}
	}
	return &Outcome{Certificate: c, Checks: checks}, changed, nil
}

// allSucceed reports whether every name of c is validated once checks
// are applied.
func allSucceed(c *localstore.Certificate, checks []NameCheck) bool {
	for _, v := range c.Validations {
		if v.Status == StatusSuccess {
			continue
		}
		ok := false
		for _, ch := range checks {
			if ch.DomainName == v.DomainName && ch.Status == StatusSuccess {
				ok = true
			}
		}
		if !ok {
			return false
		}
	}
	return len(c.Validations) > 0
}

// runChecks checks the pending names of c.
func (s *Service) runChecks(ctx context.Context, c *localstore.Certificate) ([]NameCheck, error) {
	var r *Resolver
	var rerr error
	if c.ValidationMethod == MethodDNS || c.ValidationMethod == MethodHTTP {
		r, rerr = s.resolver()
	}
	dnsDone := map[string]NameCheck{} // by record name: a wildcard shares its base's record
	out := make([]NameCheck, 0, len(c.Validations))
	for _, v := range c.Validations {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ch := NameCheck{DomainName: v.DomainName, Status: v.Status}
		if v.Status != StatusPending {
			out = append(out, ch)
			continue
		}
		switch v.Method {
		case MethodEmail:
			ch.Detail = "waiting for the approval code sent to " + strings.Join(v.Emails, ", ")
			out = append(out, ch)
			continue
		case MethodDNS, MethodHTTP:
			if rerr != nil {
				ch.Detail = rerr.Error()
				out = append(out, ch)
				continue
			}
		default:
			ch.Detail = "unknown validation method " + v.Method
			out = append(out, ch)
			continue
		}
		var ok bool
		var why string
		if v.Method == MethodDNS {
			prev, seen := dnsDone[v.RecordName]
			if !seen {
				var err error
				var tooLong bool
				ok, why, tooLong, err = r.checkDNS(ctx, v.RecordName, v.RecordValue)
				if err != nil {
					ok, why = false, err.Error()
				}
				prev = NameCheck{Status: map[bool]string{true: StatusSuccess, false: StatusPending}[ok], Detail: why}
				if tooLong {
					prev.Status, prev.Reason = StatusFailed, ReasonOther
				}
				dnsDone[v.RecordName] = prev
			}
			if prev.Status == StatusFailed {
				ch.Status, ch.Detail, ch.Reason = prev.Status, prev.Detail, prev.Reason
				out = append(out, ch)
				continue
			}
			ok, why = prev.Status == StatusSuccess, prev.Detail
		} else {
			hc := &HTTPChecker{Resolver: r, Port: s.Settings.HTTPPort}
			ok, why = hc.Check(ctx, v.DomainName, v.RedirectFrom, c.Extra[httpContentKey(v.DomainName)])
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !ok {
			ch.Detail = why
			out = append(out, ch)
			continue
		}
		allowed, why, err := r.CheckCAA(ctx, v.DomainName, s.Settings.CAAIdentities)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			ch.Detail = "validated, but the CAA check could not be done: " + err.Error()
		case !allowed:
			ch.Status, ch.Detail, ch.Reason = StatusFailed, why, ReasonCAA
		default:
			ch.Status = StatusSuccess
		}
		out = append(out, ch)
	}
	return out, nil
}

// apply records checks on c (read again in tx) and fails or issues it. It
// reports whether c changed.
func (s *Service) apply(tx localstore.Tx, c *localstore.Certificate, checks []NameCheck, key crypto.Signer, now time.Time, em *events.Emitter) (bool, error) {
	changed, failure := decide(c, checks, now)
	switch {
	case failure != "":
		c.Status, c.FailureReason, c.UpdatedAt = inventory.StatusFailed, failure, now
		return true, tx.PutCertificate(c)
	case allSucceed(c, nil):
		return true, s.issue(tx, c, key, now, em)
	case changed:
		c.UpdatedAt = now
		return true, tx.PutCertificate(c)
	}
	return false, nil
}

// decide sets on c (pending) the statuses checks found for its pending
// names and returns whether one changed, and the FailureReason of the
// first that failed ("" when none did).
func decide(c *localstore.Certificate, checks []NameCheck, now time.Time) (changed bool, failure string) {
	for i := range c.Validations {
		v := &c.Validations[i]
		if v.Status != StatusPending {
			continue
		}
		for _, ch := range checks {
			if ch.DomainName != v.DomainName || ch.Status == v.Status {
				continue
			}
			v.Status, v.UpdatedAt, changed = ch.Status, now, true
			if ch.Status == StatusFailed && failure == "" {
				failure = ch.Reason
				if failure == "" {
					failure = ReasonOther
				}
			}
		}
	}
	return changed, failure
}

// expire moves c to VALIDATION_TIMED_OUT.
func (s *Service) expire(tx localstore.Tx, c *localstore.Certificate, now time.Time) error {
	timeOut(c, now)
	return tx.PutCertificate(c)
}

// timeOut sets c and its pending names VALIDATION_TIMED_OUT.
func timeOut(c *localstore.Certificate, now time.Time) {
	for i := range c.Validations {
		if v := &c.Validations[i]; v.Status == StatusPending {
			v.Status, v.UpdatedAt = StatusTimedOut, now
		}
	}
	c.Status, c.UpdatedAt = inventory.StatusValidationTimedOut, now
}

// Foresee is what advancing c (a pending request, as read before) would
// do now, for a dry run: its pending names checked as CheckPending checks
// them (DNS queries, HTTP GETs: read only; no key made), then applied to
// a copy of c as ApplyChecks would, nothing stored or signed. The copy is
// VALIDATION_TIMED_OUT, FAILED with its reason, ISSUED (it would be
// issued; the CA may still refuse at signing) or still
// PENDING_VALIDATION with its names' new statuses; ended reports the
// first three (tester: a dry run said "waiting" for a request the pass
// then issued or failed).
func (s *Service) Foresee(ctx context.Context, c *localstore.Certificate) (*localstore.Certificate, bool, error) {
	if !Pending(c) {
		return c, false, nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, false, err
	}
	cp := &localstore.Certificate{}
	if err := json.Unmarshal(b, cp); err != nil {
		return nil, false, err
	}
	now := s.Now()
	if TimedOut(cp, now) {
		timeOut(cp, now)
		return cp, true, nil
	}
	checks, err := s.runChecks(ctx, cp)
	if err != nil {
		return nil, false, err
	}
	_, failure := decide(cp, checks, now)
	switch {
	case failure != "":
		cp.Status, cp.FailureReason, cp.UpdatedAt = inventory.StatusFailed, failure, now
	case allSucceed(cp, nil):
		cp.Status, cp.UpdatedAt = inventory.StatusIssued, now
	default:
		return cp, false, nil
	}
	return cp, true, nil
}

// issue signs c from the built-in public-style CA with key (generated now
// when nil) and records it, with a Certificate Available event (ISSUANCE).
// A CA refusal (duration, state) fails the certificate with its code.
func (s *Service) issue(tx localstore.Tx, c *localstore.Certificate, key crypto.Signer, now time.Time, em *events.Emitter) error {
	if key == nil {
		var err error
		if key, err = x509util.GenerateKey(c.KeyAlgorithm); err != nil {
			return err
		}
	}
	caRec, err := s.Authority.EnsurePublic(tx, key.Public())
	if err != nil {
		return err
	}
	issued, err := s.Authority.IssueLeaf(tx, caRec, authority.LeafParams{
		CertID: c.ID, Names: c.SubjectAlternativeNames, PublicKey: key.Public(), Validity: s.Settings.Validity,
		Requester: s.Requester, GeneratedKey: true,
	})
	var ce *errs.Error
	if errors.As(err, &ce) && ce.Exit != errs.ExitFailure && ce.Exit != errs.ExitVaultUnavailable {
		reason := ce.Code
		if reason == "" {
			reason = "OTHER"
		}
		c.Status, c.FailureReason, c.UpdatedAt = inventory.StatusFailed, reason, now
		return tx.PutCertificate(c)
	}
	if err != nil {
		return err
	}
	c.CertificateAuthorityID = caRec.ID
	if err := inventory.StoreIssued(tx, s.Vault, c, issued.Certificate, issued.ChainPEM, key, now); err != nil {
		return err
	}
	return em.EmitAvailable(tx, c, events.ActionIssuance)
}

// Approval is what an approval code claims, read before the change that
// uses it (ReadApproval).
type Approval struct {
	CertificateID string
	DomainName    string
	// KeyAlgorithm is the certificate's; Issues reports whether using the
	// code will issue the certificate (its last pending name), so that
	// the key can be made beforehand, outside the write transaction.
	KeyAlgorithm string
	Issues       bool
	// TimedOut reports whether the certificate's validation has timed
	// out (the code is then refused and the certificate is to be moved
	// to VALIDATION_TIMED_OUT; see CheckPending and ApplyChecks).
	TimedOut bool
}

// CheckCodeSyntax refuses (exit 4) what cannot be an approval code.
func CheckCodeSyntax(code string) error {
	if !validCodeSyntax(code) {
		// Never echo what was given: it may be a real code with a typo or
		// with the mail's "Approval code:" label around it.
		// The alphabet is named: a 32-character typo (a 0 for an O, a 1
		// for an I) was told it was 32 letters and digits (tester).
		return errs.Invalidf("that is not an approval code: a code is 32 characters, the letters A-Z and the digits 2-7 (spaces and dashes ignored); %d characters given", len(NormalizeCode(code)))
	}
	return nil
}

// ReadApproval reads the record of code and its certificate in tx and
// checks that the code can be used now. An unknown code is not found (exit
// 3); a malformed one is invalid (exit 4); a used, superseded or expired
// one, or one whose certificate has nothing to approve, is refused (exit 5).
func (s *Service) ReadApproval(tx localstore.Tx, code string) (*Approval, error) {
	if err := CheckCodeSyntax(code); err != nil {
		return nil, err
	}
	now := s.Now()
	rec, err := getCode(tx, codeID(code))
	if err != nil {
		if errors.Is(err, localstore.ErrNotFound) {
			return nil, errs.NotFoundf("unknown approval code")
		}
		return nil, err
	}
	if err := codeUsable(rec, now); err != nil {
		return nil, err
	}
	c, err := tx.GetCertificate(rec.CertificateID)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, errs.Refusedf("the certificate of this approval code was deleted")
	}
	if err != nil {
		return nil, err
	}
	if c.Status != inventory.StatusPendingValidation && !RenewalPending(c) {
		return nil, errs.Refusedf("certificate %s is %s: nothing to approve", c.ID, c.Status)
	}
	a := &Approval{CertificateID: c.ID, DomainName: rec.DomainName, KeyAlgorithm: c.KeyAlgorithm}
	if c.Status == inventory.StatusPendingValidation {
		a.TimedOut = TimedOut(c, now)
		a.Issues = !a.TimedOut && allSucceed(c, []NameCheck{{DomainName: rec.DomainName, Status: StatusSuccess}})
	}
	return a, nil
}

// Approve uses an approval code in tx: the name it was sent for is
// validated, and the certificate is issued (with key, made now when nil)
// when it was the last. For the re-approval of an ISSUED certificate's
// renewal (RenewalPending) the name is only marked validated: `renew`
// issues the new version. It returns the certificate and the approved
// name; the certificate also with a refusal, when the code named one. The
// validation of a certificate that has timed out is refused (it is moved to
// VALIDATION_TIMED_OUT by ApplyChecks, not here).
//
// forbidden, when set (CAAForbidden, read before tx), is a name whose CAA
// records forbid the issue: a certificate the code would issue is FAILED
// with CAA_ERROR instead.
func (s *Service) Approve(tx localstore.Tx, code string, key crypto.Signer, em *events.Emitter, forbidden *NameCheck) (*localstore.Certificate, string, error) {
	if err := CheckCodeSyntax(code); err != nil {
		return nil, "", err
	}
	now := s.Now()
	id := codeID(code)
	rec, err := getCode(tx, id)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, "", errs.NotFoundf("unknown approval code")
	}
	if err != nil {
		return nil, "", err
	}
	c, err := tx.GetCertificate(rec.CertificateID)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, "", errs.Refusedf("the certificate of this approval code was deleted")
	}
	if err != nil {
		return nil, "", err
	}
	if err := codeUsable(rec, now); err != nil {
		return c, rec.DomainName, err
	}
	renewing := RenewalPending(c)
	if c.Status != inventory.StatusPendingValidation && !renewing {
		return c, rec.DomainName, errs.Refusedf("certificate %s is %s: nothing to approve", c.ID, c.Status)
	}
	if !renewing && TimedOut(c, now) {
		return c, rec.DomainName, errs.Refusedf("the validation of certificate %s timed out (72 hours)", c.ID)
	}
	rec.UsedAt = now
	if err := putCode(tx, id, rec, now); err != nil {
		return nil, "", err
	}
	found := false
	for i := range c.Validations {
		if v := &c.Validations[i]; v.DomainName == rec.DomainName && v.Status == StatusPending {
			v.Status, v.UpdatedAt, found = StatusSuccess, now, true
		}
	}
	if !found {
		return c, rec.DomainName, errs.Refusedf("%s of certificate %s is not pending validation", rec.DomainName, c.ID)
	}
	c.UpdatedAt = now
	if err := tx.PutCertificate(c); err != nil {
		return nil, "", err
	}
	if renewing {
		// The renewal itself is issued by the next renew pass.
		return c, rec.DomainName, nil
	}
	if forbidden != nil && allSucceed(c, nil) {
		for i := range c.Validations {
			if v := &c.Validations[i]; v.DomainName == forbidden.DomainName {
				v.Status, v.UpdatedAt = StatusFailed, now
			}
		}
		c.Status, c.FailureReason, c.UpdatedAt = inventory.StatusFailed, ReasonCAA, now
		return c, rec.DomainName, tx.PutCertificate(c)
	}
	if _, err := s.apply(tx, c, nil, key, now, em); err != nil {
		return nil, "", err
	}
	return c, rec.DomainName, nil
}

func codeUsable(rec *codeRecord, now time.Time) error {
	switch {
	case !rec.UsedAt.IsZero():
		return errs.Refusedf("this approval code was already used (%s)", rec.UsedAt.UTC().Format(time.RFC3339))
	case rec.Superseded:
		return errs.Refusedf("this approval code was replaced by a newer one (resend-validation-email)")
	case !now.Before(rec.ExpiresAt):
		return errs.Refusedf("this approval code expired at %s", rec.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return nil
}

// Records are the DNS records the user must create for c, one per
// distinct record (a wildcard shares its base name's).
func Records(c *localstore.Certificate) []Record {
	var out []Record
	seen := map[string]bool{}
	for _, v := range c.Validations {
		if v.RecordName == "" || seen[v.RecordName] {
			continue
		}
		seen[v.RecordName] = true
		out = append(out, Record{DomainName: v.DomainName, Name: v.RecordName, Type: v.RecordType, Value: v.RecordValue})
	}
	return out
}

// Record is one DNS validation record.
type Record struct {
	DomainName string `json:"DomainName"`
	Name       string `json:"Name"`
	Type       string `json:"Type"`
	Value      string `json:"Value"`
}

// String renders r as a zone file line.
func (r Record) String() string {
	return fmt.Sprintf("%s 300 IN %s %s", r.Name, r.Type, r.Value)
}
