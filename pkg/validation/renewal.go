package validation

import (
	"context"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Renewal validation (SPEC section 3, renew): an ISSUED-type certificate
// stays ISSUED — and usable — while the validation of its renewal is
// pending; its RenewalSummary is PENDING_VALIDATION and its per-name
// validations show what is still to do. EMAIL names need new approval
// codes (one mail per renewal; resend-validation-email sends again); DNS
// records and HTTP redirects are checked again at every renewal pass.

// RenewalPending reports whether c is an ISSUED certificate whose renewal
// waits for domain validation.
func RenewalPending(c *localstore.Certificate) bool {
	return c.Status == inventory.StatusIssued && c.Type == inventory.TypeIssued &&
		c.Renewal != nil && c.Renewal.Status == StatusPending
}

// AllValidated reports whether every name of c is validated (SUCCESS).
func AllValidated(c *localstore.Certificate) bool { return allSucceed(c, nil) }

// StartEmailRenewal starts the re-approval of c, an EMAIL-validated ISSUED
// certificate that is due for renewal: every name goes back to
// PENDING_VALIDATION with a new approval code (earlier codes stop
// working). It returns the messages to send once the transaction has
// committed; the caller stores c.
func (s *Service) StartEmailRenewal(tx localstore.Tx, c *localstore.Certificate, now time.Time) ([]Message, error) {
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	var msgs []Message
	for i := range c.Validations {
		v := &c.Validations[i]
		v.Status, v.UpdatedAt = StatusPending, now
		if v.Method == "" {
			v.Method = MethodEmail
		}
		if len(v.Emails) == 0 {
			v.Emails = ContactAddresses(v.ValidationDomain)
		}
		m, err := s.newCode(tx, c, v, now)
		if err != nil {
			return nil, err
		}
		msgs = append(msgs, m...)
	}
	c.UpdatedAt = now
	return msgs, nil
}

// PendingNames lists the names of c that are not validated.
func PendingNames(c *localstore.Certificate) []string {
	var out []string
	for _, v := range c.Validations {
		if v.Status != StatusSuccess {
			out = append(out, v.DomainName)
		}
	}
	return out
}

// Recheck checks the validation of every name of c, a DNS- or
// HTTP-validated ISSUED certificate due for renewal, again — its CNAME
// record or its RedirectFrom URL (a real GET following redirects), then
// CAA — as ACM does before it renews (it renews an HTTP-validated
// certificate only while the redirect is still in place). It is the check
// CheckPending runs, on every name. It changes nothing; ApplyRecheck
// records the result. Only a cancelled context is returned as an error.
func (s *Service) Recheck(ctx context.Context, c *localstore.Certificate) ([]NameCheck, error) {
	cp := *c
	cp.Validations = append([]localstore.DomainValidation(nil), c.Validations...)
	for i := range cp.Validations {
		cp.Validations[i].Status = StatusPending
	}
	return s.runChecks(ctx, &cp)
}

// ApplyRecheck records checks (from Recheck) on c: a name whose record
// or redirect is in place becomes SUCCESS, any other PENDING_VALIDATION (the
// certificate itself stays ISSUED). It reports whether every name passed
// and, when not, why, with ACM's reason code of a definite failure (such as
// CAA_ERROR) when there is one. The caller stores c.
func ApplyRecheck(c *localstore.Certificate, checks []NameCheck, now time.Time) (ok bool, why, reason string) {
	var details []string
	for i := range c.Validations {
		v := &c.Validations[i]
		st, detail := StatusPending, "not checked"
		for _, ch := range checks {
			if ch.DomainName == v.DomainName {
				st, detail = ch.Status, ch.Detail
				if ch.Status == StatusFailed && reason == "" {
					reason = ch.Reason
				}
			}
		}
		if st != StatusSuccess {
			st = StatusPending
			details = append(details, v.DomainName+": "+detail)
		}
		if v.Status != st {
			v.Status, v.UpdatedAt = st, now
		}
	}
	if len(details) == 0 && len(c.Validations) > 0 {
		return true, "", ""
	}
	return false, strings.Join(details, "; "), reason
}
