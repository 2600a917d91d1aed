package pemio

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"
)

var testTime = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newCert creates a certificate for key signed by parent/parentKey (self
// signed when parent is nil).
func newCert(t testing.TB, cn string, isCA bool, key crypto.Signer, parent *x509.Certificate, parentKey crypto.Signer) *x509.Certificate {
	t.Helper()
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             testTime.Add(-time.Hour),
		NotAfter:              testTime.Add(24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.DNSNames = []string{cn}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type testPKI struct {
	rootKey, intKey, leafKey *ecdsa.PrivateKey
	root, inter, leaf        *x509.Certificate
}

func newPKI(t testing.TB) testPKI {
	t.Helper()
	var p testPKI
	p.rootKey, p.intKey, p.leafKey = newECKey(t), newECKey(t), newECKey(t)
	p.root = newCert(t, "Test Root", true, p.rootKey, nil, nil)
	p.inter = newCert(t, "Test Intermediate", true, p.intKey, p.root, p.rootKey)
	p.leaf = newCert(t, "www.example.test", false, p.leafKey, p.inter, p.intKey)
	return p
}
