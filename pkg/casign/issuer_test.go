package casign

import (
	"bytes"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"testing"
	"time"
)

// methodOneKeyID is RFC 5280 4.2.1.2 method 1, computed here from the
// certificate's encoding: the SHA-1 of its subjectPublicKey BIT STRING.
func methodOneKeyID(t *testing.T, cert *x509.Certificate) []byte {
	t.Helper()
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return sum[:]
}

// A CA certificate without a subject key identifier (openssl's
// subjectKeyIdentifier=none, old CAs) signs certificates and CRLs, small
// and large, whose authority key identifier is derived from its key.
func TestIssuerWithoutSubjectKeyID(t *testing.T) {
	for _, alg := range []string{"RSA_2048", "EC_prime256v1"} {
		h := newHierarchy(t, alg)
		noSKID := *h.sub
		noSKID.SubjectKeyId = nil
		want := methodOneKeyID(t, h.sub)

		key := cachedKey(t, "EC_prime256v1", "leaf")
		tmpl, err := LeafTemplate(LeafRequest{Names: []string{"app.example.test"}, PublicKey: key.Public(), Serial: mustSerial(t),
			Validity: Validity{testNow, testNow.AddDate(0, 0, 30)}})
		if err != nil {
			t.Fatal(err)
		}
		leaf, err := Sign(tmpl, &noSKID, key.Public(), h.subKey)
		if err != nil {
			t.Fatalf("%s: issuing under a CA without SKID: %v", alg, err)
		}
		if !bytes.Equal(leaf.AuthorityKeyId, want) {
			t.Errorf("%s: leaf AKI %x, want %x", alg, leaf.AuthorityKeyId, want)
		}
		if err := leaf.CheckSignatureFrom(h.sub); err != nil {
			t.Errorf("%s: leaf signature: %v", alg, err)
		}
		if noSKID.SubjectKeyId != nil {
			t.Errorf("%s: Sign changed the issuer certificate", alg)
		}

		for _, n := range []int{2, fastCRLMin + 1} {
			var entries []Revoked
			for i := 0; i < n; i++ {
				entries = append(entries, Revoked{Serial: big.NewInt(int64(1000 + i)), RevokedAt: testNow.Add(-time.Hour)})
			}
			der, err := CreateCRL(&noSKID, h.subKey, entries, big.NewInt(1), testNow, testNow.Add(24*time.Hour))
			if err != nil {
				t.Fatalf("%s: CRL of %d entries from a CA without SKID: %v", alg, n, err)
			}
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(crl.AuthorityKeyId, want) {
				t.Errorf("%s, %d entries: CRL AKI %x, want %x", alg, n, crl.AuthorityKeyId, want)
			}
			if err := crl.CheckSignatureFrom(h.sub); err != nil {
				t.Errorf("%s, %d entries: CRL signature: %v", alg, n, err)
			}
		}
		if id, err := IssuerKeyID(&noSKID); err != nil || !bytes.Equal(id, want) {
			t.Errorf("%s: IssuerKeyID = %x, %v; want %x", alg, id, err, want)
		}
		if id, _ := IssuerKeyID(h.sub); !bytes.Equal(id, h.sub.SubjectKeyId) {
			t.Errorf("%s: IssuerKeyID of a CA with a SKID is not its SKID", alg)
		}
	}
}

// rootWithKeyUsage is a self-signed root whose Key Usage is ku (0: no Key
// Usage extension at all).
func rootWithKeyUsage(t *testing.T, ku x509.KeyUsage) *x509.Certificate {
	t.Helper()
	key := cachedKey(t, "EC_prime256v1", "root")
	tmpl := RootTemplate(pkix.Name{CommonName: "KU root"}, key.Public(), mustSerial(t), Validity{testNow.Add(-time.Hour), testNow.AddDate(1, 0, 0)})
	tmpl.KeyUsage = ku
	cert, err := Sign(tmpl, nil, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// One rule for both usages a CA certificate's Key Usage governs: a
// certificate without the extension may do both (RFC 5280 4.2.1.3); with
// it, only what it lists. mkcert's roots list keyCertSign alone: they
// sign certificates and no CRL.
func TestCAKeyUsage(t *testing.T) {
	key := cachedKey(t, "EC_prime256v1", "root")
	next := testNow.Add(time.Hour)
	cases := []struct {
		name              string
		ku                x509.KeyUsage
		signCerts, signCR bool
	}{
		{"no Key Usage", 0, true, true},
		{"keyCertSign only (mkcert)", x509.KeyUsageCertSign, true, false},
		{"cRLSign only", x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature, false, true},
		{"both", x509.KeyUsageCertSign | x509.KeyUsageCRLSign, true, true},
	}
	for _, c := range cases {
		root := rootWithKeyUsage(t, c.ku)
		if hasKU := hasKeyUsageExtension(root); hasKU != (c.ku != 0) {
			t.Errorf("%s: Key Usage extension present %v", c.name, hasKU)
		}
		if got := MaySignCertificates(root); got != c.signCerts {
			t.Errorf("%s: MaySignCertificates = %v", c.name, got)
		}
		if got := MaySignCRLs(root); got != c.signCR {
			t.Errorf("%s: MaySignCRLs = %v", c.name, got)
		}
		der, err := CreateCRL(root, key, []Revoked{{Serial: big.NewInt(5), RevokedAt: testNow}}, big.NewInt(1), testNow, next)
		switch {
		case c.signCR && err != nil:
			t.Errorf("%s: CRL refused: %v", c.name, err)
		case c.signCR:
			crl, err := x509.ParseRevocationList(der)
			if err != nil || crl.CheckSignatureFrom(root) != nil {
				t.Errorf("%s: CRL does not verify: %v", c.name, err)
			}
		case !errors.Is(err, ErrNoCRLSign):
			t.Errorf("%s: CRL error %v, want ErrNoCRLSign", c.name, err)
		}
		leafKey := cachedKey(t, "EC_prime256v1", "leaf")
		tmpl, err := LeafTemplate(LeafRequest{Names: []string{"a.example.test"}, PublicKey: leafKey.Public(), Serial: mustSerial(t),
			Validity: Validity{testNow, testNow.AddDate(0, 0, 30)}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Sign(tmpl, root, leafKey.Public(), key); (err == nil) != c.signCerts {
			t.Errorf("%s: signing a certificate: %v", c.name, err)
		}
	}
}
