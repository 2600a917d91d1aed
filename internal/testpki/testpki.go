// Package testpki makes certificates and keys for tests: CA chains, leaves
// that break one import rule each, and the files the end-to-end scripts use.
package testpki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"go.step.sm/crypto/pemutil"
)

// CA is a certificate authority for tests.
type CA struct {
	Cert *x509.Certificate
	Key  crypto.Signer
}

// Must panics on error (test fixtures only).
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func serial() *big.Int {
	return Must(rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120)))
}

// ECKey makes a P-256 key.
func ECKey() crypto.Signer { return Must(ecdsa.GenerateKey(elliptic.P256(), rand.Reader)) }

// RSAKey makes an RSA key of bits.
func RSAKey(bits int) crypto.Signer { return Must(rsa.GenerateKey(rand.Reader, bits)) }

// NewRoot makes a self-signed root valid from now-1h for 10 years.
func NewRoot(cn string, now time.Time) *CA {
	return NewRootUntil(cn, now, now.Add(10*365*24*time.Hour))
}

// NewRootUntil makes a self-signed root valid from now-1h to notAfter.
func NewRootUntil(cn string, now, notAfter time.Time) *CA {
	key := ECKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certctl tests"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der := Must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key))
	return &CA{Cert: Must(x509.ParseCertificate(der)), Key: key}
}

// SelfSignedServer makes a self-signed server certificate for name as
// `openssl req -x509 -addext subjectAltName=DNS:name` does: CA:TRUE, the
// name in the SAN, no key usage.
func SelfSignedServer(name string, now time.Time) *CA {
	key := ECKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		DNSNames:              []string{name},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der := Must(x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key))
	return &CA{Cert: Must(x509.ParseCertificate(der)), Key: key}
}

// Sub makes an intermediate CA signed by ca.
func (ca *CA) Sub(cn string) *CA {
	key := ECKey()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: cn, Organization: []string{"certctl tests"}},
		NotBefore:             ca.Cert.NotBefore,
		NotAfter:              ca.Cert.NotAfter.Add(-time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der := Must(x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key))
	return &CA{Cert: Must(x509.ParseCertificate(der)), Key: key}
}

// SignCACSR signs csr as an issuer outside certctl signs a CA's request
// (openssl x509 -req): a CA certificate for the CSR's key, under subject
// (the CSR's own when nil: its RawSubject, byte for byte), valid from
// ca's NotBefore to notAfter, whatever ca's own validity.
func (ca *CA) SignCACSR(csr *x509.CertificateRequest, subject *pkix.Name, notAfter time.Time) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		RawSubject:            csr.RawSubject,
		NotBefore:             ca.Cert.NotBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	if subject != nil {
		tmpl.RawSubject, tmpl.Subject = nil, *subject
	}
	der := Must(x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, csr.PublicKey, ca.Key))
	return Must(x509.ParseCertificate(der))
}

// LeafOptions shape a leaf certificate.
type LeafOptions struct {
	Names     []string
	Key       crypto.Signer // default: a new P-256 key
	NotBefore time.Time
	NotAfter  time.Time
	KeyUsage  x509.KeyUsage
	ExtUsage  []x509.ExtKeyUsage
}

// Leaf issues a leaf certificate.
func (ca *CA) Leaf(o LeafOptions) (*x509.Certificate, crypto.Signer) {
	if o.Key == nil {
		o.Key = ECKey()
	}
	if len(o.Names) == 0 {
		o.Names = []string{"www.example.test"}
	}
	if o.NotBefore.IsZero() {
		o.NotBefore = ca.Cert.NotBefore
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = o.NotBefore.Add(90 * 24 * time.Hour)
	}
	if o.KeyUsage == 0 {
		o.KeyUsage = x509.KeyUsageDigitalSignature
	}
	if o.ExtUsage == nil {
		o.ExtUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: o.Names[0]},
		DNSNames:              o.Names,
		NotBefore:             o.NotBefore,
		NotAfter:              o.NotAfter,
		KeyUsage:              o.KeyUsage,
		ExtKeyUsage:           o.ExtUsage,
		BasicConstraintsValid: true,
	}
	der := Must(x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, o.Key.Public(), ca.Key))
	return Must(x509.ParseCertificate(der)), o.Key
}

// Foreign is a certificate (DER) for leaf's public key, subject and DNS
// names, signed by a throwaway CA of an attacker's own and valid from nb:
// what someone with write access to a store could put in for a key they
// do not hold.
func Foreign(leaf *x509.Certificate, nb time.Time) []byte {
	caKey := ECKey()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x4242), Subject: leaf.Subject,
		DNSNames: leaf.DNSNames, NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0)}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Attacker CA"},
		NotBefore: nb, NotAfter: nb.AddDate(1, 0, 0), IsCA: true, BasicConstraintsValid: true}
	return Must(x509.CreateCertificate(rand.Reader, tmpl, ca, leaf.PublicKey, caKey))
}

// CertPEM encodes certificates as PEM.
func CertPEM(certs ...*x509.Certificate) []byte {
	var out []byte
	for _, c := range certs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return out
}

// KeyPEM encodes a key as PKCS#8 PEM.
func KeyPEM(k crypto.Signer) []byte {
	der := Must(x509.MarshalPKCS8PrivateKey(k))
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// EncryptedKeyPEM encodes a key as an encrypted PKCS#8 PEM.
func EncryptedKeyPEM(k crypto.Signer, pass string) []byte {
	der := Must(x509.MarshalPKCS8PrivateKey(k))
	blk := Must(pemutil.EncryptPKCS8PrivateKey(rand.Reader, der, []byte(pass), x509.PEMCipherAES256))
	return pem.EncodeToMemory(blk)
}

// tbsV1 is a TBSCertificate without version or extensions (X.509 v1).
type tbsV1 struct {
	SerialNumber *big.Int
	Signature    pkix.AlgorithmIdentifier
	Issuer       asn1.RawValue
	Validity     struct{ NotBefore, NotAfter time.Time }
	Subject      asn1.RawValue
	PublicKey    asn1.RawValue
}

type certV1 struct {
	TBS       asn1.RawValue
	Algorithm pkix.AlgorithmIdentifier
	Signature asn1.BitString
}

// V1Leaf makes an X.509 version 1 certificate for name signed by ca (whose
// key must be ECDSA P-256), with key.
func (ca *CA) V1Leaf(name string, key crypto.Signer) *x509.Certificate {
	ecdsaWithSHA256 := pkix.AlgorithmIdentifier{Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}}
	subject := Must(asn1.Marshal(pkix.Name{CommonName: name}.ToRDNSequence()))
	spki := Must(x509.MarshalPKIXPublicKey(key.Public()))
	tbs := tbsV1{
		SerialNumber: serial(),
		Signature:    ecdsaWithSHA256,
		Issuer:       asn1.RawValue{FullBytes: ca.Cert.RawSubject},
		Subject:      asn1.RawValue{FullBytes: subject},
		PublicKey:    asn1.RawValue{FullBytes: spki},
	}
	tbs.Validity.NotBefore = ca.Cert.NotBefore.UTC().Truncate(time.Second)
	tbs.Validity.NotAfter = tbs.Validity.NotBefore.Add(90 * 24 * time.Hour)
	tbsDER := Must(asn1.Marshal(tbs))
	h := crypto.SHA256.New()
	h.Write(tbsDER)
	sig := Must(ca.Key.Sign(rand.Reader, h.Sum(nil), crypto.SHA256))
	der := Must(asn1.Marshal(certV1{
		TBS:       asn1.RawValue{FullBytes: tbsDER},
		Algorithm: ecdsaWithSHA256,
		Signature: asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	}))
	c := Must(x509.ParseCertificate(der))
	if c.Version != 1 {
		panic(fmt.Sprintf("V1Leaf made version %d", c.Version))
	}
	return c
}

//go:embed testdata/rsa8192.key
var rsa8192PEM []byte

// RSA8192 returns a fixed RSA 8192 key (a test fixture: generating one
// takes many seconds). Its PEM is larger than ACM's 5,120-byte limit.
func RSA8192() crypto.Signer {
	blk, _ := pem.Decode(rsa8192PEM)
	return Must(x509.ParsePKCS8PrivateKey(blk.Bytes)).(crypto.Signer)
}

// WriteImportFixtures writes, into dir, the files the import scripts use:
//
//	good.crt good.key chain.pem bundle.pem        a valid leaf, key and chain
//	good2.crt good2.key                             a second valid leaf, same CA
//	enc.key pass.txt                                good.key encrypted, its passphrase
//	other.key                                       a key matching no certificate
//	expired.crt expired.key                         expired
//	future.crt future.key                           not yet valid
//	leafchain.pem                                   a chain holding the leaf
//	badorder.pem                                    chain in the wrong order
//	good.der                                        the leaf in DER
//	garbage.pem empty.pem                           not PEM / empty
//	big.crt big.key                                 an RSA 8192 key: over 5,120 bytes
//	rsa1536.crt rsa1536.key                         unsupported algorithm
//	v1.crt v1.key                                   an X.509 v1 certificate
//	rsa.crt rsa.key rsa-ec.crt                       an RSA_2048 leaf; an EC leaf for reimport
//	noku.crt                                        good's key, without ServerAuth EKU
//	selfsigned.crt selfsigned.key                   self-signed, CA:TRUE (as openssl req -x509 makes)
func WriteImportFixtures(dir string, now time.Time) error {
	root := NewRoot("Test Root", now)
	sub := root.Sub("Test Intermediate")
	w := func(name string, data []byte) {
		Must(0, os.WriteFile(filepath.Join(dir, name), data, 0o600))
	}
	chain := CertPEM(sub.Cert, root.Cert)
	good, goodKey := sub.Leaf(LeafOptions{Names: []string{"www.example.test", "example.test"}, ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
	w("good.crt", CertPEM(good))
	w("good.key", KeyPEM(goodKey))
	w("chain.pem", chain)
	w("root.pem", CertPEM(root.Cert))
	w("bundle.pem", append(append(KeyPEM(goodKey), CertPEM(good)...), chain...))
	good2, good2Key := sub.Leaf(LeafOptions{Names: []string{"api.example.test"}})
	w("good2.crt", CertPEM(good2))
	w("good2.key", KeyPEM(good2Key))
	renewed, renewedKey := sub.Leaf(LeafOptions{Names: []string{"www.example.test", "example.test"}, NotBefore: now.Add(-time.Minute), ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}})
	w("renewed.crt", CertPEM(renewed))
	w("renewed.key", KeyPEM(renewedKey))
	w("enc.key", EncryptedKeyPEM(goodKey, "s3cret"))
	w("pass.txt", []byte("s3cret\n"))
	w("other.key", KeyPEM(ECKey()))
	exp, expKey := sub.Leaf(LeafOptions{NotBefore: now.Add(-100 * 24 * time.Hour), NotAfter: now.Add(-24 * time.Hour)})
	w("expired.crt", CertPEM(exp))
	w("expired.key", KeyPEM(expKey))
	fut, futKey := sub.Leaf(LeafOptions{NotBefore: now.Add(24 * time.Hour), NotAfter: now.Add(100 * 24 * time.Hour)})
	w("future.crt", CertPEM(fut))
	w("future.key", KeyPEM(futKey))
	w("leafchain.pem", append(CertPEM(good), chain...))
	w("badorder.pem", CertPEM(root.Cert, sub.Cert))
	w("good.der", good.Raw)
	w("garbage.pem", []byte("this is not a certificate\n"))
	w("empty.pem", nil)
	rsa8192 := RSA8192()
	big, _ := sub.Leaf(LeafOptions{Names: []string{"big.example.test"}, Key: rsa8192})
	w("big.crt", CertPEM(big))
	w("big.key", KeyPEM(rsa8192))
	k1536 := RSAKey(1536)
	c1536, _ := sub.Leaf(LeafOptions{Names: []string{"rsa1536.example.test"}, Key: k1536})
	w("rsa1536.crt", CertPEM(c1536))
	w("rsa1536.key", KeyPEM(k1536))
	v1Key := ECKey()
	w("v1.crt", CertPEM(sub.V1Leaf("v1.example.test", v1Key)))
	w("v1.key", KeyPEM(v1Key))
	rsaKey := RSAKey(2048)
	rsaLeaf, _ := sub.Leaf(LeafOptions{Names: []string{"www.example.test"}, Key: rsaKey, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment})
	w("rsa.crt", CertPEM(rsaLeaf))
	w("rsa.key", KeyPEM(rsaKey))
	noku, _ := sub.Leaf(LeafOptions{Names: []string{"www.example.test"}, Key: goodKey, NotBefore: now.Add(-time.Minute), ExtUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	w("noeku.crt", CertPEM(noku))
	self := SelfSignedServer("self.example.test", now)
	w("selfsigned.crt", CertPEM(self.Cert))
	w("selfsigned.key", KeyPEM(self.Key))
	return nil
}

// WriteMany writes n leaf certificates (name.crt) with their keys
// (name.key) and a shared chain into dir, for bulk-import tests and
// benchmarks. Keys are P-256: generating thousands of RSA keys would
// dominate the run.
func WriteMany(dir string, n int, now time.Time) error {
	root := NewRoot("Bulk Root", now)
	sub := root.Sub("Bulk Intermediate")
	for i := 0; i < n; i++ {
		c, k := sub.Leaf(LeafOptions{Names: []string{fmt.Sprintf("host%05d.bulk.example.test", i)},
			NotAfter: now.Add(time.Duration(1+i%365) * 24 * time.Hour)})
		base := filepath.Join(dir, fmt.Sprintf("cert%05d", i))
		if err := os.WriteFile(base+".crt", append(CertPEM(c), CertPEM(sub.Cert)...), 0o600); err != nil {
			return err
		}
		if err := os.WriteFile(base+".key", KeyPEM(k), 0o600); err != nil {
			return err
		}
	}
	return nil
}
