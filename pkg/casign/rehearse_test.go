package casign

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"io"
	"math/big"
	"sync/atomic"
	"testing"
	"time"
)

// rehearsalSigner counts the signatures of its key.
type rehearsalSigner struct {
	crypto.Signer
	n atomic.Int32
}

func (c *rehearsalSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.n.Add(1)
	return c.Signer.Sign(r, digest, opts)
}

// TestSignRefusesMalformedBeforeSigning: extensions or policies passed
// through that would make a malformed certificate (an extension twice, a
// policy twice) are refused with ErrMalformed before the CA's key signs
// anything (tester: the CA signed it, then the parse failed); a
// well-formed passthrough is signed once.
func TestSignRefusesMalformedBeforeSigning(t *testing.T) {
	caKey := &rehearsalSigner{Signer: cachedKey(t, "EC_prime256v1", "ca")}
	ca := selfSignedCA(t, pkix.Name{CommonName: "Rehearsal CA"}, caKey.Signer)
	leafKey := cachedKey(t, "EC_prime256v1", "leaf")
	tmpl := func() *x509.Certificate {
		return &x509.Certificate{SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "leaf.example.test"},
			DNSNames: []string{"leaf.example.test"}, NotBefore: testNow, NotAfter: testNow.Add(24 * time.Hour)}
	}
	oid := asn1.ObjectIdentifier{1, 2, 3, 9}
	dupExt := tmpl()
	dupExt.ExtraExtensions = []pkix.Extension{{Id: oid, Value: []byte{5, 0}}, {Id: oid, Value: []byte{5, 0}}}
	dupPolicy := tmpl()
	pol, err := x509.OIDFromInts([]uint64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	dupPolicy.Policies = []x509.OID{pol, pol}
	for name, bad := range map[string]*x509.Certificate{"extension twice": dupExt, "policy twice": dupPolicy} {
		if _, err := Sign(bad, ca, leafKey.Public(), caKey); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
	if n := caKey.n.Load(); n != 0 {
		t.Fatalf("the CA's key signed %d times for malformed certificates", n)
	}
	good := tmpl()
	good.ExtraExtensions = []pkix.Extension{{Id: oid, Value: []byte{5, 0}}}
	if _, err := Sign(good, ca, leafKey.Public(), caKey); err != nil {
		t.Fatal(err)
	}
	if n := caKey.n.Load(); n != 1 {
		t.Errorf("the CA's key signed %d times for one certificate", n)
	}
}

// TestPassthroughUsageTwice: an extended key usage named twice (by type or
// by OID) is one usage in the certificate (tester: signed in twice).
func TestPassthroughUsageTwice(t *testing.T) {
	e := &PassthroughExtensions{ExtendedKeyUsage: []PassthroughEKU{
		{ExtendedKeyUsageType: "SERVER_AUTH"}, {ExtendedKeyUsageType: "SERVER_AUTH"},
		{ExtendedKeyUsageObjectIdentifier: "1.2.3.4"}, {ExtendedKeyUsageObjectIdentifier: "1.2.3.4"}, {ExtendedKeyUsageType: "CLIENT_AUTH"},
	}}
	_, eku, unknown, _, err := e.extensions()
	if err != nil {
		t.Fatal(err)
	}
	if len(eku) != 2 || eku[0] == eku[1] || len(unknown) != 1 || unknown[0] != "1.2.3.4" {
		t.Errorf("usages %v, OIDs %v: want each once, in order", eku, unknown)
	}
}
