package inventory

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

// compromisedKind is the kind of the objects naming the keys this vault
// revoked a certificate of for keyCompromise or cACompromise, by the
// SHA-256 of the key's SubjectPublicKeyInfo.
const compromisedKind = "compromised-key"

// ReasonKeyCompromised is the error code of a refusal to sign for a
// compromised key.
const ReasonKeyCompromised = "KeyCompromised"

// RFC 5280 reason codes that say the certificate's key is known to others.
const (
	reasonKeyCompromise = 1
	reasonCACompromise  = 2
)

type compromise struct {
	Issuer    string    `json:"issuer"`
	Serial    string    `json:"serial"`
	Reason    int       `json:"reason"`
	RevokedAt time.Time `json:"revokedAt"`
}

// RevokeSerial records the revocation of serial by issuer, in tx; for
// keyCompromise or cACompromise it also notes the certificate's key as
// compromised, so that no certificate is signed for it, nor with it,
// again (CheckKeyNotCompromised) — as Let's Encrypt blocks such keys, and
// as a PKI team expects of a CA key revoked for compromise. Every
// revocation goes through here: the CLI's, the CA's, the ACME server's.
func RevokeSerial(tx localstore.Tx, issuer, serial string, at time.Time, reason int) error {
	return RevokeSerialVia(tx, issuer, serial, at, reason, true)
}

// RevokeSerialVia is RevokeSerial for a requester who may or may not have
// proved the key compromised: keyProven false (an ACME account, rather than
// the certificate's own key, signing a keyCompromise revocation — as Let's
// Encrypt, which then blocks nothing) revokes the serial but leaves the key
// usable, so that no account can have another's key refused for ever.
func RevokeSerialVia(tx localstore.Tx, issuer, serial string, at time.Time, reason int, keyProven bool) error {
	if err := tx.RevokeSerial(issuer, serial, at, reason); err != nil {
		return err
	}
	if !keyProven {
		return nil
	}
	_, err := NoteCompromisedKey(tx, issuer, serial, at, reason)
	return err
}

// NoteCompromisedKey notes the key of the certificate serial of issuer,
// revoked at at for reason, as compromised when reason is keyCompromise
// or cACompromise (CheckKeyNotCompromised), and returns the certificate
// (nil for any other reason, or a serial recorded without its
// certificate, as an older vault's may be).
func NoteCompromisedKey(tx localstore.Tx, issuer, serial string, at time.Time, reason int) (*x509.Certificate, error) {
	if reason != reasonKeyCompromise && reason != reasonCACompromise {
		return nil, nil
	}
	rec, err := tx.GetSerial(issuer, serial)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(rec.DER)
	if err != nil {
		return nil, nil
	}
	data, err := json.Marshal(compromise{Issuer: issuer, Serial: serial, Reason: reason, RevokedAt: at})
	if err != nil {
		return nil, err
	}
	return cert, tx.PutObject(&localstore.Object{Kind: compromisedKind, ID: keyID(cert.RawSubjectPublicKeyInfo), Data: data, UpdatedAt: at})
}

// CheckKeyNotCompromised refuses (exit 5, with code) a key of which the
// vault revoked a certificate for key or CA compromise; what says whose
// key it is ("the certificate's key", a CA's).
func CheckKeyNotCompromised(tx localstore.Tx, pub crypto.PublicKey, what, code string) error {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil // a key crypto/x509 cannot encode is refused where it is used
	}
	return CheckSPKINotCompromised(tx, spki, what, code)
}

// CheckSPKINotCompromised is CheckKeyNotCompromised for a key given as its
// DER SubjectPublicKeyInfo (a certificate's, not encoded again).
func CheckSPKINotCompromised(tx localstore.Tx, spki []byte, what, code string) error {
	o, err := tx.GetObject(compromisedKind, keyID(spki))
	if errors.Is(err, localstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var c compromise
	if err := json.Unmarshal(o.Data, &c); err != nil {
		return errs.Refusedf("%s was revoked for compromise: nothing is signed for it or with it again", what).WithCode(code)
	}
	why := "KEY_COMPROMISE"
	if c.Reason == reasonCACompromise {
		why = "CA_COMPROMISE"
	}
	return errs.Refusedf("%s was revoked for compromise (serial %s of CA %s, %s, %s): nothing is signed for it or with it again", what, c.Serial, c.Issuer, why, timeutil.RFC3339(c.RevokedAt)).
		WithCode(code).WithHint("use a new key")
}

func keyID(spki []byte) string {
	h := sha256.Sum256(spki)
	return hex.EncodeToString(h[:])
}
