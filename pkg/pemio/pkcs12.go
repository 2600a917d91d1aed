package pemio

import (
	"crypto"
	"crypto/x509"
	"fmt"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// EncodePKCS12 encodes key, leaf and chain as a PKCS #12 file protected with
// AES-256-CBC and PBKDF2-HMAC-SHA256 (go-pkcs12's Modern encoder), which
// `openssl pkcs12` opens without -legacy. An empty passphrase is refused.
func EncodePKCS12(key crypto.Signer, leaf *x509.Certificate, chain []*x509.Certificate, passphrase string) ([]byte, error) {
	if passphrase == "" {
		return nil, newErrorf(RuleEmptyPassphrase, "a passphrase is required to protect the PKCS #12 file")
	}
	if key == nil || leaf == nil {
		return nil, fmt.Errorf("pkcs12: a private key and a certificate are required")
	}
	der, err := pkcs12.Modern.Encode(key, leaf, chain, passphrase)
	if err != nil {
		return nil, fmt.Errorf("pkcs12: %w", err)
	}
	return der, nil
}
