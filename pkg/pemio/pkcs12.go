package pemio

import (
	"crypto"
	"crypto/x509"
	"encoding/asn1"
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

// pkcs12Hint is the message for a PKCS #12 file (.p12, .pfx) given where
// PEM is read: certctl imports PEM, and says how to convert one.
const pkcs12Hint = "the file is PKCS #12 (.p12/.pfx); PEM is required (convert it with: openssl pkcs12 -in FILE -nodes -out bundle.pem, then import --bundle bundle.pem)"

// isPKCS12 reports whether data is a DER PKCS #12 PFX (RFC 7292): a
// SEQUENCE of the version 3 and a ContentInfo whose type is a PKCS #7 one.
func isPKCS12(data []byte) bool {
	var pfx struct {
		Version  int
		AuthSafe struct {
			ContentType asn1.ObjectIdentifier
			Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
		}
		MacData asn1.RawValue `asn1:"optional"`
	}
	rest, err := asn1.Unmarshal(data, &pfx)
	pkcs7 := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7}
	ct := pfx.AuthSafe.ContentType
	return err == nil && len(rest) == 0 && pfx.Version == 3 && len(ct) == len(pkcs7)+1 && ct[:len(pkcs7)].Equal(pkcs7)
}
