package endpoints

import (
	"context"
	"errors"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// ListAccounts lists the ACME accounts of the endpoint named by ref, oldest
// first, each with the number of its orders.
func (s *Service) ListAccounts(ctx context.Context, ref string) ([]acmestate.AccountView, error) {
	out := []acmestate.AccountView{}
	err := s.read(ctx, ref, func(tx localstore.Tx, ep *acmestate.Endpoint) error {
		out = out[:0]
		as, err := acmestate.ListAccounts(tx, ep.ID)
		if err != nil {
			return err
		}
		counts, err := acmestate.CountOrders(tx, ep.ID)
		if err != nil {
			return err
		}
		for _, a := range as {
			out = append(out, acmestate.ViewAccount(a, counts[a.ID]))
		}
		return nil
	})
	return out, err
}

// DeactivateAccount deactivates the ACME account accountID (or a unique
// prefix of it) of the endpoint named by ref (DeactivateAcmeAccount): every
// further request signed by its key is refused as unauthorized.
// Deactivating a deactivated account changes nothing.
func (s *Service) DeactivateAccount(ctx context.Context, ref, accountID string) (acmestate.AccountView, error) {
	var v acmestate.AccountView
	err := s.change(ctx, "DeactivateAcmeAccount", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		a, err := acmestate.ResolveAccount(op.Tx, ep, accountID)
		if err != nil {
			op.Param("AccountId", accountID)
			return err
		}
		op.Param("AccountId", a.ID)
		op.Resource(acmestate.AccountARN(s.core.Names, ep.ID, a.ID))
		if _, err := acmestate.DeactivateAccount(op.Tx, a, op.Now); err != nil {
			return err
		}
		counts, err := acmestate.CountOrders(op.Tx, ep.ID)
		if err != nil {
			return err
		}
		v = acmestate.ViewAccount(a, counts[a.ID])
		return nil
	})
	return v, err
}

// deactivateBound deactivates, in op, the accounts credential b bound and
// names each as a resource of the change.
func (s *Service) deactivateBound(op *service.Op, b *acmestate.EAB) error {
	for _, id := range b.Accounts {
		a, err := acmestate.GetAccount(op.Tx, id)
		if err != nil {
			if errors.Is(err, localstore.ErrNotFound) { // deleted with nothing left to cut off
				continue
			}
			return err
		}
		op.Resource(acmestate.AccountARN(s.core.Names, a.EndpointID, a.ID))
		if _, err := acmestate.DeactivateAccount(op.Tx, a, op.Now); err != nil {
			return err
		}
	}
	return nil
}
