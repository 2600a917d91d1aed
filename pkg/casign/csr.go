package casign

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/certctl/certctl/pkg/pemio"
)

// Certificate templates of CSR issuance, named as AWS Private CA's
// IssueCertificate templates without the "arn:…:template/…/V1" decoration.
const (
	TemplateEndEntity     = "EndEntity"
	TemplateSubordinateCA = "SubordinateCA"
	TemplateRootCA        = "RootCA"
)

// ErrCSRSignature is returned (wrapped in a *CSRError) when a certificate
// signing request's self-signature does not verify.
var ErrCSRSignature = errors.New("signature does not verify")

// CSRError reports a certificate signing request that cannot be used. It
// unwraps to the cause.
type CSRError struct {
	Problem string // what is wrong, for people
	Err     error  // the cause
}

func (e *CSRError) Error() string {
	if e.Err == nil || e.Err == ErrCSRSignature {
		return "ca: certificate signing request: " + e.Problem
	}
	return fmt.Sprintf("ca: certificate signing request: %s: %v", e.Problem, e.Err)
}

// Unwrap returns the cause.
func (e *CSRError) Unwrap() error { return e.Err }

// pemCSRTypes are the PEM block types a CSR comes in.
var pemCSRTypes = map[string]bool{"CERTIFICATE REQUEST": true, "NEW CERTIFICATE REQUEST": true}

// ParseCSR parses a PKCS #10 certificate signing request given as PEM or DER
// and verifies its signature before anything else is read from it. The key
// must be one certctl issues for (RSA 2048–8192, ECDSA P-256/P-384/P-521).
func ParseCSR(pemOrDER []byte) (*x509.CertificateRequest, error) {
	pemOrDER = pemio.TrimBOM(pemOrDER)
	der := pemOrDER
	if block, _ := pem.Decode(pemOrDER); block != nil {
		if !pemCSRTypes[block.Type] {
			return nil, &CSRError{Problem: fmt.Sprintf("PEM block is %q, not CERTIFICATE REQUEST", truncate(block.Type))}
		}
		der = block.Bytes
	} else if bytes.Contains(pemOrDER, []byte("-----BEGIN")) {
		return nil, &CSRError{Problem: "malformed PEM"}
	}
	csr, err := x509.ParseCertificateRequest(der)
	if err != nil {
		// The parser's detail (ASN.1 tags and offsets) helps nobody:
		// say what it is not.
		return nil, &CSRError{Problem: "not a PEM or DER PKCS #10 certificate signing request"}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &CSRError{Problem: "its signature does not verify (altered, or not signed by its own key)", Err: ErrCSRSignature}
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, &CSRError{Problem: "unsupported key", Err: err}
	}
	return csr, nil
}

// CSRTemplate builds the certificate template for csr (from ParseCSR) with
// any template CanonicalTemplate accepts (AWS Private CA's IssueCertificate;
// see Build):
//
//   - EndEntity: the CSR's subject; SAN = the CSR's CN (when it is a host
//     name or IP) followed by its DNS and IP SANs; basicConstraints CA:FALSE
//     whatever the CSR asks for; key usage digitalSignature (+keyEncipherment
//     for RSA); extended key usage serverAuth and clientAuth.
//   - SubordinateCA: the CSR's subject, CA:TRUE with path length 0.
//   - RootCA: the CSR's subject, CA:TRUE without path length constraint, for
//     a self-signed certificate (Sign with a nil issuer).
//
// Add revocation URLs with SetRevocationURLs; sign with Sign, passing
// the returned template's PublicKey.
func CSRTemplate(csr *x509.CertificateRequest, tmpl string, serial *big.Int, v Validity) (*x509.Certificate, error) {
	return Build(Issue{CSR: csr, Template: tmpl, Serial: serial, Validity: v})
}
