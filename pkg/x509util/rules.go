package x509util

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/dnsname"
)

// MaxKeyPEMSize is the largest private key file ACM imports, in bytes.
const MaxKeyPEMSize = 5120

// Rules named by RuleError.Rule. Import rules (SPEC "import / reimport").
const (
	RuleVersion3         = "certificate must be X.509 version 3"
	RuleKeyTooLarge      = "private key must not be larger than 5,120 bytes"
	RuleCertKeyAlgorithm = "certificate key algorithm not supported"
	RuleKeyAlgorithm     = "private key algorithm not supported"
	RuleKeyMismatch      = "private key does not match the certificate"
	RuleNotYetValid      = "certificate is not yet valid"
	RuleExpired          = "certificate has expired"
	RuleChainHasLeaf     = "chain must not contain the end-entity certificate"
	RuleChainOrder       = "chain must be in order"
	// RuleChainKeyAlgorithm: a chain certificate whose key's signatures
	// cannot be checked (RSA-PSS, DSA), so that its order cannot be.
	RuleChainKeyAlgorithm = "chain certificate key algorithm not supported"
	RuleWeakSignature     = "certificates must not be signed with MD5 or SHA-1"
)

// Reimport rules. A reimport that breaks one of these is refused by rule
// (exit 5) rather than invalid input.
const (
	RuleReimportKeyAlgorithm = "key algorithm must not change on reimport"
	RuleReimportKeyUsage     = "key usages must not be removed on reimport"
	RuleReimportExtKeyUsage  = "extended key usages must not be removed on reimport"
	RuleReimportNoName       = "certificate must hold at least one name"
)

// RuleError reports a broken import or reimport rule.
type RuleError struct {
	Rule   string // one of the Rule constants
	Detail string // what was found; never secret material
}

// Error renders "<rule>: <detail>" (just the rule when there is no detail).
func (e *RuleError) Error() string {
	if e.Detail == "" {
		return e.Rule
	}
	return e.Rule + ": " + e.Detail
}

func ruleErr(rule, format string, args ...any) *RuleError {
	return &RuleError{Rule: rule, Detail: fmt.Sprintf(format, args...)}
}

// CheckImport enforces ACM's import rules on a certificate, its private key
// (keyPEMSize is the size in bytes of its PEM block) and its chain,
// at time now. It returns the first broken rule as a *RuleError, in this
// order: version 3, key size, certificate and key algorithms, key match,
// validity period, leaf in chain, chain order. The chain may be empty.
func CheckImport(leaf *x509.Certificate, key crypto.Signer, keyPEMSize int, chain []*x509.Certificate, now time.Time) error {
	if leaf == nil {
		return &RuleError{Rule: RuleVersion3, Detail: "no certificate given"}
	}
	if leaf.Version != 3 {
		return ruleErr(RuleVersion3, "the certificate is version %d", leaf.Version)
	}
	if keyPEMSize > MaxKeyPEMSize {
		return ruleErr(RuleKeyTooLarge, "the private key is %d bytes as PEM", keyPEMSize)
	}
	if domain, sans := CertificateNames(leaf); domain == "" && len(sans) == 0 {
		// Nothing to list, search or deploy it by (a reimport refuses
		// such a certificate too).
		return &RuleError{Rule: RuleReimportNoName, Detail: "the certificate has no Common Name and no Subject Alternative Name (DNS, IP, email or URI)"}
	}
	certAlg, err := KeyAlgorithmOf(leaf.PublicKey)
	if err != nil {
		return ruleErr(RuleCertKeyAlgorithm, "%v; supported: %s", err, strings.Join(ImportKeyAlgorithms, ", "))
	}
	if key == nil {
		return &RuleError{Rule: RuleKeyMismatch, Detail: "no private key given"}
	}
	keyAlg, err := KeyAlgorithmOf(key.Public())
	if err != nil {
		return ruleErr(RuleKeyAlgorithm, "%v; supported: %s", err, strings.Join(ImportKeyAlgorithms, ", "))
	}
	if !PublicKeysEqual(leaf.PublicKey, key.Public()) {
		if certAlg != keyAlg {
			return ruleErr(RuleKeyMismatch, "the certificate holds an %s key and the private key is %s", certAlg, keyAlg)
		}
		for i, c := range chain {
			// The certificate and its issuers in the wrong order.
			if c != nil && PublicKeysEqual(c.PublicKey, key.Public()) {
				return ruleErr(RuleKeyMismatch, "the private key is the one of chain certificate %d (%s), not of the first certificate (%s): the certificate goes first, its issuers after it", i+1, c.Subject, leaf.Subject)
			}
		}
		return ruleErr(RuleKeyMismatch, "it belongs to another public key than the certificate's")
	}
	if now.Before(leaf.NotBefore) {
		return ruleErr(RuleNotYetValid, "valid from %s", leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	if now.After(leaf.NotAfter) {
		return ruleErr(RuleExpired, "expired at %s", leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	// A signature no client verifies any more (Go refuses to, so the
	// chain's order could not be checked either): the end-entity
	// certificate's and each intermediate's. A self-signed root's own
	// signature is never checked by anyone, so it may be SHA-1 — where
	// it is in the chain, which need not end with it (review: the last
	// of a chain without its root was taken for the root).
	if weakSignature(leaf.SignatureAlgorithm) {
		return ruleErr(RuleWeakSignature, "the certificate is signed with %s; have it issued again with SHA-256", leaf.SignatureAlgorithm)
	}
	for i, c := range chain {
		if c != nil && !bytes.Equal(c.RawSubject, c.RawIssuer) && weakSignature(c.SignatureAlgorithm) {
			return ruleErr(RuleWeakSignature, "chain certificate %d (%s) is signed with %s", i+1, Subject(c), c.SignatureAlgorithm)
		}
	}
	for i, c := range chain {
		if c == nil {
			return ruleErr(RuleChainOrder, "chain certificate %d is missing", i+1)
		}
		if bytes.Equal(c.Raw, leaf.Raw) {
			return ruleErr(RuleChainHasLeaf, "chain certificate %d is the certificate being imported", i+1)
		}
		// A certificate given twice is out of order: a self-signed root
		// certifies itself, so a root repeated passed the order check,
		// and was then served twice (tester). (Only on import: a chain
		// already stored so still deploys.)
		for j := range i {
			if chain[j] != nil && bytes.Equal(chain[j].Raw, c.Raw) {
				return ruleErr(RuleChainOrder, "chain certificate %d (%s) is chain certificate %d again", i+1, Subject(c), j+1)
			}
		}
	}
	return CheckChainOrder(leaf, chain)
}

// CheckChainOrder checks that each certificate of chain certifies the one
// before it, the first one leaf: that its key signed it (the signature
// checked, which parsing does not do) and that it may sign certificates.
// It returns the first break as a *RuleError (RuleChainOrder). The chain
// may be empty.
func CheckChainOrder(leaf *x509.Certificate, chain []*x509.Certificate) error {
	child := leaf
	for i, c := range chain {
		if err := child.CheckSignatureFrom(c); err != nil {
			if alg := uncheckableKey(c); alg != "" {
				// Not a chain out of order: one whose signatures crypto/x509
				// cannot check (tester: an RSA-PSS intermediate was called
				// out of order).
				return ruleErr(RuleChainKeyAlgorithm, "chain certificate %d (%s) has %s key, whose signatures cannot be checked; an issuer's key must be RSA, ECDSA or Ed25519",
					i+1, Subject(c), alg)
			}
			what := "the end-entity certificate"
			if i > 0 {
				what = fmt.Sprintf("chain certificate %d (%s)", i, Subject(child))
			}
			return ruleErr(RuleChainOrder, "chain certificate %d (%s) does not certify %s, the certificate before it: %s",
				i+1, Subject(c), what, notSignedBy(child, c, err))
		}
		child = c
	}
	return nil
}

// notSignedBy says why parent's CheckSignatureFrom refused child, in
// words rather than crypto/x509's (tester: "x509: ECDSA verification
// failure", "x509: signature algorithm specifies an RSA public key, but
// have public key of type *ecdsa.PublicKey").
func notSignedBy(child, parent *x509.Certificate, err error) string {
	var ce x509.ConstraintViolationError
	var ia x509.InsecureAlgorithmError
	switch {
	case errors.As(err, &ce):
		return "it is not a CA certificate that may sign certificates (basic constraints CA:TRUE, key usage keyCertSign)"
	case errors.As(err, &ia):
		return fmt.Sprintf("the signature's algorithm %s is not accepted", x509.SignatureAlgorithm(ia))
	case errors.Is(err, x509.ErrUnsupportedAlgorithm):
		return fmt.Sprintf("the signature's algorithm %s is not supported", child.SignatureAlgorithm)
	}
	return fmt.Sprintf("it did not sign it (its key is %s, the signature %s)", parent.PublicKeyAlgorithm, child.SignatureAlgorithm)
}

// uncheckableKey names the key algorithm of c ("an RSA-PSS", "a DSA",
// "an OID (OID)") when crypto/x509 checks no signature made with
// it; "" when it does.
func uncheckableKey(c *x509.Certificate) string {
	switch c.PublicKeyAlgorithm {
	case x509.RSA, x509.ECDSA, x509.Ed25519:
		return ""
	case x509.DSA:
		return "a DSA"
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return "an unreadable"
	}
	if spki.Algorithm.Algorithm.Equal(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}) {
		return "an RSA-PSS"
	}
	return "an " + spki.Algorithm.Algorithm.String() + " (OID)"
}

// publicKeysEqual compares two public keys with their Equal methods.
func PublicKeysEqual(a, b crypto.PublicKey) bool {
	eq, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && eq.Equal(b)
}

// CheckReimport enforces ACM's reimport rules for replacing certificate
// oldCert by newCert: the same key algorithm (type and size); Key Usage and Extended Key
// Usage values may be added but not removed; newCert must hold at least one name
// (a Common Name or a DNS SAN). Tags are the caller's concern. It returns
// the first broken rule as a *RuleError.
func CheckReimport(oldCert, newCert *x509.Certificate) error {
	if oldCert == nil || newCert == nil {
		return &RuleError{Rule: RuleReimportKeyAlgorithm, Detail: "missing certificate"}
	}
	newAlg, err := KeyAlgorithmOf(newCert.PublicKey)
	if err != nil {
		return ruleErr(RuleCertKeyAlgorithm, "%v", err)
	}
	oldAlg, err := KeyAlgorithmOf(oldCert.PublicKey)
	if err != nil {
		oldAlg = "an unsupported algorithm"
	}
	if oldAlg != newAlg {
		return ruleErr(RuleReimportKeyAlgorithm, "the certificate uses %s, the new one %s", oldAlg, newAlg)
	}
	if removed := oldCert.KeyUsage &^ newCert.KeyUsage; removed != 0 {
		return ruleErr(RuleReimportKeyUsage, "missing %s", strings.Join(KeyUsageNames(removed), ", "))
	}
	newEKUs := map[string]bool{}
	for _, e := range ExtKeyUsages(newCert) {
		newEKUs[e.OID] = true
	}
	var missing []string
	for _, e := range ExtKeyUsages(oldCert) {
		if !newEKUs[e.OID] {
			name := e.Name
			if name == EKUCustom {
				name += " " + e.OID
			}
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return ruleErr(RuleReimportExtKeyUsage, "missing %s", strings.Join(missing, ", "))
	}
	if domain, _ := CertificateNames(newCert); domain == "" {
		return &RuleError{Rule: RuleReimportNoName, Detail: "the new certificate has no Common Name and no DNS, email or URI Subject Alternative Name"}
	}
	return nil
}

// CertificateNames returns a certificate's names as ACM reports them:
// domain is the Common Name if present, else the first Subject Alternative
// Name of the certificate (DNS, else IP, else email, else URI); sans are the
// DNS SANs, then the IP address, email address and URI SANs as strings, in
// certificate order, with the Common Name first when it is not already
// among the DNS or IP SANs (compared case-insensitively). Records written
// before email and URI names were kept hold the others alone
// (LegacyCertificateNames).
func CertificateNames(c *x509.Certificate) (domain string, sans []string) {
	sans = []string{}
	if c == nil {
		return "", sans
	}
	cn := c.Subject.CommonName
	// A Common Name in Unicode (bücher.test) whose ASCII form (its
	// punycode, xn--bcher-kva.test) is a DNS name of the certificate is
	// that name, not one more beside it; names are shown in ASCII, as the
	// DNS names are (tester).
	if ascii, ok := dnsname.ASCIIForm(cn); ok {
		ascii = strings.TrimSuffix(ascii, ".") // an absolute name is that name
		for _, d := range c.DNSNames {
			if strings.EqualFold(d, ascii) {
				cn = d
				break
			}
		}
	}
	domain = cn
	if cn != "" {
		found := false
		for _, d := range c.DNSNames {
			if strings.EqualFold(d, cn) {
				found = true
				break
			}
		}
		for _, ip := range c.IPAddresses {
			if ip.String() == cn {
				found = true
			}
		}
		if !found {
			sans = append(sans, cn)
		}
	}
	sans = append(sans, c.DNSNames...)
	for _, ip := range c.IPAddresses {
		sans = append(sans, ip.String())
	}
	sans = append(sans, c.EmailAddresses...)
	for _, u := range c.URIs {
		sans = append(sans, u.String())
	}
	if domain == "" {
		switch {
		case len(c.DNSNames) > 0:
			domain = c.DNSNames[0]
		case len(sans) > 0 && len(c.IPAddresses) == 0:
			// An email address or a URI alone (an S/MIME or client
			// certificate, a SPIFFE identity) is what the certificate
			// is for. (A certificate of IP addresses alone keeps no
			// DomainName, as before.)
			domain = sans[0]
		}
	}
	return domain, sans
}

// LegacyCertificateNames are CertificateNames as records written before
// email and URI names were kept hold them: the Common Name and the DNS
// and IP names alone.
func LegacyCertificateNames(c *x509.Certificate) (domain string, sans []string) {
	if c == nil {
		return CertificateNames(c)
	}
	d := *c
	d.EmailAddresses, d.URIs = nil, nil
	return CertificateNames(&d)
}

// weakSignature reports whether alg hashes with MD2, MD5 or SHA-1.
func weakSignature(alg x509.SignatureAlgorithm) bool {
	switch alg {
	case x509.MD2WithRSA, x509.MD5WithRSA, x509.SHA1WithRSA, x509.DSAWithSHA1, x509.ECDSAWithSHA1:
		return true
	}
	return false
}
