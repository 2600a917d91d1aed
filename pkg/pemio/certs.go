package pemio

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ParseCertificatesPEM parses a PEM file holding one or more certificates,
// in file order. Only CERTIFICATE blocks are allowed; DER input is refused
// with a hint on how to convert it.
func ParseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	if isBlank(data) {
		return nil, newErrorf(RuleEmptyFile, "no certificate found")
	}
	blocks, err := decodeAll(data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		if isPKCS12(data) {
			return nil, newErrorf(RuleCertificateNotPEM, pkcs12Hint)
		}
		if _, derErr := x509.ParseCertificates(data); derErr == nil {
			return nil, newErrorf(RuleCertificateNotPEM,
				"the file is DER; PEM is required (convert it with: openssl x509 -inform der -in cert.der -out cert.pem)")
		}
		return nil, newErrorf(RuleCertificateNotPEM, "no PEM block found")
	}
	certs := make([]*x509.Certificate, 0, len(blocks))
	for i, b := range blocks {
		if b.Type != typeCertificate {
			return nil, unexpectedBlock(b.Type, typeCertificate)
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			if strings.Contains(err.Error(), "unsupported elliptic curve") {
				// secp256k1, a Brainpool curve: Go's message names neither.
				return nil, newErrorf(RuleInvalidCertificate, fmt.Sprintf("certificate %d: the elliptic curve of its key is not supported; use P-256, P-384 or P-521", i+1))
			}
			return nil, newError(RuleInvalidCertificate, fmt.Errorf("certificate %d: %w", i+1, err))
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// unexpectedBlock reports a PEM block of type got where want was expected.
func unexpectedBlock(got, want string) *Error {
	detail := "expected " + want
	switch {
	case isPrivateKeyType(got) && want == typeCertificate:
		detail += " blocks only; give the private key separately (or use --bundle)"
	case got == "PKCS7":
		detail += " (extract the certificates with: openssl pkcs7 -print_certs -in FILE -out certs.pem)"
	}
	return &Error{Rule: RuleUnexpectedBlock + " " + sanitizeType(got), Err: errors.New(detail)}
}

// sanitizeType keeps a PEM type printable: it comes from the user's file and
// is echoed in an error message.
func sanitizeType(t string) string {
	const maxLen = 40
	out := make([]byte, 0, len(t))
	for i := 0; i < len(t) && len(out) < maxLen; i++ {
		c := t[i]
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		out = append(out, c)
	}
	return string(out)
}

// EncodeCertificatesPEM encodes certificates as consecutive CERTIFICATE PEM
// blocks. Nil certificates are skipped.
func EncodeCertificatesPEM(certs ...*x509.Certificate) []byte {
	n := 0
	for _, c := range certs {
		if c != nil {
			n += certificatePEMLen(len(c.Raw))
		}
	}
	if n == 0 {
		return nil
	}
	// The blocks pem.Encode writes (a block without headers: its BEGIN
	// line, its base64 in lines of 64 characters, its END line), into one
	// buffer of their size: every issuance encodes its certificate and
	// chain, and pem.Encode allocates five times a block.
	out := make([]byte, 0, n)
	for _, c := range certs {
		if c == nil {
			continue
		}
		out = append(out, certificateBegin...)
		for der := c.Raw; len(der) > 0; {
			k := min(len(der), pemLineBytes)
			out = base64.StdEncoding.AppendEncode(out, der[:k])
			out = append(out, '\n')
			der = der[k:]
		}
		out = append(out, certificateEnd...)
	}
	return out
}

// The lines of a CERTIFICATE block, as pem.Encode writes them.
const (
	certificateBegin = "-----BEGIN " + typeCertificate + "-----\n"
	certificateEnd   = "-----END " + typeCertificate + "-----\n"
	// pemLineBytes is how many bytes of DER one line of 64 base64
	// characters holds.
	pemLineBytes = 48
)

// certificatePEMLen is the length of the CERTIFICATE block of n bytes of
// DER.
func certificatePEMLen(n int) int {
	b64 := base64.StdEncoding.EncodedLen(n)
	return len(certificateBegin) + b64 + (n+pemLineBytes-1)/pemLineBytes + len(certificateEnd)
}
