package casign

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"time"

	stepx509 "go.step.sm/crypto/x509util"
)

// Backdate is how long before its signing what a CA of the vault signs
// is dated: a certificate's NotBefore, a CRL's thisUpdate, an OCSP
// response's thisUpdate, so that a relying party whose clock runs a
// little behind accepts it at once (tester: a fresh CRL was refused by a
// clock 20 s slow while the certificates it covered were not). A CRL's
// nextUpdate and an OCSP response's nextUpdate still count from the
// signing.
const Backdate = time.Minute

// ErrValidityBeyondCA is returned (wrapped) by Sign when a certificate would
// outlive its issuing CA. Callers map it to PCA_INVALID_DURATION.
var ErrValidityBeyondCA = errors.New("certificate validity ends after the issuing CA's")

// ErrKeyMismatch is returned by Sign when the signing key does not belong to
// the issuer certificate (or, for a self-signed certificate, to the
// certificate's own public key).
var ErrKeyMismatch = errors.New("signing key does not match the issuer")

// publicKeyEqual is implemented by every public key type of crypto/*.
type publicKeyEqual interface {
	Equal(crypto.PublicKey) bool
}

// Sign signs template for public key pub with issuerKey and returns the
// parsed certificate. With issuerCert == nil the certificate is self-signed
// (a root): issuerKey must then be the private half of pub.
//
// The signature algorithm is template.SignatureAlgorithm when set (the
// CA's --signing-algorithm), which must be of the issuer key's family, and
// otherwise follows the issuer key (see SignatureAlgorithm).
// Sign refuses a template that ends after issuerCert (ErrValidityBeyondCA), a
// missing or out-of-range serial, a subject beyond the RFC 5280 bounds and an
// issuer that is not a CA. It fills in the subject key identifier (RFC 5280
// method 1) when the template has none; the authority key identifier comes
// from the issuer's key identifier (IssuerKeyID: its subject key identifier,
// or one derived from its key when its certificate has none; a root's own).
//
// The caller must persist template.SerialNumber before calling Sign.
// template itself is not modified.
func Sign(template, issuerCert *x509.Certificate, pub crypto.PublicKey, issuerKey crypto.Signer) (*x509.Certificate, error) {
	if template == nil {
		return nil, errors.New("nil certificate template")
	}
	if issuerKey == nil {
		return nil, errors.New("nil signing key")
	}
	if err := checkSerial(template.SerialNumber); err != nil {
		return nil, err
	}
	if err := checkPublicKey(pub); err != nil {
		return nil, err
	}
	if err := ValidateSubject(template.Subject); err != nil {
		return nil, err
	}
	if !template.NotAfter.After(template.NotBefore) {
		return nil, fmt.Errorf("NotAfter %s is not after NotBefore %s",
			template.NotAfter.UTC().Format(time.RFC3339), template.NotBefore.UTC().Format(time.RFC3339))
	}
	signerPub, ok := issuerKey.Public().(publicKeyEqual)
	if !ok {
		return nil, fmt.Errorf("unsupported signing key type %T", issuerKey.Public())
	}
	alg, err := signingAlgorithm(template.SignatureAlgorithm, issuerKey.Public())
	if err != nil {
		return nil, err
	}

	t := *template // shallow copy: the caller's template stays untouched
	t.SignatureAlgorithm = alg
	t.PublicKey = pub
	if len(t.SubjectKeyId) == 0 {
		if t.SubjectKeyId, err = keyIdentifier(pub); err != nil {
			return nil, err
		}
	}

	parent := issuerCert
	if issuerCert == nil {
		if !signerPub.Equal(pub) {
			return nil, fmt.Errorf("%w: a self-signed certificate must be signed by its own key", ErrKeyMismatch)
		}
		// RFC 5280 4.2.1.1 allows omitting the AKI in a self-signed
		// certificate, but including it helps path building.
		if len(t.AuthorityKeyId) == 0 {
			t.AuthorityKeyId = t.SubjectKeyId
		}
		parent = &t
	} else {
		if err := checkIssuer(issuerCert, signerPub); err != nil {
			return nil, err
		}
		if t.NotAfter.After(issuerCert.NotAfter) {
			return nil, fmt.Errorf("%w: NotAfter %s, CA NotAfter %s", ErrValidityBeyondCA,
				t.NotAfter.UTC().Format(time.RFC3339), issuerCert.NotAfter.UTC().Format(time.RFC3339))
		}
		if parent, err = withKeyID(issuerCert); err != nil {
			return nil, err
		}
	}

	if len(t.ExtraExtensions) > 0 || len(t.Policies) > 0 || len(t.PolicyIdentifiers) > 0 {
		if err := rehearse(&t, parent, pub); err != nil {
			return nil, err
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, &t, parent, pub, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parsing signed certificate: %w", err)
	}
	return cert, nil
}

// ErrMalformed is returned (wrapped) by Sign for a template whose
// certificate would break its encoding rules (RFC 5280) — an extension
// twice, a policy twice — so that the CA never signs it.
var ErrMalformed = errors.New("the certificate would be malformed")

// rehearse makes the certificate of t, signed by parent, with a throwaway
// key and parses it back: what the caller put in it (extensions and
// policies passed through from an API call or a CSR) is found malformed
// before the CA's key signs anything (tester: the CA signed it, then the
// parse failed). Only such templates pay for it.
func rehearse(t, parent *x509.Certificate, pub crypto.PublicKey) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	r, p := *t, *parent
	r.SignatureAlgorithm, p.PublicKey = x509.UnknownSignatureAlgorithm, k.Public()
	der, err := x509.CreateCertificate(rand.Reader, &r, &p, pub, k)
	if err == nil {
		_, err = x509.ParseCertificate(der)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return nil
}

// checkIssuer makes sure issuer may sign certificates and that signerPub is
// its public key.
func checkIssuer(issuer *x509.Certificate, signerPub publicKeyEqual) error {
	if !issuer.BasicConstraintsValid || !issuer.IsCA {
		return errors.New("issuer certificate is not a CA")
	}
	if !MaySignCertificates(issuer) {
		return errors.New("issuer certificate may not sign certificates (no keyCertSign)")
	}
	if !signerPub.Equal(issuer.PublicKey) {
		return ErrKeyMismatch
	}
	return nil
}

// signingAlgorithm is alg when set (checked against the key's family), else
// the default for the key.
func signingAlgorithm(alg x509.SignatureAlgorithm, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	def, err := SignatureAlgorithm(pub)
	if err != nil {
		return 0, fmt.Errorf("signing key: %w", err)
	}
	if alg == x509.UnknownSignatureAlgorithm {
		return def, nil
	}
	if family(alg) != family(def) {
		return 0, fmt.Errorf("signature algorithm %s does not match the signing key", alg)
	}
	return alg, nil
}

// keyIdentifier is the RFC 5280 4.2.1.2 method 1 key identifier of pub:
// the SHA-1 hash of its subjectPublicKey BIT STRING, as every subject key
// identifier certctl writes is computed.
func keyIdentifier(pub crypto.PublicKey) ([]byte, error) {
	id, err := stepx509.GenerateSubjectKeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("key identifier: %w", err)
	}
	return id, nil
}

// IssuerKeyID is the key identifier that certificates and CRLs signed by
// the CA certificate issuer carry as their authority key identifier: its
// subject key identifier, or, for a CA certificate made without one
// (openssl's subjectKeyIdentifier=none, old CAs), the identifier derived
// from its public key as keyIdentifier derives every other. Code that
// matches an authority key identifier against a CA of the vault compares
// it with this, not with SubjectKeyId alone.
func IssuerKeyID(issuer *x509.Certificate) ([]byte, error) {
	if len(issuer.SubjectKeyId) > 0 {
		return issuer.SubjectKeyId, nil
	}
	return keyIdentifier(issuer.PublicKey)
}

// withKeyID is issuer, or a shallow copy of it with the subject key
// identifier IssuerKeyID derives when it has none: crypto/x509 takes the
// authority key identifier of what it signs from the parent's
// SubjectKeyId (and x509.CreateRevocationList refuses a parent without
// one).
func withKeyID(issuer *x509.Certificate) (*x509.Certificate, error) {
	if len(issuer.SubjectKeyId) > 0 {
		return issuer, nil
	}
	id, err := IssuerKeyID(issuer)
	if err != nil {
		return nil, err
	}
	c := *issuer
	c.SubjectKeyId = id
	return &c, nil
}

// hasKeyUsageExtension reports whether cert carries a Key Usage extension
// (crypto/x509 leaves KeyUsage 0 both without one and with one that
// asserts nothing).
func hasKeyUsageExtension(cert *x509.Certificate) bool {
	for _, e := range cert.Extensions {
		if e.Id.Equal(oidKU) {
			return true
		}
	}
	return cert.KeyUsage != 0
}

// keyUsageAllows reports whether the CA certificate cert may be used for
// u: RFC 5280 4.2.1.3 restricts a key to the usages its Key Usage
// extension lists, and a certificate without the extension to none.
func keyUsageAllows(cert *x509.Certificate, u x509.KeyUsage) bool {
	return !hasKeyUsageExtension(cert) || cert.KeyUsage&u != 0
}

// MaySignCertificates reports whether the CA certificate cert's Key Usage
// allows keyCertSign (a certificate without Key Usage allows it).
func MaySignCertificates(cert *x509.Certificate) bool {
	return keyUsageAllows(cert, x509.KeyUsageCertSign)
}

// MaySignCRLs reports whether the CA certificate cert's Key Usage allows
// cRLSign (a certificate without Key Usage allows it). mkcert's roots, for
// one, assert keyCertSign alone: such a CA signs certificates and OCSP
// responses, and no CRL.
func MaySignCRLs(cert *x509.Certificate) bool {
	return keyUsageAllows(cert, x509.KeyUsageCRLSign)
}
