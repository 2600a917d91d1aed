package pemio

import (
	"bytes"
	"crypto/x509"
	"testing"
)

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func sameCerts(t *testing.T, got, want []*x509.Certificate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d certificates, want %d", len(got), len(want))
	}
	for i := range got {
		if !got[i].Equal(want[i]) {
			t.Fatalf("certificate %d is %q, want %q", i, got[i].Subject.CommonName, want[i].Subject.CommonName)
		}
	}
}

func TestSplitBundle(t *testing.T) {
	p := newPKI(t)
	leafPEM, interPEM, rootPEM := EncodeCertificatesPEM(p.leaf), EncodeCertificatesPEM(p.inter), EncodeCertificatesPEM(p.root)
	keyPEM, err := EncodePKCS8(p.leafKey)
	if err != nil {
		t.Fatal(err)
	}
	encKey, err := EncodeEncryptedPKCS8(p.leafKey, []byte("pw"))
	if err != nil {
		t.Fatal(err)
	}
	// A second leaf issued by the same intermediate, used to check that
	// the key (not the position) decides which certificate is the leaf.
	otherKey := newECKey(t)
	other := newCert(t, "other.example.test", false, otherKey, p.inter, p.intKey)
	otherPEM := EncodeCertificatesPEM(other)

	tests := []struct {
		name      string
		data      []byte
		wantLeaf  *x509.Certificate
		wantChain []*x509.Certificate
		wantKey   []byte
	}{
		{"key first", concat(keyPEM, leafPEM, interPEM, rootPEM), p.leaf, []*x509.Certificate{p.inter, p.root}, keyPEM},
		{"reversed chain, key last", concat(rootPEM, interPEM, leafPEM, keyPEM), p.leaf, []*x509.Certificate{p.inter, p.root}, keyPEM},
		{"shuffled", concat(interPEM, keyPEM, rootPEM, leafPEM), p.leaf, []*x509.Certificate{p.inter, p.root}, keyPEM},
		{"no key", concat(rootPEM, leafPEM, interPEM), p.leaf, []*x509.Certificate{p.inter, p.root}, nil},
		{"encrypted key", concat(rootPEM, interPEM, encKey, leafPEM), p.leaf, []*x509.Certificate{p.inter, p.root}, encKey},
		{"key picks second leaf", concat(otherPEM, leafPEM, interPEM, keyPEM), p.leaf, []*x509.Certificate{p.inter, other}, keyPEM},
		{"leaf only", concat(leafPEM, keyPEM), p.leaf, []*x509.Certificate{}, keyPEM},
		{"unrelated extra kept", concat(leafPEM, rootPEM, keyPEM), p.leaf, []*x509.Certificate{p.root}, keyPEM},
		{"self-signed root alone", rootPEM, p.root, []*x509.Certificate{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := SplitBundle(tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if !b.Leaf.Equal(tt.wantLeaf) {
				t.Fatalf("leaf = %q, want %q", b.Leaf.Subject.CommonName, tt.wantLeaf.Subject.CommonName)
			}
			sameCerts(t, b.Chain, tt.wantChain)
			if !bytes.Equal(b.KeyPEM, tt.wantKey) {
				t.Fatalf("KeyPEM = %q, want %q", b.KeyPEM, tt.wantKey)
			}
		})
	}
}

func TestSplitBundleErrors(t *testing.T) {
	p := newPKI(t)
	leafPEM := EncodeCertificatesPEM(p.leaf)
	keyPEM, _ := EncodePKCS8(p.leafKey)
	strangerPEM, _ := EncodePKCS8(newECKey(t))
	tests := []struct {
		name string
		data []byte
		rule string
	}{
		{"empty", nil, RuleEmptyFile},
		{"DER", p.leaf.Raw, RuleCertificateNotPEM},
		{"two keys", concat(keyPEM, leafPEM, keyPEM), RuleMultiplePrivateKeys},
		{"key only", keyPEM, RuleNoCertificate},
		{"mismatched key", concat(leafPEM, strangerPEM), RuleKeyMatchesNoCert},
		{"CSR block", concat(leafPEM, pemBlock("CERTIFICATE REQUEST", []byte{1})), RuleUnexpectedBlock + " CERTIFICATE REQUEST"},
		{"bad certificate", concat(keyPEM, pemBlock("CERTIFICATE", []byte{0x30, 0})), RuleInvalidCertificate},
		{"truncated", concat(leafPEM, keyPEM[:40]), RuleMalformedPEM},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SplitBundle(tt.data)
			wantRule(t, err, tt.rule)
		})
	}
}
