package authority

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// ErrNotIssuedBy marks CheckIssuedBy's refusal: a certificate its CA did
// not sign, as the vault can prove.
var ErrNotIssuedBy = errors.New("not signed by its certificate authority")

// CheckIssuedBy proves that leaf, the certificate of a version the vault
// issued from the CA caID (a certificate's CertificateAuthorityID), was
// signed by that CA's key — for whoever installs it on the word of the
// store, which anyone who can write the database can fill with a
// certificate of their own for the same public key (its serial and
// NotBefore copied into the certificate's record), signed by a CA of
// theirs. (The version's chain needs no check here: the installer checks
// that its first certificate certifies leaf, so it holds the key that
// signed leaf, which this proves is the CA's.)
//
// The CA's record is as writable as the certificate's; its key is not:
// the CA's certificate must hold the public key of the key sealed under
// the CA's own reference (ca/<id>/key, whatever the record's KeyRef says:
// the seal binds the reference, so another CA's certificate and key
// reference copied into the record do not pass), and that certificate
// must verify leaf's signature. A CA whose record says its key is in a
// PKCS#11 token has nothing sealed in the vault: when this process has
// the token configured, the token's key must be the CA certificate's;
// without it, only the signature against the CA's certificate as the
// store holds it is checked (a database writer who replaces that
// certificate too is not caught). A record that says PKCS11 over a CA
// whose sealed key is still in the vault is proved with the sealed key.
//
// A refusal wraps ErrNotIssuedBy; any other error is the vault's (a token
// that cannot be opened: exit 6).
func (s *Service) CheckIssuedBy(tx localstore.Tx, caID string, leaf *x509.Certificate) error {
	refuse := func(format string, a ...any) error {
		return fmt.Errorf("%w %s: %s", ErrNotIssuedBy, caID, fmt.Sprintf(format, a...))
	}
	r, err := Get(tx, caID)
	if err != nil {
		return refuse("the store does not hold the certificate authority (%v)", err)
	}
	caCert, err := r.Certificate()
	if err != nil {
		return refuse("its certificate does not parse")
	}
	ref := "ca/" + caID + "/key"
	key, err := s.Vault.OpenKey(tx, ref)
	switch {
	case err == nil:
		if !x509util.PublicKeysEqual(caCert.PublicKey, key.Public()) {
			return refuse("its certificate in the store does not hold the key sealed under %s", ref)
		}
	case errors.Is(err, localstore.ErrNotFound) && r.InToken():
		if s.Tokens != nil {
			if _, err := s.tokenKey(r, caCert.PublicKey); err != nil {
				return err
			}
		}
	case errors.Is(err, localstore.ErrNotFound):
		return refuse("its key is not sealed in the vault under %s", ref)
	case errors.Is(err, localstore.ErrCorrupt):
		return refuse("its sealed key %s does not open under its reference", ref)
	default:
		return err
	}
	if err := leaf.CheckSignatureFrom(caCert); err != nil {
		return refuse("its certificate does not verify the certificate's signature (%v)", err)
	}
	return nil
}
