package acmestate

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/certctl/certctl/pkg/arn"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// MACKeySize is the size of an EAB MAC key in bytes (HS256).
const MACKeySize = 32

// EAB is an external account binding credential. The MAC key is kept sealed
// under the vault master key, bound to the credential's KeyID.
type EAB struct {
	KeyID      string    `json:"keyId"`
	EndpointID string    `json:"endpointId"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt,omitzero"`
	Reusable   bool      `json:"reusable,omitempty"`
	RevokedAt  time.Time `json:"revokedAt,omitzero"`
	// Accounts are the accounts bound with this credential.
	Accounts []string `json:"accounts,omitempty"`
	// SealedMAC is the MAC key sealed by the vault (never printed).
	SealedMAC []byte `json:"sealedMac"`
}

// EAB statuses as listed.
const (
	EABValid   = "VALID"
	EABUsed    = "USED"
	EABExpired = "EXPIRED"
	EABRevoked = "REVOKED"
)

// Status is the state of the credential at now.
func (b *EAB) Status(now time.Time) string {
	switch {
	case !b.RevokedAt.IsZero():
		return EABRevoked
	case !b.ExpiresAt.IsZero() && !now.Before(b.ExpiresAt):
		return EABExpired
	case !b.Reusable && len(b.Accounts) > 0:
		return EABUsed
	}
	return EABValid
}

func macRef(keyID string) string { return "acme-eab/" + keyID + "/mac" }

// CreateEAB makes a new credential for endpoint e and returns it with its
// MAC key in clear (to show once).
func CreateEAB(tx localstore.Tx, sealer *localstore.Sealer, e *Endpoint, reusable bool, expiresIn time.Duration, now time.Time) (*EAB, []byte, error) {
	if e.Status != StatusActive {
		return nil, nil, errs.Refusedf("ACME endpoint %s is %s", e.ID, e.Status)
	}
	key := make([]byte, MACKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, nil, err
	}
	b := &EAB{KeyID: uuid.NewString(), EndpointID: e.ID, CreatedAt: now, Reusable: reusable}
	if expiresIn > 0 {
		b.ExpiresAt = now.Add(expiresIn)
	}
	sealed, err := sealer.Seal(macRef(b.KeyID), key)
	if err != nil {
		return nil, nil, err
	}
	b.SealedMAC = sealed
	return b, key, PutEAB(tx, b)
}

// MACKey unseals the credential's MAC key.
func (b *EAB) MACKey(sealer *localstore.Sealer) ([]byte, error) {
	return sealer.Open(macRef(b.KeyID), b.SealedMAC)
}

// EncodeMACKey is the base64url (unpadded) form of a MAC key given to users.
func EncodeMACKey(key []byte) string { return base64.RawURLEncoding.EncodeToString(key) }

// PutEAB writes a credential.
func PutEAB(tx localstore.Tx, b *EAB) error { return putJSON(tx, KindEAB, b.KeyID, b, b.CreatedAt) }

// GetEAB reads a credential by exact KeyID.
func GetEAB(tx localstore.Tx, keyID string) (*EAB, error) {
	b := &EAB{}
	if err := getJSON(tx, KindEAB, keyID, b); err != nil {
		if errors.Is(err, localstore.ErrNotFound) {
			return nil, errs.NotFoundf("external account binding %s not found", keyID)
		}
		return nil, err
	}
	return b, nil
}

// ResolveEAB finds a credential of endpoint e by KeyID or unique prefix.
func ResolveEAB(tx localstore.Tx, e *Endpoint, arg string) (*EAB, error) {
	arg = strings.ToLower(strings.TrimSpace(arg))
	if err := arn.CheckLength(arg); err != nil {
		return nil, errs.Invalidf("%v", err)
	}
	if len(arg) < 6 {
		return nil, errs.Invalidf("key ID prefix %q is too short (at least 6 characters)", arg)
	}
	ids, err := tx.FindObjectIDs(KindEAB, arg, 10)
	if err != nil {
		return nil, err
	}
	var match []*EAB
	for _, id := range ids {
		b, err := GetEAB(tx, id)
		if err != nil {
			return nil, err
		}
		if b.EndpointID == e.ID {
			if id == arg {
				return b, nil
			}
			match = append(match, b)
		}
	}
	switch len(match) {
	case 0:
		return nil, errs.NotFoundf("external account binding %s not found for endpoint %s", arg, e.ID)
	case 1:
		return match[0], nil
	}
	return nil, errs.Invalidf("key ID %q is ambiguous", arg)
}

// ListEAB returns the credentials of endpoint e, oldest first (ties by
// KeyID, so that the order is stable).
func ListEAB(tx localstore.Tx, endpointID string) ([]*EAB, error) {
	all, err := listJSON[EAB](tx, KindEAB)
	if err != nil {
		return nil, err
	}
	all = slices.DeleteFunc(all, func(b *EAB) bool { return b.EndpointID != endpointID })
	slices.SortFunc(all, func(a, b *EAB) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.KeyID, b.KeyID)
	})
	return all, nil
}
