package endpoint

import (
	"context"

	acmeep "github.com/certctl/certctl/pkg/acme/endpoint"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
)

// recordFunc names validation records as ISSUED-type requests do (SPEC
// section 4): stable for the vault and the name.
func recordFunc(tx localstore.Tx, zone string) acmeep.RecordFunc {
	return func(name string) (string, string, error) {
		secret, err := validation.VaultSecret(tx)
		if err != nil {
			return "", "", err
		}
		rn, rv := validation.DNSRecord(secret, zone, name)
		return rn, rv, nil
	}
}

// checkDomain looks the domain's CNAME up, then its CAA records, and
// returns the new status (PENDING when the record is not there yet or the
// lookup failed).
func checkDomain(ctx context.Context, e *env, d *acmeep.Domain) (string, error) {
	r, err := validation.NewResolver(e.Cfg.Resolvers)
	if err != nil {
		return "", errs.Failuref("%v", err)
	}
	ok, why, err := r.CheckDNS(ctx, d.RecordName, d.RecordValue)
	if err != nil || !ok {
		if why != "" {
			e.F.IO.ErrOut.Write([]byte("certctl: " + d.DomainName + ": " + why + "\n"))
		} else if err != nil {
			e.F.IO.ErrOut.Write([]byte("certctl: " + d.DomainName + ": " + err.Error() + "\n"))
		}
		return acmeep.DomainPending, nil
	}
	allowed, why, err := r.CheckCAA(ctx, d.DomainName, e.Cfg.CAAIdentities)
	if err != nil {
		e.F.IO.ErrOut.Write([]byte("certctl: " + d.DomainName + ": " + err.Error() + "\n"))
		return acmeep.DomainPending, nil
	}
	if !allowed {
		e.F.IO.ErrOut.Write([]byte("certctl: " + d.DomainName + ": CAA_ERROR: " + why + "\n"))
		return acmeep.DomainFailed, nil
	}
	return acmeep.DomainValid, nil
}
