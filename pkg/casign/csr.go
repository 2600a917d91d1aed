package casign

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

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
	// File is the file the request came from, as the user named it
	// (see WithFile); empty when unknown.
	File    string
	Problem string // what is wrong, for people
	Err     error  // the cause
}

// Error renders "<file>: <problem>: <cause>" when the file is known, and
// "certificate signing request: <problem>: <cause>" otherwise.
func (e *CSRError) Error() string {
	prefix := "certificate signing request: "
	if e.File != "" {
		prefix = e.File + ": "
	}
	if e.Err == nil || e.Err == ErrCSRSignature {
		return prefix + e.Problem
	}
	return prefix + e.Problem + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *CSRError) Unwrap() error { return e.Err }

// WithFile returns the *CSRError err is or wraps with File set to name
// (a copy: the original is not modified), for a message that names the
// file the request came from; other errors, and a *CSRError that names
// its file already, are returned unchanged.
func WithFile(err error, name string) error {
	var ce *CSRError
	if name == "" || !errors.As(err, &ce) || ce.File != "" {
		return err
	}
	c := *ce
	c.File = name
	return &c
}

// pemCSRTypes are the PEM block types a CSR comes in.
var pemCSRTypes = map[string]bool{"CERTIFICATE REQUEST": true, "NEW CERTIFICATE REQUEST": true}

// ParseCSR parses a PKCS #10 certificate signing request given as PEM or DER
// and verifies its signature before anything else is read from it. The key
// must be one certctl issues for (RSA 2048–8192, ECDSA P-256/P-384/P-521).
func ParseCSR(pemOrDER []byte) (*x509.CertificateRequest, error) {
	pemOrDER = pemio.TrimBOM(pemOrDER)
	if len(bytes.TrimSpace(pemOrDER)) == 0 {
		return nil, &CSRError{Problem: "empty, not a PEM or DER PKCS #10 certificate signing request"}
	}
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
		// crypto/x509 refuses a request whose key it cannot read (an
		// elliptic curve it does not know, such as secp256k1): say so.
		if kerr := csrKeyProblem(der); kerr != nil {
			return nil, &CSRError{Problem: "unsupported key", Err: kerr}
		}
		// The parser's detail (ASN.1 tags and offsets) helps nobody:
		// say what it is not.
		return nil, &CSRError{Problem: "not a PEM or DER PKCS #10 certificate signing request"}
	}
	if err := csr.CheckSignature(); err != nil {
		// A key of an algorithm crypto/x509 does not know (Ed448) is
		// left unread, and no signature verifies without it.
		if csr.PublicKey == nil {
			if kerr := csrKeyProblem(der); kerr != nil {
				return nil, &CSRError{Problem: "unsupported key", Err: kerr}
			}
		}
		// A key crypto/x509 reads but verifies nothing with (DSA), or a
		// signature algorithm it does not implement: not an altered CSR.
		if errors.Is(err, x509.ErrUnsupportedAlgorithm) {
			if kerr := checkPublicKey(csr.PublicKey); kerr != nil {
				return nil, &CSRError{Problem: "unsupported key", Err: kerr}
			}
			return nil, &CSRError{Problem: unsupportedCSRSignature(csr)}
		}
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

// Public key algorithm and curve identifiers csrKeyProblem names.
var (
	oidECPublicKey  = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidRSA          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	supportedCurves = map[string]bool{"1.2.840.10045.3.1.7": true, "1.3.132.0.34": true, "1.3.132.0.35": true}
	curveNames      = map[string]string{
		"1.3.132.0.10":          "secp256k1",
		"1.3.132.0.33":          "P-224",
		"1.2.840.10045.3.1.1":   "P-192",
		"1.3.36.3.3.2.8.1.1.7":  "brainpoolP256r1",
		"1.3.36.3.3.2.8.1.1.11": "brainpoolP384r1",
		"1.3.36.3.3.2.8.1.1.13": "brainpoolP512r1",
	}
	keyAlgorithmNames = map[string]string{
		"1.3.101.110": "X25519", "1.3.101.111": "X448", "1.3.101.113": "Ed448",
		"1.2.840.10040.4.1": "DSA", "1.2.643.7.1.1.1.1": "GOST R 34.10-2012", "1.2.156.10197.1.301": "SM2",
	}
)

// csrKeyProblem reads the subjectPKInfo of a PKCS #10 request that
// crypto/x509 would not parse, and names a key certctl does not take: an
// elliptic curve other than P-256, P-384 and P-521, or a public key
// algorithm other than RSA and ECDSA. nil when the request is not
// readable that far, or its key is not the problem.
//
//	CertificationRequest ::= SEQUENCE { certificationRequestInfo SEQUENCE {
//	     version INTEGER, subject Name, subjectPKInfo SubjectPublicKeyInfo, ... }, ... }
func csrKeyProblem(der []byte) error {
	in := cryptobyte.String(der)
	var req, info, spki, alg cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !req.ReadASN1(&info, cbasn1.SEQUENCE) ||
		!info.SkipASN1(cbasn1.INTEGER) || !info.SkipASN1(cbasn1.SEQUENCE) ||
		!info.ReadASN1(&spki, cbasn1.SEQUENCE) || !spki.ReadASN1(&alg, cbasn1.SEQUENCE) ||
		!alg.ReadASN1ObjectIdentifier(&oid) {
		return nil
	}
	switch {
	case oid.Equal(oidECPublicKey):
		var curve asn1.ObjectIdentifier
		if !alg.ReadASN1ObjectIdentifier(&curve) {
			return unsupportedCurve("given by explicit parameters")
		}
		if supportedCurves[curve.String()] {
			return nil // the key itself is malformed
		}
		name, ok := curveNames[curve.String()]
		if !ok {
			name = curve.String()
		}
		return unsupportedCurve(name)
	case oid.Equal(oidRSA):
		return nil
	}
	name, ok := keyAlgorithmNames[oid.String()]
	if !ok {
		name = oid.String()
	}
	return fmt.Errorf("%s keys are not supported; %s", name, supportedKeys)
}

// oidRSASSAPSS is RSASSA-PSS (RFC 4055).
var oidRSASSAPSS = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}

// unsupportedCSRSignature says which signature of csr crypto/x509 cannot
// check, in words: an RSASSA-PSS one whose parameters it does not take
// (its salt not as long as the hash: openssl's -sigopt
// rsa_padding_mode:pss), or another algorithm by its name or OID (tester:
// "its signature algorithm 0 is not supported").
func unsupportedCSRSignature(csr *x509.CertificateRequest) string {
	if csr.SignatureAlgorithm != x509.UnknownSignatureAlgorithm {
		return fmt.Sprintf("its signature algorithm %v is not supported", csr.SignatureAlgorithm)
	}
	var outer struct {
		Info      asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}
	if _, err := asn1.Unmarshal(csr.Raw, &outer); err != nil {
		return "its signature algorithm is not supported"
	}
	if outer.Algorithm.Algorithm.Equal(oidRSASSAPSS) {
		return "its RSASSA-PSS signature has parameters certctl cannot verify (it verifies PSS with a salt as long as the hash): sign it again with openssl req -sigopt rsa_pss_saltlen:digest, or without -sigopt rsa_padding_mode:pss"
	}
	return fmt.Sprintf("its signature algorithm %v is not supported: sign it with RSA (PKCS #1 v1.5), ECDSA or Ed25519", outer.Algorithm.Algorithm)
}
