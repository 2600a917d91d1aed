package casign

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"

	stepx509 "go.step.sm/crypto/x509util"
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
	if e.Err == nil {
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
		return nil, &CSRError{Problem: "malformed", Err: err}
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, &CSRError{Problem: ErrCSRSignature.Error(), Err: errors.Join(ErrCSRSignature, err)}
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, &CSRError{Problem: "unsupported key", Err: err}
	}
	return csr, nil
}

// Templates of go.step.sm/crypto/x509util. Only the subject and the names
// come from the request, and they are sanitised first; extensions asked for
// in the CSR (basicConstraints CA:TRUE, key usages, …) are never copied.
const (
	endEntityTemplate = `{
	"subject": {{ toJson .Subject }},
	"sans": {{ toJson .SANs }},
{{- if typeIs "*rsa.PublicKey" .Insecure.CR.PublicKey }}
	"keyUsage": ["digitalSignature", "keyEncipherment"],
{{- else }}
	"keyUsage": ["digitalSignature"],
{{- end }}
	"extKeyUsage": ["serverAuth", "clientAuth"],
	"basicConstraints": {"isCA": false, "maxPathLen": -1}
}`
	subordinateCATemplate = `{
	"subject": {{ toJson .Subject }},
	"keyUsage": ["certSign", "crlSign", "digitalSignature"],
	"basicConstraints": {"isCA": true, "maxPathLen": 0}
}`
	rootCATemplate = `{
	"subject": {{ toJson .Subject }},
	"keyUsage": ["certSign", "crlSign", "digitalSignature"],
	"basicConstraints": {"isCA": true, "maxPathLen": -1}
}`
)

// CSRTemplate builds the certificate template for csr (from ParseCSR) with
// one of the templates TemplateEndEntity, TemplateSubordinateCA or
// TemplateRootCA (AWS Private CA's IssueCertificate):
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
	if csr == nil {
		return nil, errors.New("ca: nil certificate signing request")
	}
	if err := checkSerial(serial); err != nil {
		return nil, err
	}
	// Re-verify: the request may not have come through ParseCSR.
	if err := csr.CheckSignature(); err != nil {
		return nil, &CSRError{Problem: ErrCSRSignature.Error(), Err: errors.Join(ErrCSRSignature, err)}
	}
	if err := checkPublicKey(csr.PublicKey); err != nil {
		return nil, &CSRError{Problem: "unsupported key", Err: err}
	}
	if err := ValidateSubject(csr.Subject); err != nil {
		return nil, &CSRError{Problem: "subject", Err: err}
	}

	data := stepx509.NewTemplateData()
	data.SetCertificateRequest(csr)
	data.SetSubject(stepx509.NewCertificateRequestFromX509(csr).Subject)

	var text string
	switch tmpl {
	case TemplateEndEntity:
		sans, err := endEntitySANs(csr)
		if err != nil {
			return nil, err
		}
		data.SetSubjectAlternativeNames(sans...)
		text = endEntityTemplate
	case TemplateSubordinateCA, TemplateRootCA:
		if csr.Subject.CommonName == "" && len(csr.Subject.Organization) == 0 && len(csr.Subject.OrganizationalUnit) == 0 {
			return nil, &CSRError{Problem: "a CA certificate needs a subject with CN, O or OU"}
		}
		text = subordinateCATemplate
		if tmpl == TemplateRootCA {
			text = rootCATemplate
		}
	default:
		return nil, fmt.Errorf("ca: unknown certificate template %q (want %s, %s or %s)",
			truncate(tmpl), TemplateEndEntity, TemplateSubordinateCA, TemplateRootCA)
	}

	c, err := stepx509.NewCertificate(csr, stepx509.WithTemplate(text, data))
	if err != nil {
		return nil, fmt.Errorf("ca: applying template %s: %w", tmpl, err)
	}
	t := c.GetCertificate()
	t.SerialNumber = serial
	t.NotBefore = v.NotBefore
	t.NotAfter = v.NotAfter
	return t, nil
}

// endEntitySANs returns the subject alternative names of an end-entity
// certificate issued for csr.
func endEntitySANs(csr *x509.CertificateRequest) ([]stepx509.SubjectAlternativeName, error) {
	var names []string
	if cn := csr.Subject.CommonName; cn != "" {
		if net.ParseIP(cn) != nil || checkDNSName(cn) == nil {
			names = append(names, cn)
		}
	}
	names = append(names, csr.DNSNames...)
	for _, ip := range csr.IPAddresses {
		names = append(names, ip.String())
	}
	if len(names) == 0 {
		return nil, &CSRError{Problem: "no DNS name or IP address in the CN or the subject alternative names"}
	}
	dns, ips, err := splitNames(names)
	if err != nil {
		return nil, &CSRError{Problem: "names", Err: err}
	}
	sans := make([]stepx509.SubjectAlternativeName, 0, len(dns)+len(ips))
	for _, d := range dns {
		sans = append(sans, stepx509.SubjectAlternativeName{Type: stepx509.DNSType, Value: d})
	}
	for _, ip := range ips {
		sans = append(sans, stepx509.SubjectAlternativeName{Type: stepx509.IPType, Value: ip.String()})
	}
	return sans, nil
}
