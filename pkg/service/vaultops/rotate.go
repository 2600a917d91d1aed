package vaultops

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// RotateResult describes a key rotation.
type RotateResult struct {
	// MasterKeyId identifies the new master key (localstore.KeyID; it
	// reveals nothing of the key).
	MasterKeyID         string `json:"MasterKeyId"`
	PreviousMasterKeyID string `json:"PreviousMasterKeyId"`
	MasterKey           string `json:"MasterKey"`
	SealedKeys          int    `json:"SealedKeys"`
	AcmeEabCredentials  int    `json:"AcmeEabCredentials"`
	AuditRecords        int64  `json:"AuditRecords"`
	// Notice, when set, tells the operator that the previous key was
	// kept for the stores that share it (printed on stderr).
	Notice string `json:"-"`
}

// RotateKey makes a new master key and re-seals every sealed secret under
// it in one transaction: certificate and CA keys, ACME EAB MAC keys, the
// ACME nonce key, the shared store's key records; the audit chain, whose
// key derives from the master key, is re-MACed in the same transaction
// after the RotateVaultKey record is appended. All or nothing; see the package doc for what a crash
// leaves.
func (s *Service) RotateKey(ctx context.Context) (*RotateResult, error) {
	v := s.core.Vault
	old, err := v.Sealer()
	if err != nil {
		return nil, service.MapError(err)
	}
	res := &RotateResult{PreviousMasterKeyID: old.ID(), MasterKey: KeyPlain}
	if v.KeyIsWrapped() {
		res.MasterKey = KeyWrapped
	}
	// This host's witness, read before the rotation's transaction: the
	// rotation's record is not appended to a log rolled back behind it
	// (re-keying that log would hide the loss for good).
	wit := audit.WitnessOf(v)
	seen := wit.Held()
	progress := func(done int) error {
		res.SealedKeys = done
		if s.rotateProgress != nil {
			return s.rotateProgress(done)
		}
		return nil
	}
	next, err := v.RotateKey(ctx, localstore.RotateHooks{
		Progress: progress,
		KeptKey: func(path string, sharers []string) {
			res.Notice = fmt.Sprintf("the previous master key also seals %s (vault migrate): it is kept as %s; that store needs it in a vault directory of its own (copy it there as %s)",
				strings.Join(sharers, ", "), path, filepath.Base(strings.TrimSuffix(path, ".replaced-"+old.ID())))
		},
		Reseal: func(tx localstore.BulkTx, old, next *localstore.Sealer) error {
			res.AcmeEabCredentials = 0
			objs, err := tx.ListObjects(acmestate.KindEAB)
			if err != nil {
				return err
			}
			for _, o := range objs {
				b := &acmestate.EAB{}
				if err := json.Unmarshal(o.Data, b); err != nil {
					return fmt.Errorf("%w: ACME EAB credential %s: %v", localstore.ErrCorrupt, o.ID, err)
				}
				if err := b.Reseal(old, next); err != nil {
					return err
				}
				if err := acmestate.PutEAB(tx, b); err != nil {
					return err
				}
				res.AcmeEabCredentials++
			}
			// The ACME servers' nonce key keeps its value: servers started
			// before and after this rotation accept each other's nonces.
			if _, err := acmestate.ResealNonceKey(tx, old, next); err != nil {
				return err
			}
			// The record of the rotation joins the chain under the old
			// key; then the whole chain moves to the new key.
			now := s.core.Now().UTC()
			rec := &audit.Record{EventName: "RotateVaultKey", Actor: s.core.Actor, Outcome: audit.OutcomeSuccess,
				RequestParameters: map[string]any{"PreviousMasterKeyId": old.ID(), "MasterKeyId": next.ID(),
					"SealedKeys": res.SealedKeys, "AcmeEabCredentials": res.AcmeEabCredentials}}
			tail := &audit.Tail{Witnessed: seen}
			if err := audit.AppendAfter(tx, old.AuditKey(), rec, now, tail); err != nil {
				return err
			}
			if err := tail.Flush(tx, old.AuditKey()); err != nil {
				return err
			}
			n, err := audit.Rekey(tx, old.AuditKey(), next.AuditKey())
			res.AuditRecords = n
			return err
		},
	})
	if err != nil {
		var p *audit.Problem
		if errors.As(err, &p) {
			return nil, errs.VaultErrorf("the audit chain does not verify (%v): rotating the master key would hide that", p).
				WithHint("run certctl vault verify")
		}
		// Refused on a rule (exit 5: the directory's vault.db holds
		// data under the key, KeyInUseError): recorded, as a refused
		// change is; nothing else is recordable (a vault locked, a
		// passphrase refused, a store read-only or unavailable: exit 6).
		return nil, s.core.Refused(ctx, "RotateVaultKey", err, func(op *service.Op) {
			op.Param("PreviousMasterKeyId", old.ID())
		})
	}
	res.MasterKeyID = next.ID()
	// This host's witness of the chain was tagged under the old key: write
	// it anew under the new one (other hosts rewrite theirs on their next
	// change).
	_ = s.core.Read(ctx, func(tx localstore.Tx) error {
		last, err := tx.LastAudit()
		if err != nil {
			return err
		}
		return wit.Set(next.AuditKey(), last.Seq, last.MAC)
	})
	return res, nil
}
