package pemio

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	pkcs12 "software.sslmate.com/src/go-pkcs12"
)

// requireOpenSSL returns the openssl binary or skips the test; with
// CERTCTL_REQUIRE_INTEROP=1 a missing openssl fails the test instead.
func requireOpenSSL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("openssl")
	if err != nil {
		if os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" {
			t.Fatal("openssl not found on PATH and CERTCTL_REQUIRE_INTEROP=1")
		}
		t.Skip("openssl not found on PATH")
	}
	return path
}

func runOpenSSL(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func publicPEM(t *testing.T, pub crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("PUBLIC KEY", der)
}

func TestOpenSSLReadsEncryptedPKCS8(t *testing.T) {
	bin := requireOpenSSL(t)
	dir := t.TempDir()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// The passphrase file ends with a newline, which openssl strips too.
	passFile := writeFile(t, dir, "pass", []byte("s3cret phrase\n"))
	pass := []byte("s3cret phrase")
	for i, key := range []crypto.Signer{rsaKey, newECKey(t)} {
		enc, err := EncodeEncryptedPKCS8(key, pass)
		if err != nil {
			t.Fatal(err)
		}
		keyFile := writeFile(t, dir, "key.pem", enc)
		out := runOpenSSL(t, bin, "pkey", "-passin", "file:"+passFile, "-in", keyFile, "-pubout")
		if want := publicPEM(t, key.Public()); !bytes.Equal(out, want) {
			t.Fatalf("key %d: openssl public key\n%s\nwant\n%s", i, out, want)
		}
		// openssl agrees the key is PBES2 / AES-256-CBC / HMAC-SHA256.
		asn := runOpenSSL(t, bin, "asn1parse", "-in", keyFile)
		for _, want := range []string{"PBES2", "PBKDF2", "aes-256-cbc", "hmacWithSHA256"} {
			if !bytes.Contains(asn, []byte(want)) {
				t.Fatalf("asn1parse output lacks %q:\n%s", want, asn)
			}
		}
	}
}

func TestParseOpenSSLKeys(t *testing.T) {
	bin := requireOpenSSL(t)
	dir := t.TempDir()
	passFile := writeFile(t, dir, "pass", []byte("pw-123\n"))
	pass := []byte("pw-123")
	plain := filepath.Join(dir, "plain.pem")
	runOpenSSL(t, bin, "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", plain)
	plainData, _ := os.ReadFile(plain)
	want, err := ParsePrivateKeyPEM(plainData, nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		rule string // expected rule with the right passphrase; "" = success
	}{
		{"pkcs8 aes256", []string{"pkcs8", "-topk8", "-v2", "aes-256-cbc"}, ""},
		{"pkcs8 aes128 sha1 prf", []string{"pkcs8", "-topk8", "-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"}, ""},
		{"pkcs8 sha512 prf", []string{"pkcs8", "-topk8", "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512"}, RuleUnsupportedEncryption},
		{"pkcs8 scrypt", []string{"pkcs8", "-topk8", "-scrypt"}, RuleUnsupportedEncryption},
		{"legacy sec1 aes256", []string{"ec", "-aes256"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(dir, "enc.pem")
			args := append(append([]string{}, c.args...), "-in", plain, "-out", out, "-passout", "file:"+passFile)
			runOpenSSL(t, bin, args...)
			data, _ := os.ReadFile(out)
			if _, err := ParsePrivateKeyPEM(data, nil); err == nil || !strings.Contains(err.Error(), "--private-key-passphrase-file") {
				t.Fatalf("without passphrase: %v", err)
			}
			got, err := ParsePrivateKeyPEM(data, pass)
			if c.rule != "" {
				wantRule(t, err, c.rule)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			samePublic(t, got, want.Public())
			if _, err := ParsePrivateKeyPEM(data, []byte("pw-124")); err == nil {
				t.Fatal("wrong passphrase accepted")
			}
		})
	}
}

func TestPKCS12(t *testing.T) {
	p := newPKI(t)
	p12, err := EncodePKCS12(p.leafKey, p.leaf, []*x509.Certificate{p.inter, p.root}, "p12-pass")
	if err != nil {
		t.Fatal(err)
	}
	key, leaf, chain, err := pkcs12.DecodeChain(p12, "p12-pass")
	if err != nil {
		t.Fatal(err)
	}
	if !leaf.Equal(p.leaf) {
		t.Fatal("leaf differs after PKCS #12 round trip")
	}
	sameCerts(t, chain, []*x509.Certificate{p.inter, p.root})
	samePublic(t, key.(crypto.Signer), p.leafKey.Public())
	if _, _, _, err := pkcs12.DecodeChain(p12, "wrong"); err == nil {
		t.Fatal("wrong PKCS #12 password accepted")
	}
	if _, err := EncodePKCS12(p.leafKey, p.leaf, nil, ""); err == nil {
		t.Fatal("empty PKCS #12 passphrase accepted")
	}
	// Given where PEM is read, it is named, with how to convert it
	// (tester: "no PEM block found").
	for what, parse := range map[string]func([]byte) error{
		"certificate": func(b []byte) error { _, err := ParseCertificatesPEM(b); return err },
		"private key": func(b []byte) error { _, err := ParsePrivateKeyPEM(b, nil); return err },
		"bundle":      func(b []byte) error { _, err := SplitBundle(b); return err },
	} {
		if err := parse(p12); err == nil || !strings.Contains(err.Error(), "PKCS #12") || !strings.Contains(err.Error(), "openssl pkcs12 -in FILE -nodes") {
			t.Errorf("a PKCS #12 file read as a %s: %v", what, err)
		}
	}
	if isPKCS12(p.leaf.Raw) {
		t.Error("a DER certificate taken for PKCS #12")
	}

	bin := requireOpenSSL(t)
	dir := t.TempDir()
	file := writeFile(t, dir, "f.p12", p12)
	passFile := writeFile(t, dir, "pass", []byte("p12-pass\n"))
	out := runOpenSSL(t, bin, "pkcs12", "-in", file, "-passin", "file:"+passFile, "-nodes")
	var gotCerts, gotKeys int
	for rest := out; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			gotCerts++
		case "PRIVATE KEY":
			gotKeys++
			k, err := ParsePrivateKeyPEM(pem.EncodeToMemory(b), nil)
			if err != nil {
				t.Fatal(err)
			}
			samePublic(t, k, p.leafKey.Public())
		}
	}
	if gotCerts != 3 || gotKeys != 1 {
		t.Fatalf("openssl pkcs12 printed %d certificates and %d keys, want 3 and 1:\n%s", gotCerts, gotKeys, out)
	}
}
