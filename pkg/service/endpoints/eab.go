package endpoints

import (
	"context"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// CreateEAB makes an external account binding credential for the endpoint
// named by ref (CreateExternalAccountBinding): one account may bind with it
// unless reusable; it expires after expiresIn when positive. The view
// returned carries the MAC key, which is shown this once and never
// recorded.
func (s *Service) CreateEAB(ctx context.Context, ref string, reusable bool, expiresIn time.Duration) (acmestate.EABView, error) {
	var b *acmestate.EAB
	var key []byte
	err := s.change(ctx, "CreateExternalAccountBinding", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		op.Param("Reusable", reusable)
		if expiresIn > 0 {
			op.Param("ExpiresIn", expiresIn.String())
		}
		var err error
		if b, key, err = acmestate.CreateEAB(op.Tx, op.Sealer(), ep, reusable, expiresIn, op.Now); err != nil {
			return err
		}
		op.Param("KeyId", b.KeyID)
		return nil
	})
	if err != nil {
		return acmestate.EABView{}, err
	}
	v := acmestate.ViewEAB(s.core.Names, b, s.core.Now())
	v.MacKey = acmestate.EncodeMACKey(key)
	clear(key)
	return v, nil
}

// ListEAB lists the credentials of the endpoint named by ref, oldest first,
// never with their MAC keys.
func (s *Service) ListEAB(ctx context.Context, ref string) ([]acmestate.EABView, error) {
	out := []acmestate.EABView{}
	now := s.core.Now()
	err := s.read(ctx, ref, func(tx localstore.Tx, ep *acmestate.Endpoint) error {
		out = out[:0]
		bs, err := acmestate.ListEAB(tx, ep.ID)
		for _, b := range bs {
			out = append(out, acmestate.ViewEAB(s.core.Names, b, now))
		}
		return err
	})
	return out, err
}

// RevokeEAB revokes the credential keyID (or a unique prefix of it) of the
// endpoint named by ref (RevokeExternalAccountBinding), so that no further
// account binds with it. Accounts it bound keep working unless
// deactivateAccounts, which deactivates them in the same change (a leaked
// credential is then cut off entirely). Revoking a revoked credential
// changes nothing but the accounts deactivateAccounts deactivates.
func (s *Service) RevokeEAB(ctx context.Context, ref, keyID string, deactivateAccounts bool) (acmestate.EABView, error) {
	var v acmestate.EABView
	err := s.change(ctx, "RevokeExternalAccountBinding", ref, func(op *service.Op, ep *acmestate.Endpoint) error {
		b, err := acmestate.ResolveEAB(op.Tx, ep, keyID)
		if err != nil {
			op.Param("KeyId", keyID)
			return err
		}
		op.Param("KeyId", b.KeyID)
		if deactivateAccounts {
			op.Param("DeactivateAccounts", true)
			if err := s.deactivateBound(op, b); err != nil {
				return err
			}
		}
		if b.RevokedAt.IsZero() {
			b.RevokedAt = op.Now
			if err := acmestate.PutEAB(op.Tx, b); err != nil {
				return err
			}
		}
		v = acmestate.ViewEAB(s.core.Names, b, op.Now)
		return nil
	})
	return v, err
}
