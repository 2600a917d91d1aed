package casign

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"slices"
	"strings"
)

// Extensions a CSR may ask for that checkCSRExtensions names, beyond the
// ones certctl sets itself (pca.go).
var (
	oidTLSFeature = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}
	// kuNames are the Key Usage bits in the order of RFC 5280 4.2.1.3,
	// by openssl's names.
	kuNames = []string{"digitalSignature", "nonRepudiation", "keyEncipherment", "dataEncipherment",
		"keyAgreement", "keyCertSign", "cRLSign", "encipherOnly", "decipherOnly"}
)

// AsksMustStaple reports whether csr asks for the TLS Feature extension
// (RFC 7633: OCSP must-staple).
func AsksMustStaple(csr *x509.CertificateRequest) bool {
	for _, e := range csr.Extensions {
		if e.Id.Equal(oidTLSFeature) {
			return true
		}
	}
	return false
}

// extensionName is "name (OID)" for an extension certctl knows, else the OID.
func extensionName(id asn1.ObjectIdentifier) string {
	// Switches, not maps: nothing is built at start-up (the app
	// package's init cost test).
	var n string
	switch s := id.String(); s {
	case "2.5.29.17":
		n = "subjectAltName"
	case "2.5.29.37":
		n = "extendedKeyUsage"
	case "2.5.29.15":
		n = "keyUsage"
	case "2.5.29.19":
		n = "basicConstraints"
	case "2.5.29.14":
		n = "subjectKeyIdentifier"
	case "2.5.29.35":
		n = "authorityKeyIdentifier"
	case "2.5.29.31":
		n = "cRLDistributionPoints"
	case "1.3.6.1.5.5.7.1.1":
		n = "authorityInfoAccess"
	case "2.5.29.30":
		n = "nameConstraints"
	case "2.5.29.32":
		n = "certificatePolicies"
	case "1.3.6.1.5.5.7.1.24":
		n = "TLS Feature (OCSP must-staple)"
	case "2.5.29.9":
		n = "subjectDirectoryAttributes"
	case "2.5.29.33":
		n = "policyMappings"
	case "2.5.29.36":
		n = "policyConstraints"
	case "2.5.29.54":
		n = "inhibitAnyPolicy"
	case "1.3.6.1.4.1.11129.2.4.2":
		n = "signed certificate timestamps"
	case "1.3.6.1.4.1.311.20.2":
		n = "Microsoft certificate template name"
	case "1.3.6.1.4.1.311.21.7":
		n = "Microsoft certificate template"
	case "1.3.6.1.4.1.311.21.10":
		n = "Microsoft application policies"
	case "1.2.840.113549.1.9.15":
		n = "S/MIME capabilities"
	case "2.16.840.1.113730.1.1":
		n = "Netscape certificate type"
	case "2.16.840.1.113730.1.13":
		n = "Netscape comment"
	default:
		return s
	}
	return n + " (" + id.String() + ")"
}

// ekuName is an extended key usage purpose's name, else its OID.
func ekuName(id asn1.ObjectIdentifier) string {
	switch s := id.String(); s {
	case "2.5.29.37.0":
		return "anyExtendedKeyUsage"
	case "1.3.6.1.5.5.7.3.1":
		return "serverAuth"
	case "1.3.6.1.5.5.7.3.2":
		return "clientAuth"
	case "1.3.6.1.5.5.7.3.3":
		return "codeSigning"
	case "1.3.6.1.5.5.7.3.4":
		return "emailProtection"
	case "1.3.6.1.5.5.7.3.5":
		return "ipsecEndSystem"
	case "1.3.6.1.5.5.7.3.6":
		return "ipsecTunnel"
	case "1.3.6.1.5.5.7.3.7":
		return "ipsecUser"
	case "1.3.6.1.5.5.7.3.8":
		return "timeStamping"
	case "1.3.6.1.5.5.7.3.9":
		return "OCSPSigning"
	case "1.3.6.1.5.5.7.3.17":
		return "ipsecIKE"
	case "1.3.6.1.5.5.7.3.36":
		return "documentSigning"
	case "1.3.6.1.4.1.311.20.2.2":
		return "smartCardLogin"
	case "1.3.6.1.4.1.311.10.3.12":
		return "documentSigning (Microsoft)"
	case "1.3.6.1.4.1.11129.2.4.4":
		return "certificateTransparency"
	case "1.3.6.1.4.1.311.10.3.3":
		return "Microsoft server gated crypto"
	case "2.16.840.1.113730.4.1":
		return "Netscape server gated crypto"
	case "1.3.6.1.4.1.311.2.1.22":
		return "Microsoft commercial code signing"
	case "1.3.6.1.4.1.311.61.1.1":
		return "Microsoft kernel code signing"
	default:
		return s
	}
}

// kuList names the Key Usage bits of ku.
func kuList(ku x509.KeyUsage) string {
	var out []string
	for i, n := range kuNames {
		if ku&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

// maxKeyIdentifier is the longest subject key identifier a CSR may ask
// for: RFC 5280's methods give 20 octets, RFC 7093's up to 64.
const maxKeyIdentifier = 64

// csrRequests is what a CSR's extensions ask of the certificate, beyond
// its names.
type csrRequests struct {
	ku      x509.KeyUsage
	hasKU   bool
	ekus    []asn1.ObjectIdentifier
	bc      *csrBasicConstraints
	ski     []byte
	unknown []unknownRequest
}

type csrBasicConstraints struct {
	IsCA       bool `asn1:"optional"`
	MaxPathLen int  `asn1:"optional,default:-1"`
}

type unknownRequest struct {
	id       asn1.ObjectIdentifier
	critical bool
	value    []byte
}

// readCSRExtensions reads what the CSR's extensions ask for. The subject
// alternative names are checkOtherSANs' and requestNames'.
func readCSRExtensions(csr *x509.CertificateRequest) (*csrRequests, error) {
	r := &csrRequests{}
	for _, e := range csr.Extensions {
		switch {
		case e.Id.Equal(oidSAN):
		case e.Id.Equal(oidSKI):
			var id []byte
			if rest, err := asn1.Unmarshal(e.Value, &id); err != nil || len(rest) > 0 || len(id) == 0 || len(id) > maxKeyIdentifier {
				return nil, &CSRError{Problem: fmt.Sprintf("malformed subject key identifier extension (an OCTET STRING of 1 to %d octets)", maxKeyIdentifier)}
			}
			r.ski = id
		case e.Id.Equal(oidKU):
			var b asn1.BitString
			if rest, err := asn1.Unmarshal(e.Value, &b); err != nil || len(rest) > 0 {
				return nil, &CSRError{Problem: "malformed key usage extension"}
			}
			for i := 0; i < b.BitLength && i < len(kuNames); i++ {
				if b.At(i) != 0 {
					r.ku |= 1 << i
				}
			}
			if b.BitLength > len(kuNames) {
				for i := len(kuNames); i < b.BitLength; i++ {
					if b.At(i) != 0 {
						return nil, &CSRError{Problem: fmt.Sprintf("key usage bit %d is not defined (RFC 5280 4.2.1.3)", i)}
					}
				}
			}
			r.hasKU = true
		case e.Id.Equal(oidEKU):
			var ids []asn1.ObjectIdentifier
			if rest, err := asn1.Unmarshal(e.Value, &ids); err != nil || len(rest) > 0 {
				return nil, &CSRError{Problem: "malformed extended key usage extension"}
			}
			r.ekus = append(r.ekus, ids...)
		case e.Id.Equal(oidBC):
			bc := &csrBasicConstraints{}
			if rest, err := asn1.Unmarshal(e.Value, bc); err != nil || len(rest) > 0 || bc.MaxPathLen < -1 {
				return nil, &CSRError{Problem: "malformed basic constraints extension"}
			}
			r.bc = bc
		default:
			r.unknown = append(r.unknown, unknownRequest{id: e.Id, critical: e.Critical, value: e.Value})
		}
	}
	return r, nil
}

// checkCSRExtensions refuses (with a *NameError naming it) an extension of
// the CSR that the certificate t, made with template name (profile p), does
// not carry: SPEC's "a CSR item the template cannot carry is refused,
// never dropped". A request is carried when the certificate grants at
// least what it asks: Key Usage bits and extended key usage purposes all
// among the certificate's; basicConstraints CA:FALSE for an end-entity
// certificate, CA:TRUE for a CA certificate with a path length no shorter
// than the one asked (a CA CSR without one asks for none in particular: no
// subordinate template could carry an unconstrained path); any other
// extension only when the certificate has it with the same value (an API
// passthrough's custom extension, or one EndEntityCertificate_CSRPassthrough
// copied). Under EndEntityCertificate_CSRPassthrough too, what the template
// sets itself (basic constraints, key usage, extended key usage) and what
// certctl sets from the CA (name constraints, CRL and OCSP pointers) is
// not copied from the CSR: a CSR asking for more than the certificate
// grants is refused.
//
// A subject key identifier the CSR asks for is carried by an end-entity
// certificate: t gets it instead of the one Sign would compute from the key
// (tester: it was replaced without a word). A CA certificate carries only
// the key's own (RFC 5280 method 1): the vault finds which of its CAs
// issued a certificate by subject and key identifier (chain links,
// revocation checks), which a requested identifier could make name
// another CA's key.
func checkCSRExtensions(csr *x509.CertificateRequest, t *x509.Certificate, name string, p profile) error {
	r, err := readCSRExtensions(csr)
	if err != nil {
		return err
	}
	if r.ski != nil {
		if t.IsCA {
			own, err := keyIdentifier(csr.PublicKey)
			if err != nil {
				return err
			}
			if !bytes.Equal(own, r.ski) {
				return &NameError{Problem: fmt.Sprintf("the CSR asks for subject key identifier %X, and a CA certificate certctl issues carries its key's own (%X, RFC 5280 4.2.1.2 method 1): leave it out of the CSR", r.ski, own)}
			}
		}
		t.SubjectKeyId = r.ski
	}
	if bc := r.bc; bc != nil {
		switch {
		case bc.IsCA && !t.IsCA:
			return &NameError{Problem: fmt.Sprintf("the CSR asks for a CA certificate (basicConstraints CA:TRUE), and template %s makes an end-entity certificate (use SubordinateCACertificate_PathLen0..3 for a subordinate CA)", name)}
		case !bc.IsCA && t.IsCA:
			return &NameError{Problem: fmt.Sprintf("the CSR asks for an end-entity certificate (basicConstraints CA:FALSE), and template %s makes a CA certificate (use %s)", name, PCAEndEntity)}
		case bc.IsCA && bc.MaxPathLen >= 0 && certPathLen(t) >= 0 && bc.MaxPathLen > certPathLen(t):
			hint := ""
			if bc.MaxPathLen <= 3 {
				hint = fmt.Sprintf(" (use SubordinateCACertificate_PathLen%d)", bc.MaxPathLen)
			}
			return &NameError{Problem: fmt.Sprintf("the CSR asks for a CA path length of %d, and template %s grants %d%s", bc.MaxPathLen, name, certPathLen(t), hint)}
		}
	}
	granted := grantedEKUs(t)
	var missingEKU []asn1.ObjectIdentifier
	for _, id := range r.ekus {
		if !slices.ContainsFunc(granted, id.Equal) && !slices.ContainsFunc(missingEKU, id.Equal) {
			missingEKU = append(missingEKU, id)
		}
	}
	if len(missingEKU) > 0 {
		names := make([]string, len(missingEKU))
		for i, id := range missingEKU {
			names[i] = ekuName(id)
		}
		return &NameError{Problem: fmt.Sprintf("the CSR asks for extended key usage %s, which template %s does not grant%s",
			strings.Join(names, ", "), name, templateHint(r, csr.PublicKey, p))}
	}
	if missing := r.ku &^ t.KeyUsage; missing != 0 {
		why := ""
		if _, isRSA := csr.PublicKey.(*rsa.PublicKey); !isRSA && missing&x509.KeyUsageKeyEncipherment != 0 && !p.ca {
			why = " to an ECDSA key (RFC 8813)"
		}
		return &NameError{Problem: fmt.Sprintf("the CSR asks for key usage %s, which template %s does not grant%s%s",
			kuList(missing), name, why, templateHint(r, csr.PublicKey, p))}
	}
	for _, u := range r.unknown {
		if carries(t, u) {
			continue
		}
		crit := ""
		if u.critical {
			crit = "critical "
		}
		hint := ""
		switch {
		case managedExtension(u.id):
			hint = " (certctl sets it from the issuing CA's configuration)"
		case !p.ca:
			hint = fmt.Sprintf(" (use %s, which copies the CSR's extensions)", PCACSRPassthrough)
		}
		return &NameError{Problem: fmt.Sprintf("the CSR's %sextension %s cannot be carried by template %s%s", crit, extensionName(u.id), name, hint)}
	}
	return nil
}

// certPathLen is t's path length constraint; -1 for none.
func certPathLen(t *x509.Certificate) int {
	if t.MaxPathLen > 0 || t.MaxPathLenZero {
		return t.MaxPathLen
	}
	return -1
}

// carries reports whether t has the extension u with the same value.
func carries(t *x509.Certificate, u unknownRequest) bool {
	for _, e := range t.ExtraExtensions {
		if e.Id.Equal(u.id) && bytes.Equal(e.Value, u.value) {
			return true
		}
	}
	return false
}

// grantedEKUs are the extended key usage purposes of t, named or by OID.
func grantedEKUs(t *x509.Certificate) []asn1.ObjectIdentifier {
	var out []asn1.ObjectIdentifier
	for _, u := range t.ExtKeyUsage {
		for _, e := range ekus {
			if e.usage == u {
				out = append(out, e.oid)
			}
		}
	}
	out = append(out, t.UnknownExtKeyUsage...)
	for _, e := range t.ExtraExtensions {
		var ids []asn1.ObjectIdentifier
		if e.Id.Equal(oidEKU) {
			if _, err := asn1.Unmarshal(e.Value, &ids); err == nil {
				out = append(out, ids...)
			}
		}
	}
	return out
}

// hintTemplates are the end-entity templates templateHint considers, the
// most usual first.
var hintTemplates = []string{PCAEndEntity, PCAEndEntityServerAuth, PCAEndEntityClientAuth, PCACodeSigning, PCAOCSPSigning}

// templateHint is " (use T)" naming the first end-entity template that
// grants every Key Usage bit and extended key usage purpose r asks for
// (with the API passthrough template as the last resort), or "" for a CA
// template, whose usages no other template changes.
func templateHint(r *csrRequests, pub any, p profile) string {
	if p.ca {
		return ""
	}
	for _, n := range hintTemplates {
		q := profiles[n]
		if r.ku&^x509.KeyUsage(keyUsage(q.ku(pub))) != 0 {
			continue
		}
		ok := true
		for _, id := range r.ekus {
			found := false
			for _, e := range q.eku {
				found = found || ekus[e].oid.Equal(id)
			}
			ok = ok && found
		}
		if ok {
			return " (use " + n + ")"
		}
	}
	return fmt.Sprintf(" (use %s with --api-passthrough KeyUsage and ExtendedKeyUsage)", PCABlankAPIPassthrough)
}
