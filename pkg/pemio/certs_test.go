package pemio

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
)

func TestParseCertificatesPEM(t *testing.T) {
	p := newPKI(t)
	data := EncodeCertificatesPEM(p.leaf, p.inter, nil, p.root)
	if n := bytes.Count(data, []byte("-----BEGIN CERTIFICATE-----")); n != 3 {
		t.Fatalf("encoded %d blocks, want 3", n)
	}
	certs, err := ParseCertificatesPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(certs) != 3 || !certs[0].Equal(p.leaf) || !certs[1].Equal(p.inter) || !certs[2].Equal(p.root) {
		t.Fatalf("round trip lost or reordered certificates")
	}
	// Explanatory text around blocks (openssl x509 -text) is accepted.
	withText := append([]byte("Certificate:\n    Data: ...\n"), data...)
	if certs, err := ParseCertificatesPEM(withText); err != nil || len(certs) != 3 {
		t.Fatalf("with text: %d certs, %v", len(certs), err)
	}
}

func TestParseCertificatesPEMErrors(t *testing.T) {
	p := newPKI(t)
	one := EncodeCertificatesPEM(p.leaf)
	key, err := EncodePKCS8(p.leafKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		data    []byte
		rule    string
		contain string
	}{
		{"empty", []byte{}, RuleEmptyFile, ""},
		{"DER", p.leaf.Raw, RuleCertificateNotPEM, "openssl x509 -inform der"},
		{"garbage", []byte("not a certificate"), RuleCertificateNotPEM, "no PEM block"},
		{"private key", append(append([]byte{}, one...), key...), RuleUnexpectedBlock + " PRIVATE KEY", "--bundle"},
		{"PKCS7", pemBlock("PKCS7", []byte{1}), RuleUnexpectedBlock + " PKCS7", "openssl pkcs7 -print_certs"},
		{"CSR", pemBlock("CERTIFICATE REQUEST", []byte{1}), RuleUnexpectedBlock + " CERTIFICATE REQUEST", ""},
		{"bad DER in block", pemBlock("CERTIFICATE", []byte{0x30, 0}), RuleInvalidCertificate, "certificate 1"},
		{"truncated second block", append(append([]byte{}, one...), one[:len(one)/2]...), RuleMalformedPEM, "block 2"},
		{"control chars in type", pemBlock("CERT\x1b[31m", []byte{1}), RuleUnexpectedBlock + " CERT?[31m", ""},
		{"secp256k1 key", []byte(secp256k1Cert), RuleInvalidCertificate, "certificate 1: the elliptic curve of its key is not supported; use P-256, P-384 or P-521"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseCertificatesPEM(tt.data)
			wantRule(t, err, tt.rule)
			if !strings.Contains(err.Error(), tt.contain) {
				t.Fatalf("error %q does not contain %q", err, tt.contain)
			}
		})
	}
}

func TestErrorFormatting(t *testing.T) {
	cause := errors.New("detail")
	tests := []struct {
		err  *Error
		want string
	}{
		{&Error{File: "a.pem", Rule: "rule", Err: cause}, "a.pem: rule: detail"},
		{&Error{Rule: "rule", Err: cause}, "rule: detail"},
		{&Error{File: "a.pem", Rule: "rule"}, "a.pem: rule"},
		{&Error{File: "a.pem", Err: cause}, "a.pem: detail"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
		if tt.err.Err != nil && !errors.Is(tt.err, cause) {
			t.Errorf("%q does not unwrap to its cause", tt.want)
		}
	}

	_, err := ParseCertificatesPEM(nil)
	named := WithFile(err, "cert.pem")
	if got := named.Error(); got != "cert.pem: empty file: no certificate found" {
		t.Fatalf("WithFile: %q", got)
	}
	if err.(*Error).File != "" {
		t.Fatal("WithFile modified the original error")
	}
	if again := WithFile(named, "other.pem"); again.Error() != named.Error() {
		t.Fatalf("WithFile replaced an existing file name: %q", again)
	}
	plain := errors.New("plain")
	if WithFile(plain, "x") != plain {
		t.Fatal("WithFile changed a foreign error")
	}
}

// TestEncodeString: EncodeString writes what pem.EncodeToMemory does, in a
// string of exactly the length it reserved for it (so it never grew its
// buffer), at every length of a last base64 line; Write writes the same
// in writes of at most 64 KiB.
func TestEncodeString(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 47, 48, 49, 95, 96, 97, 1000, 100_000} {
		der := make([]byte, n)
		for i := range der {
			der[i] = byte(i * 7)
		}
		for _, typ := range []string{"X509 CRL", "CERTIFICATE"} {
			got := EncodeString(typ, der)
			if want := string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})); got != want {
				t.Errorf("EncodeString(%q, %d bytes) = %q, want %q", typ, n, got, want)
			}
			if l := encodedLen(typ, n); len(got) != l {
				t.Errorf("EncodeString(%q, %d bytes): %d bytes, reserved %d", typ, n, len(got), l)
			}
			var w writes
			if err := Write(&w, typ, der); err != nil || w.String() != got {
				t.Errorf("Write(%q, %d bytes) = %d bytes, %v; want EncodeString's %d", typ, n, w.Len(), err, len(got))
			}
			if w.largest > 64<<10 {
				t.Errorf("Write(%q, %d bytes): a write of %d bytes, want at most 64 KiB", typ, n, w.largest)
			}
		}
	}
}

// writes is a buffer that records its largest write.
type writes struct {
	bytes.Buffer
	largest int
}

func (w *writes) Write(p []byte) (int, error) {
	w.largest = max(w.largest, len(p))
	return w.Buffer.Write(p)
}

// A file saved with a UTF-8 byte-order mark (Windows Notepad) reads as
// openssl reads it: certificates, keys and bundles alike.
func TestByteOrderMarkIgnored(t *testing.T) {
	p := newPKI(t)
	bom := []byte("\xef\xbb\xbf")
	certs, err := ParseCertificatesPEM(append(bom, EncodeCertificatesPEM(p.leaf, p.inter)...))
	if err != nil || len(certs) != 2 || !certs[0].Equal(p.leaf) {
		t.Fatalf("certificates after a BOM: %d, %v", len(certs), err)
	}
	keyPEM, err := EncodePKCS8(p.leafKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKeyPEM(append(bom, keyPEM...), nil); err != nil {
		t.Fatalf("key after a BOM: %v", err)
	}
	// Only a leading mark is skipped: one inside a block still damages it.
	broken := append(EncodeCertificatesPEM(p.leaf), bom...)
	broken = append(broken, EncodeCertificatesPEM(p.inter)[:40]...)
	if _, err := ParseCertificatesPEM(broken); err == nil {
		t.Fatal("a truncated second block after a mid-file BOM parsed")
	}
}

// TestEncodeCertificatesPEMOneBuffer: the blocks are those pem.Encode
// writes, one after the other, for DER of every length around a line's
// end, written into one buffer of the exact size (one allocation).
func TestEncodeCertificatesPEMOneBuffer(t *testing.T) {
	var certs []*x509.Certificate
	var want []byte
	for n := 0; n < 200; n++ {
		der := make([]byte, n)
		for i := range der {
			der[i] = byte(i * 7)
		}
		c := &x509.Certificate{Raw: der}
		certs = append(certs, c, nil)
		want = append(want, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
		if got := EncodeCertificatesPEM(c); !bytes.Equal(got, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) || len(got) != cap(got) {
			t.Fatalf("%d bytes of DER: %q (cap %d)", n, got, cap(got))
		}
	}
	if got := EncodeCertificatesPEM(certs...); !bytes.Equal(got, want) {
		t.Errorf("200 certificates: the blocks differ from pem.EncodeToMemory's")
	}
	if got := EncodeCertificatesPEM(nil, nil); got != nil {
		t.Errorf("no certificate: %q, want nil", got)
	}
	two := certs[:4]
	if n := testing.AllocsPerRun(20, func() { EncodeCertificatesPEM(two...) }); n != 1 {
		t.Errorf("two certificates: %v allocations, want 1", n)
	}
}

// FuzzEncodeCertificatesPEM: on any DER, the block pem.Encode writes.
func FuzzEncodeCertificatesPEM(f *testing.F) {
	f.Add([]byte{}, []byte{1})
	f.Add(make([]byte, 48), make([]byte, 97))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		want := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a}), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: b})...)
		if got := EncodeCertificatesPEM(&x509.Certificate{Raw: a}, nil, &x509.Certificate{Raw: b}); !bytes.Equal(got, want) {
			t.Errorf("EncodeCertificatesPEM(%x, %x) = %q, want %q", a, b, got, want)
		}
	})
}

// secp256k1Cert is a self-signed certificate for a secp256k1 key (openssl
// req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp256k1), a curve
// crypto/x509 does not read.
const secp256k1Cert = `-----BEGIN CERTIFICATE-----
MIIBbDCCARKgAwIBAgIUbZerxYCR5iibB+y27bW3zKudADMwCgYIKoZIzj0EAwIw
DTELMAkGA1UEAwwCazEwHhcNMjYxMjA2MDA0NDAxWhcNMzYxMjAzMDA0NDAxWjAN
MQswCQYDVQQDDAJrMTBWMBAGByqGSM49AgEGBSuBBAAKA0IABHiEAnwt2ZNBamNy
3O9x/8nv1QLuRyg9Q+Ntxigk3XtYDOy/CG0uwGfAbR1IlA0k+b1LWdrvIHo5XZB5
jN/qCy6jUzBRMB0GA1UdDgQWBBRXqnoRuT9+p742G8M209Em/xSenDAfBgNVHSME
GDAWgBRXqnoRuT9+p742G8M209Em/xSenDAPBgNVHRMBAf8EBTADAQH/MAoGCCqG
SM49BAMCA0gAMEUCIFL+ft3wwg3qvsDFDbyQ4LPZ5TUeFMjCmZbvfNbR4wDGAiEA
sYICMoX97a0eFAa1NxWYB/tIOIKBPRIOzUpRzdrK1kk=
-----END CERTIFICATE-----
`
