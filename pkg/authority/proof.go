package authority

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/certctl/certctl/pkg/localstore"
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
// theirs. first is the first certificate of the version's chain (nil:
// none), which must hold the same key as the CA's certificate.
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
func (s *Service) CheckIssuedBy(tx localstore.Tx, caID string, leaf, first *x509.Certificate) error {
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
		if !publicKeyEqual(caCert.PublicKey, key.Public()) {
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
	if first != nil && !publicKeyEqual(first.PublicKey, caCert.PublicKey) {
		return refuse("the first certificate of the version's chain is not one of the certificate authority's key")
	}
	return nil
}

// publicKeyEqual compares two public keys with their Equal methods.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}
