package casign

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestChainsVerify(t *testing.T) {
	for _, caAlg := range caAlgorithms {
		h := newHierarchy(t, caAlg)
		t.Run(caAlg, func(t *testing.T) {
			checkCA(t, h.root, true)
			checkCA(t, h.sub, false)
			if !bytes.Equal(h.sub.AuthorityKeyId, h.root.SubjectKeyId) {
				t.Errorf("sub AKI %x, root SKI %x", h.sub.AuthorityKeyId, h.root.SubjectKeyId)
			}
			if !h.sub.MaxPathLenZero || h.sub.MaxPathLen != 0 {
				t.Errorf("sub path length: MaxPathLen=%d zero=%v", h.sub.MaxPathLen, h.sub.MaxPathLenZero)
			}
			if h.root.MaxPathLen != -1 {
				t.Errorf("root MaxPathLen = %d, want unlimited", h.root.MaxPathLen)
			}
			want, _ := SignatureAlgorithm(h.rootKey.Public())
			if h.root.SignatureAlgorithm != want || h.sub.SignatureAlgorithm != want {
				t.Errorf("signature algorithms root=%v sub=%v, want %v", h.root.SignatureAlgorithm, h.sub.SignatureAlgorithm, want)
			}
			for _, leafAlg := range leafAlgorithms {
				leaf, _ := issueLeaf(t, h, leafAlg, "www.example.test", "example.test", "192.0.2.7")
				checkLeaf(t, leaf, h, leafAlg)
			}
		})
	}
}

func checkCA(t *testing.T, c *x509.Certificate, root bool) {
	t.Helper()
	if c.Version != 3 || !c.BasicConstraintsValid || !c.IsCA {
		t.Errorf("%s: version %d, basic constraints valid=%v CA=%v", c.Subject.CommonName, c.Version, c.BasicConstraintsValid, c.IsCA)
	}
	if c.KeyUsage != x509.KeyUsageCertSign|x509.KeyUsageCRLSign|x509.KeyUsageDigitalSignature {
		t.Errorf("%s: key usage %b", c.Subject.CommonName, c.KeyUsage)
	}
	if len(c.SubjectKeyId) != 20 {
		t.Errorf("%s: subject key id %x", c.Subject.CommonName, c.SubjectKeyId)
	}
	if root {
		if err := c.CheckSignatureFrom(c); err != nil {
			t.Errorf("root self-signature: %v", err)
		}
		if !bytes.Equal(c.RawIssuer, c.RawSubject) {
			t.Error("root is not self-issued")
		}
	}
	for _, ext := range c.Extensions {
		if ext.Id.Equal([]int{2, 5, 29, 19}) && !ext.Critical {
			t.Error("basicConstraints not critical")
		}
	}
}

func checkLeaf(t *testing.T, leaf *x509.Certificate, h hierarchy, alg string) {
	t.Helper()
	roots, inters := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(h.root)
	inters.AddCert(h.sub)
	for _, name := range []string{"www.example.test", "example.test", "192.0.2.7"} {
		if _, err := leaf.Verify(x509.VerifyOptions{
			DNSName: name, Roots: roots, Intermediates: inters, CurrentTime: testNow,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		}); err != nil {
			t.Errorf("%s leaf does not verify for %s: %v", alg, name, err)
		}
	}
	if leaf.Version != 3 || leaf.Subject.CommonName != "www.example.test" {
		t.Errorf("%s leaf: version %d CN %q", alg, leaf.Version, leaf.Subject.CommonName)
	}
	if !slices.Equal(leaf.DNSNames, []string{"www.example.test", "example.test"}) ||
		len(leaf.IPAddresses) != 1 || !leaf.IPAddresses[0].Equal(net.ParseIP("192.0.2.7")) {
		t.Errorf("%s leaf SANs: %v %v", alg, leaf.DNSNames, leaf.IPAddresses)
	}
	if !leaf.BasicConstraintsValid || leaf.IsCA {
		t.Errorf("%s leaf basic constraints: valid=%v CA=%v", alg, leaf.BasicConstraintsValid, leaf.IsCA)
	}
	wantKU := x509.KeyUsageDigitalSignature
	if strings.HasPrefix(alg, "RSA") {
		wantKU |= x509.KeyUsageKeyEncipherment
	}
	if leaf.KeyUsage != wantKU {
		t.Errorf("%s leaf key usage %b, want %b", alg, leaf.KeyUsage, wantKU)
	}
	if !slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}) {
		t.Errorf("%s leaf EKU %v", alg, leaf.ExtKeyUsage)
	}
	if !bytes.Equal(leaf.AuthorityKeyId, h.sub.SubjectKeyId) || len(leaf.SubjectKeyId) == 0 {
		t.Errorf("%s leaf AKI %x (sub SKI %x), SKI %x", alg, leaf.AuthorityKeyId, h.sub.SubjectKeyId, leaf.SubjectKeyId)
	}
	if !slices.Equal(leaf.CRLDistributionPoints, []string{testBaseURL + "/crl/sub.crl"}) || !slices.Equal(leaf.OCSPServer, []string{testBaseURL + "/ocsp"}) {
		t.Errorf("%s leaf CRL DP %v OCSP %v", alg, leaf.CRLDistributionPoints, leaf.OCSPServer)
	}
	want, _ := SignatureAlgorithm(h.subKey.Public())
	if leaf.SignatureAlgorithm != want {
		t.Errorf("%s leaf signed with %v, want %v", alg, leaf.SignatureAlgorithm, want)
	}
	for _, ext := range leaf.Extensions {
		if (ext.Id.Equal([]int{2, 5, 29, 19}) || ext.Id.Equal([]int{2, 5, 29, 15})) && !ext.Critical {
			t.Errorf("%s leaf extension %v not critical", alg, ext.Id)
		}
	}
}

func TestSignatureAlgorithmFollowsKey(t *testing.T) {
	want := map[string]x509.SignatureAlgorithm{
		"RSA_2048":      x509.SHA256WithRSA,
		"RSA_4096":      x509.SHA384WithRSA,
		"EC_prime256v1": x509.ECDSAWithSHA256,
		"EC_secp384r1":  x509.ECDSAWithSHA384,
	}
	for alg, w := range want {
		got, err := SignatureAlgorithm(cachedKey(t, alg, "root").Public())
		if err != nil || got != w {
			t.Errorf("%s: %v, %v; want %v", alg, got, err, w)
		}
	}
	weak, _ := ecdsa.GenerateKey(elliptic.P224(), randReader())
	if _, err := SignatureAlgorithm(weak.Public()); err == nil {
		t.Error("P-224 accepted")
	}
	if name, _ := SigningAlgorithmName(cachedKey(t, "EC_secp384r1", "root").Public()); name != "SHA384WITHECDSA" {
		t.Errorf("SigningAlgorithmName = %q", name)
	}
}

func TestOpenSSLVerifiesChain(t *testing.T) {
	openssl := interopTool(t, "openssl")
	for _, caAlg := range caAlgorithms {
		h := newHierarchy(t, caAlg)
		for _, leafAlg := range leafAlgorithms {
			t.Run(caAlg+"/"+leafAlg, func(t *testing.T) {
				leaf, _ := issueLeaf(t, h, leafAlg, "svc.example.test", "10.1.2.3")
				dir := t.TempDir()
				root := writePEM(t, dir, "root.pem", "CERTIFICATE", h.root.Raw)
				sub := writePEM(t, dir, "sub.pem", "CERTIFICATE", h.sub.Raw)
				leafPath := writePEM(t, dir, "leaf.pem", "CERTIFICATE", leaf.Raw)
				// -attime: the certificates are issued around the fixed test clock.
				out := run(t, openssl, "verify", "-attime", itoa(testNow.Unix()), "-purpose", "sslserver",
					"-CAfile", root, "-untrusted", sub, leafPath)
				if !strings.Contains(out, filepath.Base(leafPath)+": OK") {
					t.Errorf("openssl verify: %s", out)
				}
				text := run(t, openssl, "x509", "-in", leafPath, "-noout", "-text")
				for _, want := range []string{
					"Version: 3 (0x2)",
					"X509v3 Subject Alternative Name:",
					"DNS:svc.example.test, IP Address:10.1.2.3",
					"X509v3 Key Usage: critical",
					"Digital Signature",
					"X509v3 Extended Key Usage:",
					"TLS Web Server Authentication, TLS Web Client Authentication",
					"X509v3 Basic Constraints: critical",
					"CA:FALSE",
					"X509v3 CRL Distribution Points:",
					"OCSP - URI:" + testBaseURL + "/ocsp",
					"X509v3 Subject Key Identifier:",
					"X509v3 Authority Key Identifier:",
				} {
					if !strings.Contains(text, want) {
						t.Errorf("openssl x509 -text lacks %q:\n%s", want, text)
					}
				}
				if strings.HasPrefix(leafAlg, "RSA") != strings.Contains(text, "Key Encipherment") {
					t.Errorf("Key Encipherment presence wrong for %s:\n%s", leafAlg, text)
				}
			})
		}
	}
}

func TestSignRefusesValidityBeyondCA(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	key := cachedKey(t, "EC_prime256v1", "leaf")
	tmpl, err := LeafTemplate(LeafRequest{
		Names: []string{"late.example.test"}, PublicKey: key.Public(), Serial: mustSerial(t),
		Validity: Validity{testNow, h.sub.NotAfter.Add(time.Second)},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Sign(tmpl, h.sub, key.Public(), h.subKey)
	if !errors.Is(err, ErrValidityBeyondCA) {
		t.Fatalf("Sign = %v, want ErrValidityBeyondCA", err)
	}
	// Ending exactly with the CA is fine.
	tmpl.NotAfter = h.sub.NotAfter
	if _, err := Sign(tmpl, h.sub, key.Public(), h.subKey); err != nil {
		t.Fatalf("NotAfter == CA NotAfter: %v", err)
	}
	// A subordinate may not outlive its root either.
	subTmpl := SubordinateTemplate(pkix.Name{CommonName: "long sub"}, key.Public(), mustSerial(t),
		Validity{testNow, h.root.NotAfter.AddDate(1, 0, 0)}, 0)
	if _, err := Sign(subTmpl, h.root, key.Public(), h.rootKey); !errors.Is(err, ErrValidityBeyondCA) {
		t.Fatalf("long sub: %v", err)
	}
}

func TestSignRefuses(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	leafKey := cachedKey(t, "EC_prime256v1", "leaf")
	v := Validity{testNow, testNow.AddDate(0, 0, 30)}
	good := func() *x509.Certificate {
		tmpl, err := LeafTemplate(LeafRequest{Names: []string{"a.example.test"}, PublicKey: leafKey.Public(), Serial: mustSerial(t), Validity: v})
		if err != nil {
			t.Fatal(err)
		}
		return tmpl
	}
	leaf, err := Sign(good(), h.sub, leafKey.Public(), h.subKey)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() error{
		"wrong issuer key": func() error { _, err := Sign(good(), h.sub, leafKey.Public(), h.rootKey); return err },
		"issuer not a CA": func() error {
			_, err := Sign(good(), leaf, leafKey.Public(), leafKey)
			return err
		},
		"self-signed with foreign key": func() error {
			_, err := Sign(RootTemplate(pkix.Name{CommonName: "x"}, leafKey.Public(), mustSerial(t), v), nil, leafKey.Public(), h.rootKey)
			return err
		},
		"nil serial": func() error {
			tm := good()
			tm.SerialNumber = nil
			_, err := Sign(tm, h.sub, leafKey.Public(), h.subKey)
			return err
		},
		"zero serial": func() error {
			tm := good()
			tm.SerialNumber = big.NewInt(0)
			_, err := Sign(tm, h.sub, leafKey.Public(), h.subKey)
			return err
		},
		"21-octet serial": func() error {
			tm := good()
			tm.SerialNumber = new(big.Int).Lsh(big.NewInt(1), 159)
			_, err := Sign(tm, h.sub, leafKey.Public(), h.subKey)
			return err
		},
		"inverted validity": func() error {
			tm := good()
			tm.NotBefore, tm.NotAfter = tm.NotAfter, tm.NotBefore
			_, err := Sign(tm, h.sub, leafKey.Public(), h.subKey)
			return err
		},
		"CN too long": func() error {
			_, err := Sign(RootTemplate(pkix.Name{CommonName: strings.Repeat("x", 65)}, leafKey.Public(), mustSerial(t), v), nil, leafKey.Public(), leafKey)
			return err
		},
		"RSA 1024": func() error {
			weak, err := rsa.GenerateKey(randReader(), 1024)
			if err != nil {
				t.Fatal(err)
			}
			_, err = Sign(good(), h.sub, weak.Public(), h.subKey)
			return err
		},
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := Sign(good(), h.sub, leafKey.Public(), h.rootKey); !errors.Is(err, ErrKeyMismatch) {
		t.Errorf("wrong issuer key: %v, want ErrKeyMismatch", err)
	}
	// A 20-octet serial (top bit clear) is the largest allowed.
	tm := good()
	tm.SerialNumber = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 159), big.NewInt(1))
	if _, err := Sign(tm, h.sub, leafKey.Public(), h.subKey); err != nil {
		t.Errorf("20-octet serial refused: %v", err)
	}
}

func TestSignDoesNotModifyTemplate(t *testing.T) {
	key := cachedKey(t, "EC_prime256v1", "root")
	tmpl := RootTemplate(pkix.Name{CommonName: "r"}, key.Public(), mustSerial(t), Validity{testNow, testNow.AddDate(1, 0, 0)})
	if _, err := Sign(tmpl, nil, key.Public(), key); err != nil {
		t.Fatal(err)
	}
	if tmpl.SubjectKeyId != nil || tmpl.AuthorityKeyId != nil || tmpl.SignatureAlgorithm != 0 {
		t.Errorf("template modified: SKI %x AKI %x alg %v", tmpl.SubjectKeyId, tmpl.AuthorityKeyId, tmpl.SignatureAlgorithm)
	}
}

func TestLeafTemplate(t *testing.T) {
	ecKey := cachedKey(t, "EC_prime256v1", "leaf")
	base := LeafRequest{Names: []string{"*.example.test", "example.test", "EXAMPLE.test", "2001:db8::1"}, PublicKey: ecKey.Public(),
		Serial: big.NewInt(7), Validity: Validity{testNow, testNow.Add(time.Hour)}}
	tmpl, err := LeafTemplate(base)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Subject.CommonName != "*.example.test" || !slices.Equal(tmpl.DNSNames, []string{"*.example.test", "example.test"}) ||
		len(tmpl.IPAddresses) != 1 {
		t.Errorf("names: CN %q DNS %v IP %v", tmpl.Subject.CommonName, tmpl.DNSNames, tmpl.IPAddresses)
	}
	if !slices.Equal(tmpl.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
		t.Errorf("EKU without ClientAuth: %v", tmpl.ExtKeyUsage)
	}
	if tmpl.CRLDistributionPoints != nil || tmpl.OCSPServer != nil {
		t.Errorf("revocation URLs without base URL: %v %v", tmpl.CRLDistributionPoints, tmpl.OCSPServer)
	}
	bad := map[string]func(r *LeafRequest){
		"no names":      func(r *LeafRequest) { r.Names = nil },
		"empty name":    func(r *LeafRequest) { r.Names = []string{""} },
		"space":         func(r *LeafRequest) { r.Names = []string{"a b.example.test"} },
		"inner star":    func(r *LeafRequest) { r.Names = []string{"a.*.example.test"} },
		"bare wildcard": func(r *LeafRequest) { r.Names = []string{"*.test"} },
		"no key":        func(r *LeafRequest) { r.PublicKey = nil },
		"no serial":     func(r *LeafRequest) { r.Serial = nil },
	}
	for name, mutate := range bad {
		r := base
		mutate(&r)
		if _, err := LeafTemplate(r); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A first name too long for a CN (an ACME order of long names only):
	// no CN, the name in the SAN.
	long := base
	long.Names = []string{strings.Repeat("a", 60) + ".example.test"}
	if tmpl, err := LeafTemplate(long); err != nil || tmpl.Subject.CommonName != "" || len(tmpl.DNSNames) != 1 {
		t.Errorf("long first name: %v, %v", tmpl, err)
	}
}

func TestNewSerial(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		s, err := NewSerial(randReader())
		if err != nil {
			t.Fatal(err)
		}
		if s.Sign() <= 0 || s.BitLen() > 128 {
			t.Fatalf("serial %x out of range", s)
		}
		if err := checkSerial(s); err != nil {
			t.Fatal(err)
		}
		if der := derInt(t, s); len(der) > 17 {
			t.Fatalf("serial %x encodes to %d octets", s, len(der))
		}
		if seen[s.String()] {
			t.Fatalf("duplicate serial %x", s)
		}
		seen[s.String()] = true
	}
	// Top bit set: DER needs a leading zero, 17 octets in all.
	s, err := NewSerial(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil || len(derInt(t, s)) != 17 {
		t.Fatalf("all-ones serial: %v %v", s, err)
	}
	if _, err := NewSerial(bytes.NewReader(make([]byte, 1024))); err == nil {
		t.Error("an all-zero source gave a serial")
	}
	if _, err := NewSerial(bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("a short source gave a serial")
	}
}
