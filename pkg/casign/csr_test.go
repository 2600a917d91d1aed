package casign

import (
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// makeCSR returns a DER CSR for key.
func makeCSR(t testing.TB, key crypto.Signer, subject pkix.Name, dns []string, exts ...pkix.Extension) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(randReader(), &x509.CertificateRequest{
		Subject: subject, DNSNames: dns, ExtraExtensions: exts,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// caTrueExtension is a basicConstraints CA:TRUE (no path length) extension.
func caTrueExtension(t testing.TB) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(struct {
		IsCA bool `asn1:"optional"`
	}{true})
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: v}
}

// TestEndEntityFromCSR: the EndEntity template refuses a CSR asking for
// CA:TRUE (it would not carry it), and makes a CA:FALSE certificate with
// the CSR's names and the template's usages from one asking for CA:FALSE.
func TestEndEntityFromCSR(t *testing.T) {
	h := newHierarchy(t, "RSA_2048")
	for _, alg := range leafAlgorithms {
		key := cachedKey(t, alg, "csr")
		subject := pkix.Name{CommonName: "app.example.test", Organization: []string{"Acme"}}
		names := []string{"api.example.test", "app.example.test"}
		v := Validity{testNow, testNow.AddDate(1, 0, 0)}
		evil, err := ParseCSR(makeCSR(t, key, subject, names, caTrueExtension(t)))
		if err != nil {
			t.Fatal(err)
		}
		var ne *NameError
		if _, err := CSRTemplate(evil, TemplateEndEntity, mustSerial(t), v); !errors.As(err, &ne) || !strings.Contains(err.Error(), "CA:TRUE") {
			t.Fatalf("%s: a CA:TRUE CSR under EndEntity: %v", alg, err)
		}
		der := makeCSR(t, key, subject, names, bcExt(t, false, -1))
		csr, err := ParseCSR(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(csr.Extensions, func(e pkix.Extension) bool { return e.Id.Equal([]int{2, 5, 29, 19}) }) {
			t.Fatal("test CSR lacks its basicConstraints extension")
		}
		tmpl, err := CSRTemplate(csr, TemplateEndEntity, mustSerial(t), v)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := Sign(tmpl, h.sub, tmpl.PublicKey, h.subKey)
		if err != nil {
			t.Fatal(err)
		}
		if !cert.BasicConstraintsValid || cert.IsCA {
			t.Errorf("%s: EndEntity certificate is CA=%v (valid=%v)", alg, cert.IsCA, cert.BasicConstraintsValid)
		}
		if n := countExt(cert, []int{2, 5, 29, 19}); n != 1 {
			t.Errorf("%s: %d basicConstraints extensions", alg, n)
		}
		if !slices.Equal(cert.DNSNames, []string{"app.example.test", "api.example.test"}) {
			t.Errorf("%s: DNS names %v", alg, cert.DNSNames)
		}
		if cert.Subject.CommonName != "app.example.test" || !slices.Equal(cert.Subject.Organization, []string{"Acme"}) {
			t.Errorf("%s: subject %v", alg, cert.Subject)
		}
		if !slices.Equal(cert.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
			t.Errorf("%s: EKU %v", alg, cert.ExtKeyUsage)
		}
		wantKU := x509.KeyUsageDigitalSignature
		if strings.HasPrefix(alg, "RSA") {
			wantKU |= x509.KeyUsageKeyEncipherment
		}
		if cert.KeyUsage != wantKU {
			t.Errorf("%s: key usage %b", alg, cert.KeyUsage)
		}
		if !cert.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Errorf("%s: certificate key is not the CSR key", alg)
		}
		roots, inters := x509.NewCertPool(), x509.NewCertPool()
		roots.AddCert(h.root)
		inters.AddCert(h.sub)
		if _, err := cert.Verify(x509.VerifyOptions{DNSName: "api.example.test", Roots: roots, Intermediates: inters, CurrentTime: testNow}); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
}

func countExt(c *x509.Certificate, oid asn1.ObjectIdentifier) int {
	n := 0
	for _, e := range c.Extensions {
		if e.Id.Equal(oid) {
			n++
		}
	}
	return n
}

func TestParseCSRRefusesBadSignature(t *testing.T) {
	der := makeCSR(t, cachedKey(t, "EC_prime256v1", "csr"), pkix.Name{CommonName: "x.example.test"}, nil)
	// The signature BIT STRING is at the end of the DER: flip its last bit.
	bad := slices.Clone(der)
	bad[len(bad)-1] ^= 1
	_, err := ParseCSR(bad)
	if !errors.Is(err, ErrCSRSignature) {
		t.Fatalf("ParseCSR(bad signature) = %v, want ErrCSRSignature", err)
	}
	var csrErr *CSRError
	if !errors.As(err, &csrErr) {
		t.Fatalf("error %T is not a *CSRError", err)
	}
	if msg := err.Error(); strings.Count(msg, "does not verify") != 1 || strings.Contains(msg, "crypto/") {
		t.Errorf("bad signature: message %q, want one plain sentence", msg)
	}
	// Same bytes, intact: accepted, as DER and as PEM.
	if _, err := ParseCSR(der); err != nil {
		t.Fatalf("DER: %v", err)
	}
	// A tampered subject (signature no longer covers it) is refused too.
	i := strings.Index(string(der), "x.example.test")
	tampered := slices.Clone(der)
	tampered[i] = 'y'
	if _, err := ParseCSR(tampered); !errors.Is(err, ErrCSRSignature) {
		t.Fatalf("tampered subject: %v", err)
	}
	// CSRTemplate re-checks a request that did not come through ParseCSR.
	csr, err := x509.ParseCertificateRequest(tampered)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CSRTemplate(csr, TemplateEndEntity, mustSerial(t), Validity{testNow, testNow.Add(time.Hour)}); !errors.Is(err, ErrCSRSignature) {
		t.Fatalf("CSRTemplate on tampered CSR: %v", err)
	}
}

func TestParseCSRRejects(t *testing.T) {
	good := makeCSR(t, cachedKey(t, "EC_prime256v1", "csr"), pkix.Name{CommonName: "x.example.test"}, nil)
	cases := map[string][]byte{
		"empty":         nil,
		"garbage":       []byte("hello"),
		"certificate":   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: good}),
		"truncated PEM": []byte("-----BEGIN CERTIFICATE REQUEST-----\nMIIB"),
		"truncated DER": good[:len(good)/2],
	}
	for name, in := range cases {
		_, err := ParseCSR(in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		// The message says what is wrong, without the parser's
		// internals (ASN.1 tags, Go struct names).
		if msg := err.Error(); strings.Contains(msg, "asn1") || strings.Contains(msg, "tags don't match") || strings.Contains(msg, "{") {
			t.Errorf("%s: message %q", name, msg)
		}
	}
	if _, err := ParseCSR(pem.EncodeToMemory(&pem.Block{Type: "NEW CERTIFICATE REQUEST", Bytes: good})); err != nil {
		t.Errorf("NEW CERTIFICATE REQUEST: %v", err)
	}
}

func TestCSRTemplateCAs(t *testing.T) {
	h := newHierarchy(t, "EC_secp384r1")
	key := cachedKey(t, "EC_prime256v1", "csr-ca")
	csr, err := ParseCSR(makeCSR(t, key, pkix.Name{CommonName: "External Sub", Organization: []string{"Acme"}}, []string{"ignored.example.test"}))
	if err != nil {
		t.Fatal(err)
	}
	v := Validity{testNow, testNow.AddDate(2, 0, 0)}

	tmpl, err := CSRTemplate(csr, TemplateSubordinateCA, mustSerial(t), v)
	if err != nil {
		t.Fatal(err)
	}
	sub, err := Sign(tmpl, h.root, tmpl.PublicKey, h.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	// PCA's CA templates carry the CSR's names (nothing is dropped).
	if !sub.IsCA || !sub.MaxPathLenZero || sub.MaxPathLen != 0 || !slices.Equal(sub.DNSNames, []string{"ignored.example.test"}) {
		t.Errorf("SubordinateCA: CA=%v pathlen=%d zero=%v names=%v", sub.IsCA, sub.MaxPathLen, sub.MaxPathLenZero, sub.DNSNames)
	}
	if sub.KeyUsage&x509.KeyUsageCertSign == 0 || sub.KeyUsage&x509.KeyUsageCRLSign == 0 {
		t.Errorf("SubordinateCA key usage %b", sub.KeyUsage)
	}
	if err := sub.CheckSignatureFrom(h.root); err != nil {
		t.Error(err)
	}

	tmpl, err = CSRTemplate(csr, TemplateRootCA, mustSerial(t), v)
	if err != nil {
		t.Fatal(err)
	}
	root, err := Sign(tmpl, nil, tmpl.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if !root.IsCA || root.MaxPathLen != -1 || root.CheckSignatureFrom(root) != nil {
		t.Errorf("RootCA: CA=%v pathlen=%d", root.IsCA, root.MaxPathLen)
	}

	if _, err := CSRTemplate(csr, "CodeSigning", mustSerial(t), v); err == nil {
		t.Error("unknown template accepted")
	}
	// EndEntity needs a host name somewhere.
	noNames, err := ParseCSR(makeCSR(t, key, pkix.Name{CommonName: "Jane Doe"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CSRTemplate(noNames, TemplateEndEntity, mustSerial(t), v); err == nil {
		t.Error("EndEntity without names accepted")
	}
	// A CA needs a subject.
	empty, err := ParseCSR(makeCSR(t, key, pkix.Name{}, []string{"a.example.test"}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := CSRTemplate(empty, TemplateSubordinateCA, mustSerial(t), v); err == nil {
		t.Error("SubordinateCA with empty subject accepted")
	}
	// An end entity may have an empty subject: the SAN is then critical.
	tmpl, err = CSRTemplate(empty, TemplateEndEntity, mustSerial(t), v)
	if err != nil {
		t.Fatal(err)
	}
	ee, err := Sign(tmpl, h.sub, tmpl.PublicKey, h.subKey)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ee.Extensions {
		if e.Id.Equal([]int{2, 5, 29, 17}) && !e.Critical {
			t.Error("SAN not critical with an empty subject")
		}
	}
}

func TestParseCSRAfterByteOrderMark(t *testing.T) {
	der := makeCSR(t, cachedKey(t, "EC_prime256v1", "csr"), pkix.Name{CommonName: "x.example.test"}, nil)
	data := append([]byte("\xef\xbb\xbf"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der})...)
	if _, err := ParseCSR(data); err != nil {
		t.Fatalf("a PEM CSR saved with a UTF-8 byte-order mark: %v", err)
	}
}

// A CSR whose key certctl does not take says which key and what to use
// instead, in one sentence: crypto/x509 cannot read some of them at all
// (secp256k1, brainpool, explicit curve parameters, Ed448), and those are
// no less a CSR.
func TestParseCSRUnsupportedKeys(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(randReader())
	if err != nil {
		t.Fatal(err)
	}
	edCSR := makeCSR(t, edKey, pkix.Name{CommonName: "i.example.internal"}, nil)
	cases := map[string]struct {
		csr  []byte
		want string
	}{
		"secp256k1": {readTestdata(t, "secp256k1.csr"), "certificate signing request: unsupported key: elliptic curve secp256k1 is not supported; use P-256, P-384 or P-521"},
		"brainpool": {readTestdata(t, "brainpoolp256r1.csr"), "certificate signing request: unsupported key: elliptic curve brainpoolP256r1 is not supported; use P-256, P-384 or P-521"},
		"explicit":  {readTestdata(t, "explicit-p256.csr"), "certificate signing request: unsupported key: elliptic curve given by explicit parameters is not supported; use P-256, P-384 or P-521"},
		"Ed448":     {readTestdata(t, "ed448.csr"), "certificate signing request: unsupported key: Ed448 keys are not supported; use RSA (2048 to 8192 bits) or ECDSA (P-256, P-384 or P-521)"},
		"DSA":       {readTestdata(t, "dsa.csr"), "certificate signing request: unsupported key: DSA keys are not supported; use RSA (2048 to 8192 bits) or ECDSA (P-256, P-384 or P-521)"},
		"Ed25519":   {edCSR, "certificate signing request: unsupported key: Ed25519 keys are not supported; use RSA (2048 to 8192 bits) or ECDSA (P-256, P-384 or P-521)"},
	}
	for name, c := range cases {
		_, err := ParseCSR(c.csr)
		if err == nil || err.Error() != c.want {
			t.Errorf("%s: %v\nwant %s", name, err, c.want)
		}
	}
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestParseCSRPSSParameters: a CSR signed with RSASSA-PSS parameters
// crypto/x509 does not verify (openssl req -sigopt rsa_padding_mode:pss,
// whose salt is as long as the key allows) is refused naming PSS and the
// openssl option that signs one certctl verifies (tester: "its signature
// algorithm 0 is not supported").
func TestParseCSRPSSParameters(t *testing.T) {
	data, err := os.ReadFile("testdata/pss-maxsalt.csr")
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParseCSR(data)
	var ce *CSRError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "RSASSA-PSS") || !strings.Contains(err.Error(), "rsa_pss_saltlen:digest") {
		t.Errorf("got %v", err)
	}
}
