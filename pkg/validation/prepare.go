package validation

import (
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
)

// Request describes the validation of a new ISSUED-type certificate.
type Request struct {
	Method string
	// Names are the certificate's validated, normalised names (the first
	// is the common name).
	Names []string
	// Options are the --domain-validation-options items.
	Options []DomainValidationOption
}

// CheckRequest checks what can be checked before the vault is opened:
// the method, the validation domains, HTTP's base URL and wildcards. Its
// errors carry exit codes (4 for invalid input).
func (s *Service) CheckRequest(req Request) (map[string]string, error) {
	vds, err := ValidationDomains(req.Names, req.Options)
	if err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	switch req.Method {
	case MethodDNS:
		for _, n := range req.Names {
			if err := CheckDNSRecordFits(n); err != nil {
				return nil, errs.Invalidf("%v", err).WithHint("use --validation-method EMAIL for it, or a shorter name")
			}
		}
	case MethodEmail:
	case MethodHTTP:
		if err := CheckHTTPBaseURL(s.Settings.HTTPBaseURL); err != nil {
			return nil, errs.Invalidf("%v", err).WithHint("certctl config set validation.http_base_url http://HOST:PORT")
		}
		for _, n := range req.Names {
			if dnsname.IsWildcard(n) {
				return nil, errs.Invalidf("%s: a wildcard name cannot be validated by HTTP", n).
					WithHint("use --validation-method DNS for wildcard names")
			}
		}
	default:
		return nil, &errs.Error{Exit: errs.ExitUsage, Err: enum.Error("--validation-method", req.Method, []string{MethodDNS, MethodEmail, MethodHTTP})}
	}
	return vds, nil
}

// Prepare turns c, a new ISSUED-type record (ID, tags, options and
// KeyAlgorithm set), into a PENDING_VALIDATION certificate with one
// validation per name, and stores it. For EMAIL it returns the messages to
// send once the transaction has committed — unless a name has no address
// that can receive them (ContactAddresses): then, as ACM does, the
// certificate is stored FAILED with NO_AVAILABLE_CONTACTS (that name's
// validation FAILED), no code is made and nothing is sent.
func (s *Service) Prepare(tx localstore.Tx, c *localstore.Certificate, req Request) ([]Message, error) {
	vds, err := s.CheckRequest(req)
	if err != nil {
		return nil, err
	}
	now := s.Now()
	c.Type = inventory.TypeIssued
	c.KeyPairOrigin = inventory.OriginVault
	c.Status = inventory.StatusPendingValidation
	c.DomainName = req.Names[0]
	c.SubjectAlternativeNames = append([]string(nil), req.Names...)
	c.ValidationMethod = req.Method
	c.Validations = nil
	if c.Extra == nil {
		c.Extra = map[string]string{}
	}
	var secret []byte
	if req.Method == MethodDNS {
		if secret, err = VaultSecret(tx); err != nil {
			return nil, err
		}
	}
	if req.Method == MethodEmail {
		noContacts := false
		for _, n := range req.Names {
			noContacts = noContacts || len(ContactAddresses(vds[n])) == 0
		}
		if noContacts {
			c.Status, c.FailureReason, c.UpdatedAt = inventory.StatusFailed, ReasonNoContacts, now
			for _, n := range req.Names {
				v := localstore.DomainValidation{DomainName: n, ValidationDomain: vds[n], Status: StatusPending, Method: req.Method,
					Emails: ContactAddresses(vds[n]), UpdatedAt: now}
				if len(v.Emails) == 0 {
					v.Status = StatusFailed
				}
				c.Validations = append(c.Validations, v)
			}
			return nil, tx.PutCertificate(c)
		}
	}
	var msgs []Message
	for _, n := range req.Names {
		v := localstore.DomainValidation{DomainName: n, ValidationDomain: vds[n], Status: StatusPending, Method: req.Method, UpdatedAt: now}
		switch req.Method {
		case MethodDNS:
			v.RecordName, v.RecordValue = DNSRecord(secret, s.Settings.Zone, n)
			v.RecordType = "CNAME"
		case MethodHTTP:
			var content string
			if v.RedirectFrom, v.RedirectTo, content, err = NewHTTPChallenge(s.Settings.HTTPBaseURL, n); err != nil {
				return nil, errs.Invalidf("%v", err)
			}
			c.Extra[httpContentKey(n)] = content
		case MethodEmail:
			v.Emails = ContactAddresses(v.ValidationDomain)
			m, err := s.newCode(tx, c, &v, now)
			if err != nil {
				return nil, err
			}
			msgs = append(msgs, m...)
		}
		c.Validations = append(c.Validations, v)
	}
	if err := tx.PutCertificate(c); err != nil {
		return nil, err
	}
	return msgs, nil
}

// newCode makes the approval code of v's name (superseding an earlier
// one), stores its hash and returns one message per address.
func (s *Service) newCode(tx localstore.Tx, c *localstore.Certificate, v *localstore.DomainValidation, now time.Time) ([]Message, error) {
	if old := c.Extra[codeKey(v.DomainName)]; old != "" {
		if err := supersedeCode(tx, old); err != nil {
			return nil, err
		}
	}
	code, id, err := newApprovalCode()
	if err != nil {
		return nil, err
	}
	expires := now.Add(Timeout)
	if c.Status == inventory.StatusPendingValidation && c.CreatedAt.Add(Timeout).Before(expires) {
		// A pending certificate times out 72 hours after it was
		// requested, whatever code is sent since: a resent code says
		// that time, not three days more (tester).
		expires = c.CreatedAt.Add(Timeout)
	}
	rec := codeRecord{CertificateID: c.ID, DomainName: v.DomainName, CreatedAt: now, ExpiresAt: expires}
	if err := putCode(tx, id, &rec, now); err != nil {
		return nil, err
	}
	c.Extra[codeKey(v.DomainName)] = id
	var msgs []Message
	for _, to := range v.Emails {
		msgs = append(msgs, Message{
			To: to, CertificateARN: s.arn(c.ID), DomainName: v.DomainName,
			ValidationDomain: v.ValidationDomain, Code: code, ExpiresAt: rec.ExpiresAt,
		})
	}
	return msgs, nil
}

func (s *Service) arn(id string) string {
	if s.ARN == nil {
		return id
	}
	return s.ARN(id)
}

// Resend makes a new approval code for domain of certificate id and
// returns the messages to send. They go to the addresses of
// validationDomain when it is set (domain or a superdomain of it), for
// these messages only: as in ACM, it is not saved, and the name keeps its
// own validation domain and addresses. The previous code of that name stops
// working. It also serves the re-approval of an ISSUED certificate's
// renewal (RenewalPending). It stores c in tx.
func (s *Service) Resend(tx localstore.Tx, id, domain, validationDomain string) ([]Message, error) {
	c, err := tx.GetCertificate(id)
	if err != nil {
		return nil, err
	}
	renewing := RenewalPending(c)
	if c.Status != inventory.StatusPendingValidation && !renewing {
		return nil, errs.Refusedf("certificate %s is %s: only a certificate pending validation takes validation email", id, c.Status)
	}
	if c.ValidationMethod != MethodEmail {
		return nil, errs.Refusedf("certificate %s is validated by %s, not EMAIL", id, c.ValidationMethod)
	}
	now := s.Now()
	if !renewing && TimedOut(c, now) {
		return nil, errs.Refusedf("the validation of certificate %s timed out (72 hours)", id)
	}
	name := dnsname.Normalize(domain)
	for i := range c.Validations {
		v := &c.Validations[i]
		if v.DomainName != name {
			continue
		}
		if v.Status != StatusPending {
			return nil, errs.Refusedf("%s of certificate %s is already %s", name, id, v.Status)
		}
		to := *v // whom these messages go to
		if validationDomain != "" {
			vd, err := CheckValidationDomain(name, validationDomain)
			if err != nil {
				return nil, errs.Invalidf("%v", err)
			}
			to.ValidationDomain, to.Emails = vd, ContactAddresses(vd)
			if len(to.Emails) == 0 {
				return nil, errs.Refusedf("no address of %s can receive validation email", vd).WithCode(ReasonNoContacts)
			}
		}
		v.UpdatedAt = now
		if c.Extra == nil {
			c.Extra = map[string]string{}
		}
		msgs, err := s.newCode(tx, c, &to, now)
		if err != nil {
			return nil, err
		}
		c.UpdatedAt = now
		return msgs, tx.PutCertificate(c)
	}
	e := errs.Invalidf("%s is not a name of certificate %s", domain, id)
	if strings.HasSuffix(domain, ".") {
		e = e.WithHint("give the name without its trailing dot, as the certificate names it")
	}
	return nil, e
}

// TimedOut reports whether the validation window of c, a certificate
// waiting for its first validation, has passed at now: the next check
// makes it VALIDATION_TIMED_OUT.
func TimedOut(c *localstore.Certificate, now time.Time) bool {
	return !now.Before(c.CreatedAt.Add(Timeout))
}
