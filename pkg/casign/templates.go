package casign

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"time"
)

// Validity is a certificate's validity period. Both ends are inclusive, as in
// RFC 5280.
type Validity struct {
	NotBefore, NotAfter time.Time
}

// caKeyUsage is the key usage of every CA certificate: certificate and CRL
// signing, plus digitalSignature because the CA signs its OCSP responses
// itself.
const caKeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature

// RootTemplate returns the template of a self-signed root CA certificate:
// critical basicConstraints CA:TRUE without a path length constraint, key
// usage keyCertSign, cRLSign and digitalSignature. Sign fills in the subject
// and authority key identifiers. Check subject with ValidateSubject first
// (Sign does too).
func RootTemplate(subject pkix.Name, pub crypto.PublicKey, serial *big.Int, v Validity) *x509.Certificate {
	return caTemplate(subject, pub, serial, v, -1)
}

// SubordinateTemplate returns the template of a subordinate CA certificate,
// like RootTemplate but with a path length constraint of pathLen (a negative
// pathLen means no constraint). The authority key identifier is taken from
// the issuer by Sign.
func SubordinateTemplate(subject pkix.Name, pub crypto.PublicKey, serial *big.Int, v Validity, pathLen int) *x509.Certificate {
	if pathLen < 0 {
		pathLen = -1
	}
	return caTemplate(subject, pub, serial, v, pathLen)
}

func caTemplate(subject pkix.Name, pub crypto.PublicKey, serial *big.Int, v Validity, pathLen int) *x509.Certificate {
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               subject,
		PublicKey:             pub,
		NotBefore:             v.NotBefore,
		NotAfter:              v.NotAfter,
		KeyUsage:              caKeyUsage,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            pathLen,
		MaxPathLenZero:        pathLen == 0,
	}
}

// LeafRequest describes an end-entity (TLS server) certificate.
type LeafRequest struct {
	// Names are DNS names (wildcards allowed as the whole leftmost label) or
	// IP literals. The first one becomes the subject CN; every one goes into
	// the subject alternative name extension.
	Names     []string
	PublicKey crypto.PublicKey
	Serial    *big.Int
	Validity  Validity
	// ClientAuth adds the clientAuth extended key usage to serverAuth.
	ClientAuth bool
	// CRLURL and OCSPURL, when set, become the CRL distribution point and
	// the AIA OCSP responder location.
	CRLURL, OCSPURL string
}

// LeafTemplate returns the template of an X.509 v3 end-entity certificate:
// CN = first name, SAN = every name (dNSName, or iPAddress for IP literals),
// critical basicConstraints CA:FALSE, critical key usage digitalSignature
// (plus keyEncipherment for RSA keys), extended key usage serverAuth (plus
// clientAuth on request), CRL distribution point and AIA OCSP when URLs are
// given.
func LeafTemplate(r LeafRequest) (*x509.Certificate, error) {
	if len(r.Names) == 0 {
		return nil, errors.New("a certificate needs at least one name")
	}
	if err := checkPublicKey(r.PublicKey); err != nil {
		return nil, err
	}
	if err := checkSerial(r.Serial); err != nil {
		return nil, err
	}
	dns, ips, err := splitNames(r.Names)
	if err != nil {
		return nil, err
	}
	cn := r.Names[0]
	if len(cn) > maxCommonName {
		// No name fits a CN (ub-common-name): the certificate has
		// none, its names in the SAN alone — critical then, as
		// crypto/x509 marks it for an empty subject (RFC 5280
		// 4.2.1.6). The CLI refuses such a first name before; an
		// ACME order of long names only comes here.
		cn = ""
	}
	t := &x509.Certificate{
		SerialNumber:          r.Serial,
		Subject:               pkix.Name{CommonName: cn},
		PublicKey:             r.PublicKey,
		NotBefore:             r.Validity.NotBefore,
		NotAfter:              r.Validity.NotAfter,
		DNSNames:              dns,
		IPAddresses:           ips,
		KeyUsage:              leafKeyUsage(r.PublicKey),
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
	}
	if r.ClientAuth {
		t.ExtKeyUsage = append(t.ExtKeyUsage, x509.ExtKeyUsageClientAuth)
	}
	SetRevocationURLs(t, r.CRLURL, r.OCSPURL)
	return t, nil
}

// leafKeyUsage is digitalSignature, plus keyEncipherment for RSA keys (RSA
// key transport); ECDSA keys must not assert keyEncipherment (RFC 8813).
func leafKeyUsage(pub crypto.PublicKey) x509.KeyUsage {
	if _, ok := pub.(*rsa.PublicKey); ok {
		return x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	}
	return x509.KeyUsageDigitalSignature
}

// SetRevocationURLs sets the CRL distribution point and the AIA OCSP
// responder of template t; an empty URL leaves that extension out.
func SetRevocationURLs(t *x509.Certificate, crlURL, ocspURL string) {
	t.CRLDistributionPoints = nil
	t.OCSPServer = nil
	if crlURL != "" {
		t.CRLDistributionPoints = []string{crlURL}
	}
	if ocspURL != "" {
		t.OCSPServer = []string{ocspURL}
	}
}
