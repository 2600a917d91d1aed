package casign

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"
	"time"
)

func TestReasonCodes(t *testing.T) {
	want := map[string]int{
		"UNSPECIFIED": 0, "KEY_COMPROMISE": 1, "CA_COMPROMISE": 2, "AFFILIATION_CHANGED": 3, "SUPERSEDED": 4,
		"CESSATION_OF_OPERATION": 5, "CERTIFICATE_HOLD": 6, "PRIVILEGE_WITHDRAWN": 9, "A_A_COMPROMISE": 10,
	}
	for name, code := range want {
		if got, ok := ReasonCode(name); !ok || got != code {
			t.Errorf("ReasonCode(%s) = %d, %v", name, got, ok)
		}
		if got := ReasonName(code); got != name {
			t.Errorf("ReasonName(%d) = %q", code, got)
		}
	}
	// Names are exact, as ACM and AWS Private CA spell them.
	for _, bad := range []string{"", "REMOVE_FROM_CRL", "KEY COMPROMISE", "key_compromise", "Superseded"} {
		if _, ok := ReasonCode(bad); ok {
			t.Errorf("ReasonCode(%q) accepted", bad)
		}
	}
	for _, bad := range []int{-1, 7, 8, 11, 1 << 20} {
		if n := ReasonName(bad); n != "" {
			t.Errorf("ReasonName(%d) = %q", bad, n)
		}
	}
	if names := ReasonNames(); len(names) != 9 || names[0] != "UNSPECIFIED" || names[8] != "A_A_COMPROMISE" {
		t.Errorf("ReasonNames = %v", names)
	}
}

// testRevoked is the revocation list used by the CRL tests.
func testRevoked() []Revoked {
	return []Revoked{
		{Serial: big.NewInt(0x1001), RevokedAt: testNow.Add(-2 * time.Hour), Reason: 1},
		{Serial: big.NewInt(0x1002), RevokedAt: testNow.Add(-time.Hour), Reason: 0},
		{Serial: new(big.Int).SetBytes(bytes.Repeat([]byte{0xab}, 16)), RevokedAt: testNow.Add(-time.Minute), Reason: 10},
	}
}

func TestCreateCRL(t *testing.T) {
	for _, alg := range caAlgorithms {
		h := newHierarchy(t, alg)
		entries := testRevoked()
		der, err := CreateCRL(h.sub, h.subKey, entries, big.NewInt(42), testNow, testNow.Add(24*time.Hour))
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if err := crl.CheckSignatureFrom(h.sub); err != nil {
			t.Errorf("%s: CRL signature: %v", alg, err)
		}
		if err := crl.CheckSignatureFrom(h.root); err == nil {
			t.Errorf("%s: CRL verifies under the wrong CA", alg)
		}
		if crl.Number.Cmp(big.NewInt(42)) != 0 || !crl.ThisUpdate.Equal(testNow) || !crl.NextUpdate.Equal(testNow.Add(24*time.Hour)) {
			t.Errorf("%s: number %v thisUpdate %v nextUpdate %v", alg, crl.Number, crl.ThisUpdate, crl.NextUpdate)
		}
		if !bytes.Equal(crl.AuthorityKeyId, h.sub.SubjectKeyId) || !bytes.Equal(crl.RawIssuer, h.sub.RawSubject) {
			t.Errorf("%s: AKI %x, issuer mismatch", alg, crl.AuthorityKeyId)
		}
		if len(crl.RevokedCertificateEntries) != len(entries) {
			t.Fatalf("%s: %d entries", alg, len(crl.RevokedCertificateEntries))
		}
		for i, e := range crl.RevokedCertificateEntries {
			w := entries[i]
			if e.SerialNumber.Cmp(w.Serial) != 0 || !e.RevocationTime.Equal(w.RevokedAt) || e.ReasonCode != w.Reason {
				t.Errorf("%s: entry %d = %x %v %d, want %x %v %d", alg, i, e.SerialNumber, e.RevocationTime, e.ReasonCode, w.Serial, w.RevokedAt, w.Reason)
			}
			hasReasonExt := false
			for _, ext := range e.Extensions {
				hasReasonExt = hasReasonExt || ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 21})
			}
			if hasReasonExt != (w.Reason != 0) {
				t.Errorf("%s: entry %d reason extension present=%v for reason %d", alg, i, hasReasonExt, w.Reason)
			}
		}
		want, _ := SignatureAlgorithm(h.subKey.Public())
		if crl.SignatureAlgorithm != want {
			t.Errorf("%s: CRL signed with %v", alg, crl.SignatureAlgorithm)
		}
	}
}

func TestCreateCRLRefuses(t *testing.T) {
	h := newHierarchy(t, "EC_prime256v1")
	leaf, leafKey := issueLeaf(t, h, "EC_prime256v1", "a.example.test")
	n := big.NewInt(1)
	next := testNow.Add(time.Hour)
	cases := map[string]func() error{
		"reason 7": func() error {
			_, err := CreateCRL(h.sub, h.subKey, []Revoked{{Serial: big.NewInt(1), RevokedAt: testNow, Reason: 7}}, n, testNow, next)
			return err
		},
		"nil serial": func() error {
			_, err := CreateCRL(h.sub, h.subKey, []Revoked{{RevokedAt: testNow}}, n, testNow, next)
			return err
		},
		"nil number":  func() error { _, err := CreateCRL(h.sub, h.subKey, nil, nil, testNow, next); return err },
		"nextUpdate":  func() error { _, err := CreateCRL(h.sub, h.subKey, nil, n, testNow, testNow); return err },
		"wrong key":   func() error { _, err := CreateCRL(h.sub, h.rootKey, nil, n, testNow, next); return err },
		"not a CA":    func() error { _, err := CreateCRL(leaf, leafKey, nil, n, testNow, next); return err },
		"negative no": func() error { _, err := CreateCRL(h.sub, h.subKey, nil, big.NewInt(-1), testNow, next); return err },
	}
	for name, f := range cases {
		if err := f(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// An empty CRL is fine.
	if _, err := CreateCRL(h.sub, h.subKey, nil, big.NewInt(0), testNow, next); err != nil {
		t.Errorf("empty CRL: %v", err)
	}
}

func TestOpenSSLReadsCRL(t *testing.T) {
	openssl := interopTool(t, "openssl")
	h := newHierarchy(t, "RSA_2048")
	der, err := CreateCRL(h.sub, h.subKey, testRevoked(), big.NewInt(7), testNow, testNow.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	crlPath := writePEM(t, dir, "sub.crl", "X509 CRL", der)
	subPath := writePEM(t, dir, "sub.pem", "CERTIFICATE", h.sub.Raw)
	out := run(t, openssl, "crl", "-in", crlPath, "-noout", "-text", "-CAfile", subPath)
	for _, want := range []string{
		"verify OK",
		"X509v3 CRL Number: \n                7",
		"Next Update:",
		"Serial Number: 1001",
		"Key Compromise",
		"Serial Number: 1002",
		"Serial Number: " + strings.Repeat("AB", 16),
		"AA Compromise",
		"X509v3 Authority Key Identifier:",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("openssl crl -text lacks %q:\n%s", want, out)
		}
	}
	// The UNSPECIFIED entry carries no reason: exactly two reason extensions.
	if n := strings.Count(out, "X509v3 CRL Reason Code:"); n != 2 {
		t.Errorf("%d reason code extensions, want 2:\n%s", n, out)
	}
}
