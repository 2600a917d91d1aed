package validation

import (
	"context"

	"github.com/certctl/certctl/pkg/localstore"
)

// CAAForbidden is the first name of c whose CAA records forbid this CA to
// issue for it (Status FAILED, Reason CAA_ERROR, Detail why), nil when none
// does. The DNS and HTTP checks look at CAA once a name is proved; this is
// for what is proved without them — an EMAIL approval — and for renewals
// that check nothing else (EMAIL, HTTP): RFC 8659 asks it before every
// issuance (tester: an EMAIL certificate was issued, and renewed, against
// a CAA record that forbade it). A name whose records cannot be read does
// not stop it: EMAIL validation is what a vault with no DNS at hand uses.
func (s *Service) CAAForbidden(ctx context.Context, c *localstore.Certificate) (*NameCheck, error) {
	r, err := s.resolver()
	if err != nil {
		return nil, nil
	}
	seen := map[string]bool{}
	for _, v := range c.Validations {
		if seen[v.DomainName] {
			continue
		}
		seen[v.DomainName] = true
		allowed, why, err := r.CheckCAA(ctx, v.DomainName, s.Settings.CAAIdentities)
		switch {
		case ctx.Err() != nil:
			return nil, ctx.Err()
		case err == nil && !allowed:
			return &NameCheck{DomainName: v.DomainName, Status: StatusFailed, Reason: ReasonCAA, Detail: why}, nil
		}
	}
	return nil, nil
}
