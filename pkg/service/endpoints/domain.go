package endpoints

import (
	"context"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
	"github.com/certctl/certctl/pkg/validation"
)

// recordFunc names validation records as ISSUED-type requests do (SPEC
// section 4): stable for the vault and the name.
func recordFunc(tx localstore.Tx, zone string) acmestate.RecordFunc {
	return func(name string) (string, string, error) {
		secret, err := validation.VaultSecret(tx)
		if err != nil {
			return "", "", err
		}
		rn, rv := validation.DNSRecord(secret, zone, name)
		return rn, rv, nil
	}
}

// AddDomain registers a domain with the endpoint named by ref
// (AddAcmeDomain): VALID at once when preValidated, else PENDING with the
// CNAME record that proves it. Adding it again returns it, upgraded to
// VALID when preValidated. A domain none of whose names the endpoint's CA
// may issue for is refused (checkDomainCA).
func (s *Service) AddDomain(ctx context.Context, ref, name string, preValidated bool) (acmestate.DomainView, error) {
	var d *acmestate.Domain
	err := s.change(ctx, "AddAcmeDomain", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		op.Param("DomainName", name)
		op.Param("PreValidated", preValidated)
		var err error
		d, err = acmestate.AddDomain(op.Tx, ep, name, recordFunc(op.Tx, s.set.Zone), preValidated, op.Now,
			func(norm string) error {
				if !preValidated {
					if err := validation.CheckDNSRecordFits(norm); err != nil {
						return errs.Invalidf("%v", err).WithHint("add a shorter parent domain (it covers its subdomains), or mark it valid with --pre-validated")
					}
				}
				return s.checkDomainCA(op.Tx, ep, norm)
			})
		return err
	})
	if err != nil {
		return acmestate.DomainView{}, err
	}
	return acmestate.ViewDomain(d), nil
}

// checkDomainCA refuses a domain whose names the name constraints of the
// CA that ep issues from (or of a CA above it) forbid, every one of them
// (authority's CheckDomain, DOMAIN_NOT_ALLOWED): pre-approved, it would
// only turn each order under it into a rejectedIdentifier, and the
// administrator would learn that from a failing client. Like newOrder's
// check, it checks nothing when ep issues from the public-style hierarchy
// or its CA is gone or cannot issue now: describe shows the endpoint
// FAILED then, and finalize refuses with its own reason.
func (s *Service) checkDomainCA(tx localstore.Tx, ep *acmestate.Endpoint, name string) error {
	_, r, err := s.caFailure(tx, ep)
	if err != nil || r == nil {
		return err
	}
	return s.core.Authority.CheckDomain(tx, r, name)
}

// ListDomains lists the domain validations of the endpoint named by ref,
// sorted by name.
func (s *Service) ListDomains(ctx context.Context, ref string) ([]acmestate.DomainView, error) {
	out := []acmestate.DomainView{}
	err := s.read(ctx, ref, func(tx localstore.Tx, ep *acmestate.Endpoint) error {
		out = out[:0]
		ds, err := acmestate.ListDomains(tx, ep.ID)
		for _, d := range ds {
			out = append(out, acmestate.ViewDomain(d))
		}
		return err
	})
	return out, err
}

// DomainCheck is what `endpoint domain check` found.
type DomainCheck struct {
	Domain acmestate.DomainView
	// Notes say why a PENDING domain stayed PENDING or became FAILED
	// (each "DOMAIN: why").
	Notes []string
}

// CheckDomain looks a PENDING domain's CNAME record up through the
// configured resolvers, then its CAA records: it becomes VALID when the
// record is in place and CAA allows issuance, FAILED when CAA forbids it,
// and stays PENDING otherwise. A FAILED domain (its CAA forbade issuance)
// is checked again: it becomes VALID once the record is there and CAA
// allows issuance (tester: only removing and adding it again recovered it
// after the DNS was fixed), and stays FAILED otherwise. A change of status
// is recorded (CheckAcmeDomain); a check that changes nothing is a read.
func (s *Service) CheckDomain(ctx context.Context, ref, name string) (DomainCheck, error) {
	var d *acmestate.Domain
	if err := s.read(ctx, ref, func(tx localstore.Tx, ep *acmestate.Endpoint) error {
		var err error
		d, err = acmestate.GetDomain(tx, ep.ID, name)
		return err
	}); err != nil {
		return DomainCheck{}, err
	}
	var out DomainCheck
	if d.Status == acmestate.DomainPending || d.Status == acmestate.DomainFailed {
		status, note, err := s.lookUp(ctx, d)
		if err != nil {
			return DomainCheck{}, err
		}
		if note != "" {
			out.Notes = append(out.Notes, d.DomainName+": "+note)
		}
		if d.Status == acmestate.DomainFailed && status != acmestate.DomainValid {
			status = d.Status // a FAILED domain becomes VALID, or stays
		}
		if status != d.Status {
			was := d.Status
			err := s.change(ctx, "CheckAcmeDomain", d.EndpointID, func(op *service.Op, ep *acmestate.Endpoint) error {
				op.Param("DomainName", d.DomainName)
				cur, err := acmestate.GetDomain(op.Tx, ep.ID, d.DomainName)
				if err != nil {
					return err
				}
				if cur.Status == was {
					cur.Status, cur.UpdatedAt = status, op.Now
					if err := acmestate.PutDomain(op.Tx, cur); err != nil {
						return err
					}
				}
				op.Param("Status", cur.Status)
				d = cur
				return nil
			})
			if err != nil {
				return DomainCheck{}, err
			}
		}
	}
	out.Domain = acmestate.ViewDomain(d)
	return out, nil
}

// lookUp returns the status the DNS gives d now, with why when it is not
// VALID (PENDING when the record is not there yet or the lookup failed).
func (s *Service) lookUp(ctx context.Context, d *acmestate.Domain) (status, why string, err error) {
	r, err := validation.NewResolver(s.set.Resolvers)
	if err != nil {
		return "", "", errs.Failuref("%v", err)
	}
	ok, why, err := r.CheckDNS(ctx, d.RecordName, d.RecordValue)
	if err != nil || !ok {
		if why == "" && err != nil {
			why = err.Error()
		}
		return acmestate.DomainPending, why, nil
	}
	allowed, why, err := r.CheckCAA(ctx, d.DomainName, s.set.CAAIdentities)
	if err != nil {
		return acmestate.DomainPending, err.Error(), nil
	}
	if !allowed {
		return acmestate.DomainFailed, "CAA_ERROR: " + why, nil
	}
	return acmestate.DomainValid, "", nil
}

// RemoveDomain removes a domain validation from the endpoint named by ref
// (RemoveAcmeDomain) and returns it; its names are no longer pre-approved.
func (s *Service) RemoveDomain(ctx context.Context, ref, name string) (acmestate.DomainView, error) {
	var d *acmestate.Domain
	err := s.change(ctx, "RemoveAcmeDomain", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		op.Param("DomainName", name)
		var err error
		if d, err = acmestate.GetDomain(op.Tx, ep.ID, name); err != nil {
			return err
		}
		return acmestate.RemoveDomain(op.Tx, ep.ID, d.DomainName)
	})
	if err != nil {
		return acmestate.DomainView{}, err
	}
	return acmestate.ViewDomain(d), nil
}
