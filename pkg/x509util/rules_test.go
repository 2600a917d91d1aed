package x509util

import (
	"crypto"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadRSA8192(t *testing.T) (crypto.Signer, int) {
	t.Helper()
	data, err := os.ReadFile("testdata/rsa8192.key")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pem.Decode(data)
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return k.(crypto.Signer), len(data)
}

func TestCheckImport(t *testing.T) {
	ca := newTestCA(t)
	p256 := ecKey(t, elliptic.P256())
	other := ecKey(t, elliptic.P256())
	rsa2048 := rsaKey(t, 2048)
	rsa1536 := rsaKey(t, 1536)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	big, bigSize := loadRSA8192(t)
	if bigSize <= MaxKeyPEMSize {
		t.Fatalf("fixture key is only %d bytes", bigSize)
	}

	leaf := ca.leaf(t, "www.example.test", p256)
	rsaLeaf := ca.leaf(t, "rsa.example.test", rsa2048)
	expired := ca.leaf(t, "old.example.test", p256, withValidity(testNow.Add(-48*time.Hour), testNow.Add(-time.Second)))
	future := ca.leaf(t, "new.example.test", p256, withValidity(testNow.Add(time.Second), testNow.Add(48*time.Hour)))
	v1 := ca.v1Certificate(t, "v1.example.test", p256.Public())
	weak := ca.leaf(t, "weak.example.test", rsa1536)
	edLeaf := ca.leaf(t, "ed.example.test", edKey)
	bigLeaf := ca.leaf(t, "big.example.test", big)
	nameless := ca.leaf(t, "", p256, withNames(""))
	// A second intermediate with the same name but another key: it looks
	// like the issuer but did not sign the leaf.
	fakeInterKey := ecKey(t, elliptic.P256())
	fakeInter := issue(t, "Test Intermediate", true, fakeInterKey.Public(), ca.root, ca.rootKey)
	otherRoot := issue(t, "Other Root", true, other.Public(), nil, other)
	rsaRoot := issue(t, "RSA Root", true, rsa2048.Public(), nil, rsa2048)

	const keySize = 241
	tests := []struct {
		name    string
		leaf    *x509.Certificate
		key     crypto.Signer
		keySize int
		chain   []*x509.Certificate
		now     time.Time
		rule    string // "" = accepted
		detail  string // substring of the detail
	}{
		{"valid, no chain", leaf, p256, keySize, nil, testNow, "", ""},
		{"valid two-level chain", leaf, p256, keySize, []*x509.Certificate{ca.inter, ca.root}, testNow, "", ""},
		{"valid intermediate only", leaf, p256, keySize, []*x509.Certificate{ca.inter}, testNow, "", ""},
		{"valid RSA", rsaLeaf, rsa2048, 1704, []*x509.Certificate{ca.inter, ca.root}, testNow, "", ""},
		{"valid at NotBefore", leaf, p256, keySize, nil, leaf.NotBefore, "", ""},
		{"valid at NotAfter", leaf, p256, keySize, nil, leaf.NotAfter, "", ""},
		{"key file exactly 5120 bytes", leaf, p256, MaxKeyPEMSize, nil, testNow, "", ""},
		{"version 1", v1, p256, keySize, []*x509.Certificate{ca.inter}, testNow, RuleVersion3, "version 1"},
		{"oversized key", bigLeaf, big, bigSize, nil, testNow, RuleKeyTooLarge, "6392 bytes"},
		{"key file 5121 bytes", leaf, p256, MaxKeyPEMSize + 1, nil, testNow, RuleKeyTooLarge, ""},
		{"RSA 1536 certificate", weak, rsa1536, 1200, nil, testNow, RuleCertKeyAlgorithm, "1536"},
		{"Ed25519 certificate", edLeaf, edKey, 119, nil, testNow, RuleCertKeyAlgorithm, "Ed25519"},
		{"Ed25519 private key", leaf, edKey, 119, nil, testNow, RuleKeyAlgorithm, "Ed25519"},
		{"mismatched key, same algorithm", leaf, other, keySize, nil, testNow, RuleKeyMismatch, ""},
		{"mismatched key, other algorithm", leaf, rsa2048, 1704, nil, testNow, RuleKeyMismatch, "RSA_2048"},
		{"no key", leaf, nil, 0, nil, testNow, RuleKeyMismatch, ""},
		{"the issuer first, the certificate after it", ca.inter, p256, keySize, []*x509.Certificate{leaf, ca.root}, testNow, RuleKeyMismatch, "the private key is the one of chain certificate 1 (CN=www.example.test,O=certctl tests), not of the first certificate (CN=Test Intermediate,O=certctl tests): the certificate goes first"},
		{"not yet valid", future, p256, keySize, nil, testNow, RuleNotYetValid, future.NotBefore.Format(time.RFC3339)},
		{"expired", expired, p256, keySize, nil, testNow, RuleExpired, expired.NotAfter.Format(time.RFC3339)},
		{"expired one second after NotAfter", leaf, p256, keySize, nil, leaf.NotAfter.Add(time.Second), RuleExpired, ""},
		{"chain contains leaf", leaf, p256, keySize, []*x509.Certificate{ca.inter, leaf, ca.root}, testNow, RuleChainHasLeaf, "certificate 2"},
		{"chain is only the leaf", leaf, p256, keySize, []*x509.Certificate{leaf}, testNow, RuleChainHasLeaf, ""},
		{"chain out of order", leaf, p256, keySize, []*x509.Certificate{ca.root, ca.inter}, testNow, RuleChainOrder, "chain certificate 1"},
		{"chain root does not certify intermediate", leaf, p256, keySize, []*x509.Certificate{ca.inter, otherRoot}, testNow, RuleChainOrder, "chain certificate 2"},
		{"chain skips the intermediate", leaf, p256, keySize, []*x509.Certificate{ca.root}, testNow, RuleChainOrder, ""},
		{"same-name impostor intermediate", leaf, p256, keySize, []*x509.Certificate{fakeInter, ca.root}, testNow, RuleChainOrder, ""},
		{"nil in chain", leaf, p256, keySize, []*x509.Certificate{nil}, testNow, RuleChainOrder, ""},
		// Why a chain certificate does not certify the one before it, in
		// words (tester: "x509: ECDSA verification failure", "x509:
		// signature algorithm specifies an RSA public key, but have
		// public key of type *ecdsa.PublicKey").
		{"unrelated chain certificate", leaf, p256, keySize, []*x509.Certificate{otherRoot}, testNow, RuleChainOrder,
			"chain certificate 1 (CN=Other Root,O=certctl tests) does not certify the end-entity certificate, the certificate before it: it did not sign it (its key is ECDSA, the signature ECDSA-SHA256)"},
		{"chain certificate of another key algorithm", leaf, p256, keySize, []*x509.Certificate{rsaRoot}, testNow, RuleChainOrder,
			"the certificate before it: it did not sign it (its key is RSA, the signature ECDSA-SHA256)"},
		{"root given twice", leaf, p256, keySize, []*x509.Certificate{ca.inter, ca.root, ca.root}, testNow, RuleChainOrder, "chain certificate 3 (CN=Test Root,O=certctl tests) is chain certificate 2 again"},
		{"no certificate", nil, p256, keySize, nil, testNow, RuleVersion3, ""},
		{"no name at all", nameless, p256, keySize, nil, testNow, RuleReimportNoName, "no Common Name and no Subject Alternative Name"},
		// A client or S/MIME certificate, a SPIFFE identity: an email
		// address or a URI is a name (tester: refused as nameless).
		{"an email address alone", ca.leaf(t, "x", p256, withNames(""), func(c *x509.Certificate) { c.EmailAddresses = []string{"alice@example.test"} }), p256, keySize, nil, testNow, "", ""},
		{"a URI alone", ca.leaf(t, "x", p256, withNames(""), func(c *x509.Certificate) {
			c.URIs = []*url.URL{{Scheme: "spiffe", Host: "example.test", Path: "/ns/prod/sa/web"}}
		}), p256, keySize, nil, testNow, "", ""},
		// SHA-1: refused with or without a chain, on its own rule (tester:
		// without a chain it was imported, with one the chain was said to
		// be out of order).
		{"SHA-1 certificate", signedWith(leaf, x509.SHA1WithRSA), p256, keySize, nil, testNow, RuleWeakSignature, "SHA1-RSA"},
		{"SHA-1 certificate with its chain", signedWith(leaf, x509.ECDSAWithSHA1), p256, keySize, []*x509.Certificate{ca.inter, ca.root}, testNow, RuleWeakSignature, "ECDSA-SHA1"},
		{"SHA-1 intermediate", leaf, p256, keySize, []*x509.Certificate{signedWith(ca.inter, x509.SHA1WithRSA), ca.root}, testNow, RuleWeakSignature, "chain certificate 1 (CN=Test Intermediate"},
		{"SHA-1 root: never checked, taken", leaf, p256, keySize, []*x509.Certificate{ca.inter, signedWith(ca.root, x509.SHA1WithRSA)}, testNow, "", ""},
		{"SHA-1 intermediate, the chain without its root", leaf, p256, keySize, []*x509.Certificate{signedWith(ca.inter, x509.SHA1WithRSA)}, testNow, RuleWeakSignature, "chain certificate 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckImport(tt.leaf, tt.key, tt.keySize, tt.chain, tt.now)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) {
				t.Fatalf("error = %v (%T), want *RuleError %q", err, err, tt.rule)
			}
			if re.Rule != tt.rule {
				t.Fatalf("rule = %q, want %q (%v)", re.Rule, tt.rule, err)
			}
			if !strings.Contains(re.Detail, tt.detail) {
				t.Fatalf("detail %q does not contain %q", re.Detail, tt.detail)
			}
			if strings.Contains(re.Detail, "x509:") || strings.Contains(re.Detail, "crypto/") {
				t.Errorf("detail %q holds Go's own words", re.Detail)
			}
			if err.Error() != re.Rule+": "+re.Detail {
				t.Fatalf("Error() = %q", err.Error())
			}
		})
	}
}

func TestCheckReimport(t *testing.T) {
	ca := newTestCA(t)
	p256a, p256b := ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	p384 := ecKey(t, elliptic.P384())
	rsa2048a, rsa3072 := rsaKey(t, 2048), rsaKey(t, 3072)
	custom := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}

	base := []certOpt{
		withKeyUsage(x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment),
		withEKU(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth),
	}
	old := ca.leaf(t, "a.example.test", p256a, base...)
	with := func(extra ...certOpt) []certOpt { return append(slices.Clone(base), extra...) }

	tests := []struct {
		name   string
		old    *x509.Certificate
		new    *x509.Certificate
		rule   string
		detail string
	}{
		{"same shape, new key", old, ca.leaf(t, "a.example.test", p256b, base...), "", ""},
		{"different names are fine", old, ca.leaf(t, "b.example.test", p256b, base...), "", ""},
		{"key usage added", old, ca.leaf(t, "a.example.test", p256b, with(withKeyUsage(x509.KeyUsageDigitalSignature|x509.KeyUsageKeyEncipherment|x509.KeyUsageKeyAgreement))...), "", ""},
		{"EKU added", old, ca.leaf(t, "a.example.test", p256b, with(withEKU(x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageCodeSigning))...), "", ""},
		{"CN only", old, ca.leaf(t, "a.example.test", p256b, with(withNames("a.example.test"))...), "", ""},
		{"DNS SAN only", old, ca.leaf(t, "a.example.test", p256b, with(withNames("", "a.example.test"))...), "", ""},
		{"EC to RSA", old, ca.leaf(t, "a.example.test", rsa2048a, base...), RuleReimportKeyAlgorithm, "EC_prime256v1, the new one RSA_2048"},
		{"P-256 to P-384", old, ca.leaf(t, "a.example.test", p384, base...), RuleReimportKeyAlgorithm, "EC_secp384r1"},
		{"RSA size change", ca.leaf(t, "r.example.test", rsa2048a, base...), ca.leaf(t, "r.example.test", rsa3072, base...), RuleReimportKeyAlgorithm, "RSA_3072"},
		{"key usage removed", old, ca.leaf(t, "a.example.test", p256b, with(withKeyUsage(x509.KeyUsageDigitalSignature))...), RuleReimportKeyUsage, KeyUsageKeyEncipherment},
		{"EKU removed", old, ca.leaf(t, "a.example.test", p256b, with(withEKU(x509.ExtKeyUsageServerAuth))...), RuleReimportExtKeyUsage, EKUClientAuth},
		{"all EKUs removed", old, ca.leaf(t, "a.example.test", p256b, with(withEKU())...), RuleReimportExtKeyUsage, EKUServerAuth + ", " + EKUClientAuth},
		{"custom EKU removed",
			ca.leaf(t, "a.example.test", p256a, with(withUnknownEKU(custom))...),
			ca.leaf(t, "a.example.test", p256b, base...), RuleReimportExtKeyUsage, "CUSTOM 1.3.6.1.4.1.99999.1"},
		{"no name", old, ca.leaf(t, "a.example.test", p256b, with(withNames(""), func(c *x509.Certificate) { c.IPAddresses = []net.IP{net.IPv4(10, 0, 0, 1)} })...), RuleReimportNoName, ""},
		{"a URI alone is a name", old, ca.leaf(t, "a.example.test", p256b, with(withNames(""), func(c *x509.Certificate) { c.URIs = []*url.URL{{Scheme: "spiffe", Host: "example.test", Path: "/w"}} })...), "", ""},
		{"unsupported new key", old, ca.leaf(t, "a.example.test", rsaKey(t, 1536), base...), RuleCertKeyAlgorithm, "1536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckReimport(tt.old, tt.new)
			if tt.rule == "" {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			var re *RuleError
			if !errors.As(err, &re) || re.Rule != tt.rule {
				t.Fatalf("error = %v, want rule %q", err, tt.rule)
			}
			if !strings.Contains(re.Detail, tt.detail) {
				t.Fatalf("detail %q does not contain %q", re.Detail, tt.detail)
			}
		})
	}
}

func TestCertificateNames(t *testing.T) {
	ca := newTestCA(t)
	k := ecKey(t, elliptic.P256())
	ips := func(c *x509.Certificate) {
		c.IPAddresses = []net.IP{net.ParseIP("192.0.2.1"), net.ParseIP("2001:db8::1")}
	}
	tests := []struct {
		name       string
		cert       *x509.Certificate
		wantDomain string
		wantSANs   []string
	}{
		{"CN in SANs", ca.leaf(t, "b.test", k, withNames("b.test", "a.test", "b.test")), "b.test", []string{"a.test", "b.test"}},
		{"CN not in SANs", ca.leaf(t, "x", k, withNames("cn.test", "a.test")), "cn.test", []string{"cn.test", "a.test"}},
		{"CN differs in case", ca.leaf(t, "x", k, withNames("A.Test", "a.test")), "A.Test", []string{"a.test"}},
		{"no CN", ca.leaf(t, "x", k, withNames("", "a.test", "b.test")), "a.test", []string{"a.test", "b.test"}},
		{"IP SANs", ca.leaf(t, "x", k, withNames("a.test", "a.test"), ips), "a.test", []string{"a.test", "192.0.2.1", "2001:db8::1"}},
		{"CN is an IP SAN", ca.leaf(t, "x", k, withNames("192.0.2.1"), ips), "192.0.2.1", []string{"192.0.2.1", "2001:db8::1"}},
		{"no names", ca.leaf(t, "x", k, withNames("")), "", []string{}},
		{"email and URI after DNS and IP", ca.leaf(t, "x", k, withNames("a.test", "a.test"), ips, func(c *x509.Certificate) {
			c.EmailAddresses = []string{"ops@example.test"}
			c.URIs = []*url.URL{{Scheme: "spiffe", Host: "example.test", Path: "/w"}}
		}), "a.test", []string{"a.test", "192.0.2.1", "2001:db8::1", "ops@example.test", "spiffe://example.test/w"}},
		{"an email address alone names it", ca.leaf(t, "x", k, withNames(""), func(c *x509.Certificate) { c.EmailAddresses = []string{"alice@example.test"} }),
			"alice@example.test", []string{"alice@example.test"}},
		{"a URI alone names it", ca.leaf(t, "x", k, withNames(""), func(c *x509.Certificate) { c.URIs = []*url.URL{{Scheme: "spiffe", Host: "example.test", Path: "/w"}} }),
			"spiffe://example.test/w", []string{"spiffe://example.test/w"}},
		{"IP addresses alone: no DomainName, as before", ca.leaf(t, "x", k, withNames(""), ips), "", []string{"192.0.2.1", "2001:db8::1"}},
		{"Unicode CN, its punycode a SAN", ca.leaf(t, "x", k, withNames("bücher.test", "xn--bcher-kva.test", "a.test")), "xn--bcher-kva.test", []string{"xn--bcher-kva.test", "a.test"}},
		{"Unicode CN with a final dot, its punycode a SAN", ca.leaf(t, "x", k, withNames("bücher.test.", "xn--bcher-kva.test")), "xn--bcher-kva.test", []string{"xn--bcher-kva.test"}},
		{"Unicode CN, not a SAN", ca.leaf(t, "x", k, withNames("bücher.test", "a.test")), "bücher.test", []string{"bücher.test", "a.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, sans := CertificateNames(tt.cert)
			if d != tt.wantDomain || !slices.Equal(sans, tt.wantSANs) {
				t.Fatalf("CertificateNames = %q, %q; want %q, %q", d, sans, tt.wantDomain, tt.wantSANs)
			}
		})
	}
}

// signedWith is a copy of c that says it is signed with alg (what the
// rules read; the signature itself is not c's then).
func signedWith(c *x509.Certificate, alg x509.SignatureAlgorithm) *x509.Certificate {
	d := *c
	d.SignatureAlgorithm = alg
	return &d
}

// An issuer with an RSA-PSS key (openssl genpkey -algorithm RSA-PSS) signs
// in order, but crypto/x509 checks no signature of such a key: the chain is
// refused for its issuer's key, not called out of order (tester).
func TestCheckChainOrderUncheckableIssuerKey(t *testing.T) {
	parse := func(s string) *x509.Certificate {
		t.Helper()
		b, _ := pem.Decode([]byte(s))
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	err := CheckChainOrder(parse(pssIssuedLeaf), []*x509.Certificate{parse(pssIntermediate)})
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != RuleChainKeyAlgorithm {
		t.Fatalf("err = %v, want rule %q", err, RuleChainKeyAlgorithm)
	}
	if want := "chain certificate 1 (CN=PSS Int) has an RSA-PSS key"; !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to say %q", err, want)
	}
}

// pssIntermediate (CN=PSS Int, an RSA-PSS key, signed by an EC root) and
// the leaf it signed, made with openssl 3 for TestCheckChainOrderUncheckableIssuerKey.
const pssIntermediate = `-----BEGIN CERTIFICATE-----
MIICUDCCAfWgAwIBAgIUXwox+h/vrnH0kmZW0cQu9pYGbckwCgYIKoZIzj0EAwIw
DzENMAsGA1UEAwwEUm9vdDAeFw0yNjEyMDcwMDQzNTJaFw0yNzAxMDYwMDQzNTJa
MBIxEDAOBgNVBAMMB1BTUyBJbnQwggEgMAsGCSqGSIb3DQEBCgOCAQ8AMIIBCgKC
AQEArcP/qeo+u5vjQOtm2oxuPa6fynH5s6WmTuM9tD+6BvvUJAlEfI9p+ep1y04q
h/QAdelLOH9S78D/W8ljRotSB1DV6hRKCnFS09hf2UBKYdD2nMnbFEJXqk5tckB3
3+RnV0V5OFlJXcQU8hU1LmBuBG9yV/eRc24DzZWjrlUDwAF9DLvijZiabLBp3Stw
nqgLJBwr3zTzQqHkE5gNVXSd/zgRUpzmo0+m4PGnpJqWcnnI3GxNQIOLE/BLIR/Z
UPyii7yHGM/4wOC4Tefsd/iKnC9s+S0H482AqFFXkGUN8J+H57+nzZmPMxLMqZOi
EZEOHhQrC8kX4Li3otTo0cBd1QIDAQABo2MwYTAPBgNVHRMBAf8EBTADAQH/MA4G
A1UdDwEB/wQEAwIBBjAdBgNVHQ4EFgQUm11w0WBNW071uVPoCTZS3pnjqREwHwYD
VR0jBBgwFoAUBCvBT1dRLVPr8gmVEh+x7GZiSo8wCgYIKoZIzj0EAwIDSQAwRgIh
AIA8d4YWEbCGrZYEALM6pStMT7uW0L/X0wfd+l1zE0dFAiEAg+5dnXKNkqRefs+3
WYMTgc0X93r3wczGzhRyovimkH4=
-----END CERTIFICATE-----
`

const pssIssuedLeaf = `-----BEGIN CERTIFICATE-----
MIICuzCCAW6gAwIBAgIULLc8g0oYd41aDXtdzWeTnHuL0VYwQgYJKoZIhvcNAQEK
MDWgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3DQEBCDANBglghkgBZQMEAgEF
AKIEAgIA3jASMRAwDgYDVQQDDAdQU1MgSW50MB4XDTI2MTIwNzAwNDM1MloXDTI2
MTIyNzAwNDM1MlowHDEaMBgGA1UEAwwRbGVhZi5leGFtcGxlLnRlc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAASGL8IDnPWULKrR7e+WKX3lkoLje/NCOVlQSPDI
Cv3Yh57npnqLoJFgmsNf5SbxDVnJrowsPHTTENdcR563eZM+o2AwXjAcBgNVHREE
FTATghFsZWFmLmV4YW1wbGUudGVzdDAdBgNVHQ4EFgQUzwOe8xl42QexZKjaSkdi
C8S0jKUwHwYDVR0jBBgwFoAUm11w0WBNW071uVPoCTZS3pnjqREwQgYJKoZIhvcN
AQEKMDWgDzANBglghkgBZQMEAgEFAKEcMBoGCSqGSIb3DQEBCDANBglghkgBZQME
AgEFAKIEAgIA3gOCAQEAW6t0EylU+Std7G3wiUQW0N0Yu8ac317jizURIl1V20RC
9IqEL1UR3FlM4ansQEaTgC5ntQyxRxixmh6uYGCC+eUYiP2TYq2f0GSdPy3tgNaA
XFaE0730CmGcDLU0Z+YO1FhQ2P4+ACVXXteBvSjOftFJlSa2H5WaiL6XRTHce0Ar
LSKKIIIy0jEhfJm3rHzaPXEovqQUuds8xriywzqV7gxoEh5WF8jCyt1OsFmeLa2M
Fw4W6qRKbw0rYPmNZ1U0zwnhIgBqDh43QtV1Bc14+Vewh+EVqgkeGstC5U8GRt/e
g1vt52HcQsk+kx+6fuJCEuRIQCsnsq/0v3diwkpOfA==
-----END CERTIFICATE-----
`
