package pemio

import (
	"bytes"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	p := newPKI(f)
	certs := EncodeCertificatesPEM(p.leaf, p.inter, p.root)
	key, err := EncodePKCS8(p.leafKey)
	if err != nil {
		f.Fatal(err)
	}
	enc, err := EncodeEncryptedPKCS8(p.leafKey, []byte("pw"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certs)
	f.Add(key)
	f.Add(enc)
	f.Add(bytes.Join([][]byte{key, certs}, nil))
	f.Add(p.leaf.Raw)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n"))
	f.Add([]byte(""))
}

func FuzzParseCertificatesPEM(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificatesPEM(data)
		if err == nil && len(certs) == 0 {
			t.Fatal("no error and no certificate")
		}
		if err == nil {
			// What parsed must encode and parse back to the same certificates.
			again, err := ParseCertificatesPEM(EncodeCertificatesPEM(certs...))
			if err != nil || len(again) != len(certs) {
				t.Fatalf("re-parse: %d certs, %v", len(again), err)
			}
		}
	})
}

func FuzzParsePrivateKeyPEM(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(explicitP256SEC1)) // explicit curve parameters (explicitCurve)
	f.Add([]byte(explicitP256PKCS8))
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, pass := range [][]byte{nil, []byte("pw")} {
			k, err := ParsePrivateKeyPEM(data, pass)
			if err == nil && k == nil {
				t.Fatal("no error and no key")
			}
			if err != nil && bytes.Contains([]byte(err.Error()), []byte("pw")) && !bytes.Contains(data, []byte("pw")) {
				t.Fatalf("error mentions the passphrase: %v", err)
			}
		}
	})
}

func FuzzSplitBundle(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := SplitBundle(data)
		if err != nil {
			return
		}
		if b.Leaf == nil {
			t.Fatal("no error and no leaf")
		}
		for _, c := range b.Chain {
			if c == b.Leaf {
				t.Fatal("leaf repeated in chain")
			}
		}
	})
}
