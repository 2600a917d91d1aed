package vaultops

import (
	"context"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/service"
)

// PassphraseResult describes a passphrase change.
type PassphraseResult struct {
	MasterKeyID string `json:"MasterKeyId"`
	// MasterKey is WRAPPED; WasInClear is set when the key was in clear
	// before (the change gave the vault its first passphrase).
	MasterKey  string `json:"MasterKey"`
	WasInClear bool   `json:"WasInClear"`
}

// ChangePassphrase wraps the master key by newPassphrase (the current one,
// if any, opened it): the old passphrase no longer opens the vault. A key
// in clear becomes a wrapped one. The key itself does not change, so no
// secret is re-sealed and a crash at any point leaves a key that opens the
// vault under the old passphrase or the new one.
func (s *Service) ChangePassphrase(ctx context.Context, newPassphrase []byte) (*PassphraseResult, error) {
	if len(newPassphrase) == 0 {
		return nil, errs.Invalidf("the new passphrase is empty")
	}
	v := s.core.Vault
	sealer, err := v.Sealer()
	if err != nil {
		return nil, service.MapError(err)
	}
	r, err := v.NewRewrap(newPassphrase)
	if err != nil {
		return nil, service.MapError(err)
	}
	// Once: it installs the key wrapped above.
	err = s.core.ChangeOnce(ctx, "ChangeVaultPassphrase", func(op *service.Op) error {
		op.Param("MasterKeyId", sealer.ID())
		op.Param("WasInClear", r.WasInClear())
		if err := v.InstallRewrap(op.Tx, r); err != nil {
			return err
		}
		if s.afterRewrapInstall != nil {
			return s.afterRewrapInstall()
		}
		return nil
	})
	if err != nil {
		// A commit that failed after the key file was written: the file
		// goes back, so that the failure reported is the whole outcome.
		if uerr := v.UndoRewrap(ctx, r); uerr != nil {
			return nil, withNotice(err, "whether the change was made could not be read ("+uerr.Error()+
				"): if the vault passphrase is now refused, the new one opens it; run vault verify")
		}
		return nil, err
	}
	if err := v.FinishRewrap(r); err != nil {
		return nil, service.MapError(err)
	}
	return &PassphraseResult{MasterKeyID: sealer.ID(), MasterKey: KeyWrapped, WasInClear: r.WasInClear()}, nil
}
