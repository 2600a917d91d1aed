package x509util

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"sync"
	"testing"
	"time"
)

var testNow = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

func ecKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var rsaKeys sync.Map // bits → *rsa.PrivateKey, so slow key sizes are generated once

func rsaKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	if k, ok := rsaKeys.Load(bits); ok {
		return k.(*rsa.PrivateKey)
	}
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	rsaKeys.Store(bits, k)
	return k
}

// certOpts tweak the template of a test certificate.
type certOpt func(*x509.Certificate)

func withValidity(from, to time.Time) certOpt {
	return func(c *x509.Certificate) { c.NotBefore, c.NotAfter = from, to }
}

func withKeyUsage(ku x509.KeyUsage) certOpt { return func(c *x509.Certificate) { c.KeyUsage = ku } }

func withEKU(ekus ...x509.ExtKeyUsage) certOpt {
	return func(c *x509.Certificate) { c.ExtKeyUsage = ekus }
}

func withUnknownEKU(oids ...asn1.ObjectIdentifier) certOpt {
	return func(c *x509.Certificate) { c.UnknownExtKeyUsage = oids }
}

func withNames(cn string, dns ...string) certOpt {
	return func(c *x509.Certificate) { c.Subject.CommonName, c.DNSNames = cn, dns }
}

// issue creates a certificate for pub signed by parent/parentKey, self
// signed when parent is nil (parentKey is then the subject's key).
func issue(t testing.TB, cn string, isCA bool, pub crypto.PublicKey, parent *x509.Certificate, parentKey crypto.Signer, opts ...certOpt) *x509.Certificate {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certctl tests"}},
		NotBefore:             testNow.Add(-24 * time.Hour),
		NotAfter:              testNow.Add(90 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  isCA,
	}
	if isCA {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.DNSNames = []string{cn}
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	for _, o := range opts {
		o(tmpl)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// testCA is a root and an intermediate CA.
type testCA struct {
	rootKey, intKey *ecdsa.PrivateKey
	root, inter     *x509.Certificate
}

func newTestCA(t testing.TB) testCA {
	t.Helper()
	var ca testCA
	ca.rootKey, ca.intKey = ecKey(t, elliptic.P256()), ecKey(t, elliptic.P256())
	ca.root = issue(t, "Test Root", true, ca.rootKey.Public(), nil, ca.rootKey)
	ca.inter = issue(t, "Test Intermediate", true, ca.intKey.Public(), ca.root, ca.rootKey)
	return ca
}

// leaf issues an end-entity certificate for key from the intermediate.
func (ca testCA) leaf(t testing.TB, cn string, key crypto.Signer, opts ...certOpt) *x509.Certificate {
	t.Helper()
	return issue(t, cn, false, key.Public(), ca.inter, ca.intKey, opts...)
}

// v1Certificate builds an X.509 version 1 certificate (no version field, no
// extensions) for pub signed by the intermediate: x509.CreateCertificate only
// emits version 3. The TBS is assembled with encoding/asn1 and signed with
// ECDSA-SHA256 through crypto.Signer.
func (ca testCA) v1Certificate(t testing.TB, cn string, pub crypto.PublicKey) *x509.Certificate {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	subject, err := asn1.Marshal(pkix.Name{CommonName: cn}.ToRDNSequence())
	if err != nil {
		t.Fatal(err)
	}
	sigAlg := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}
	type validity struct{ NotBefore, NotAfter time.Time }
	type tbsV1 struct {
		SerialNumber *big.Int
		Signature    pkix.AlgorithmIdentifier
		Issuer       asn1.RawValue
		Validity     validity
		Subject      asn1.RawValue
		PublicKey    asn1.RawValue
	}
	tbs, err := asn1.Marshal(tbsV1{
		SerialNumber: big.NewInt(4242),
		Signature:    sigAlg,
		Issuer:       asn1.RawValue{FullBytes: ca.inter.RawSubject},
		Validity:     validity{testNow.Add(-time.Hour).UTC(), testNow.Add(time.Hour).UTC()},
		Subject:      asn1.RawValue{FullBytes: subject},
		PublicKey:    asn1.RawValue{FullBytes: spki},
	})
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(tbs)
	sig, err := ca.intKey.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct {
		TBS       asn1.RawValue
		Algorithm pkix.AlgorithmIdentifier
		Signature asn1.BitString
	}{asn1.RawValue{FullBytes: tbs}, sigAlg, asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckSignatureFrom(ca.inter); err != nil {
		t.Fatalf("v1 fixture signature: %v", err)
	}
	return c
}
