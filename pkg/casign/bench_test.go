package casign

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"math/big"
	"testing"
	"time"
)

// BenchmarkIssueLeafP256 measures one issuance: P-256 key generation,
// template and signature by a P-256 subordinate CA.
func BenchmarkIssueLeafP256(b *testing.B) {
	h := newHierarchy(b, "EC_prime256v1")
	v := Validity{testNow, testNow.AddDate(0, 0, 395)}
	for b.Loop() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		serial, err := NewSerial(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		tmpl, err := LeafTemplate(LeafRequest{Names: []string{"bench.example.test", "www.bench.example.test"},
			PublicKey: key.Public(), Serial: serial, Validity: v, CRLURL: testBaseURL + "/crl/x.crl", OCSPURL: testBaseURL + "/ocsp"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Sign(tmpl, h.sub, key.Public(), h.subKey); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCreateCRL100k measures a CRL of 100,000 entries (mixed reasons)
// signed by a P-256 CA, including the conversion of the entries.
func BenchmarkCreateCRL100k(b *testing.B) {
	h := newHierarchy(b, "EC_prime256v1")
	entries := make([]Revoked, 100_000)
	for i := range entries {
		s, err := NewSerial(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		entries[i] = Revoked{Serial: s, RevokedAt: testNow.Add(-time.Duration(i) * time.Second), Reason: []int{0, 1, 4, 5}[i%4]}
	}
	b.ReportAllocs()
	for b.Loop() {
		der, err := CreateCRL(h.sub, h.subKey, entries, big.NewInt(1), testNow, testNow.Add(24*time.Hour))
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(der)))
	}
}
