package pemio

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"go.step.sm/crypto/pemutil"
)

func pemBlock(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func mustPKCS8(t *testing.T, k any) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func samePublic(t *testing.T, got crypto.Signer, want crypto.PublicKey) {
	t.Helper()
	if !got.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(want) {
		t.Fatalf("parsed key's public key differs from the original")
	}
}

func wantRule(t *testing.T, err error, rule string) *Error {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) {
		t.Fatalf("error = %v (%T), want *Error with rule %q", err, err, rule)
	}
	if pe.Rule != rule {
		t.Fatalf("rule = %q, want %q (error %v)", pe.Rule, rule, err)
	}
	return pe
}

func TestParsePrivateKeyPEMFormats(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := newECKey(t)
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	ecDER, _ := x509.MarshalECPrivateKey(ecKey)
	p384DER, _ := x509.MarshalECPrivateKey(p384)
	ecParams := pemBlock("EC PARAMETERS", []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07})

	tests := []struct {
		name string
		data []byte
		want crypto.PublicKey
	}{
		{"PKCS1 RSA", pemBlock("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(rsaKey)), rsaKey.Public()},
		{"PKCS8 RSA", pemBlock("PRIVATE KEY", mustPKCS8(t, rsaKey)), rsaKey.Public()},
		{"SEC1 EC", pemBlock("EC PRIVATE KEY", ecDER), ecKey.Public()},
		{"SEC1 EC P-384 with parameters block", append(ecParams, pemBlock("EC PRIVATE KEY", p384DER)...), p384.Public()},
		{"PKCS8 EC", pemBlock("PRIVATE KEY", mustPKCS8(t, ecKey)), ecKey.Public()},
		{"text around the block", append(append([]byte("Key attributes\n"), pemBlock("PRIVATE KEY", mustPKCS8(t, ecKey))...), "trailer\n"...), ecKey.Public()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePrivateKeyPEM(tt.data, nil)
			if err != nil {
				t.Fatal(err)
			}
			samePublic(t, got, tt.want)
			// A passphrase for an unencrypted key is ignored.
			if _, err := ParsePrivateKeyPEM(tt.data, []byte("unused")); err != nil {
				t.Fatalf("with passphrase: %v", err)
			}
		})
	}
}

func TestParsePrivateKeyPEMErrors(t *testing.T) {
	ecKey := newECKey(t)
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	pk8 := mustPKCS8(t, ecKey)
	cert := newCert(t, "x.test", false, ecKey, nil, nil)
	good := pemBlock("PRIVATE KEY", pk8)

	tests := []struct {
		name    string
		data    []byte
		rule    string
		contain string
	}{
		{"empty", nil, RuleEmptyFile, ""},
		{"whitespace", []byte(" \n\t\n"), RuleEmptyFile, ""},
		{"DER", pk8, RulePrivateKeyNotPEM, "openssl pkey -inform der"},
		{"garbage", []byte("hello world"), RulePrivateKeyNotPEM, "no PEM block"},
		{"ed25519", pemBlock("PRIVATE KEY", mustPKCS8(t, edKey)), RuleUnsupportedKey, "Ed25519"},
		{"two keys", append(append([]byte{}, good...), good...), RuleMultiplePrivateKeys, ""},
		{"certificate in key file", append(append([]byte{}, good...), pemBlock("CERTIFICATE", cert.Raw)...), RuleUnexpectedBlock + " CERTIFICATE", ""},
		{"only a certificate", pemBlock("CERTIFICATE", cert.Raw), RuleUnexpectedBlock + " CERTIFICATE", ""},
		{"only parameters", pemBlock("EC PARAMETERS", []byte{6, 1, 1}), RuleNoPrivateKey, ""},
		{"truncated", good[:len(good)-30], RuleMalformedPEM, ""},
		{"corrupt DER", pemBlock("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), RuleInvalidPrivateKey, ""},
		{"openssh", pemBlock("OPENSSH PRIVATE KEY", []byte("openssh-key-v1")), RuleUnsupportedKey, "ssh-keygen"},
		// PKCS #8 keys crypto/x509 does not read are named, not called
		// malformed.
		{"DSA", pemBlock("PRIVATE KEY", otherPKCS8(t, asn1.ObjectIdentifier{1, 2, 840, 10040, 4, 1}, nil, []byte{2, 1, 7})), RuleUnsupportedKey, "DSA keys are not supported"},
		{"RSA-PSS", pemBlock("PRIVATE KEY", otherPKCS8(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}, nil, []byte{2, 1, 7})), RuleUnsupportedKey, "RSA-PSS keys are not supported"},
		{"unknown algorithm", pemBlock("PRIVATE KEY", otherPKCS8(t, asn1.ObjectIdentifier{1, 2, 3, 4}, nil, []byte{2, 1, 7})), RuleUnsupportedKey, "keys of algorithm 1.2.3.4 are not supported"},
		// A damaged key of an algorithm crypto/x509 reads is damaged,
		// not of an unsupported algorithm (security tester: an RSA key
		// with a byte changed was "keys of algorithm 1.2.840.113549.1.1.1
		// are not supported; use RSA or ECDSA").
		{"damaged RSA", pemBlock("PRIVATE KEY", otherPKCS8(t, asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}, nil, []byte{2, 1, 7})), RuleInvalidPrivateKey, "the RSA private key is damaged"},
		{"damaged EC", pemBlock("PRIVATE KEY", otherPKCS8(t, asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}, []byte{2, 1, 7})), RuleInvalidPrivateKey, "the EC private key is damaged"},
		{"secp256k1", pemBlock("PRIVATE KEY", otherPKCS8(t, asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}, asn1.ObjectIdentifier{1, 3, 132, 0, 10},
			mustDER(asn1.Marshal(struct {
				Version    int
				PrivateKey []byte
			}{1, bytes.Repeat([]byte{7}, 32)})))), RuleUnsupportedKey, "its elliptic curve is not supported"},
		// A P-256 key whose curve is written out (openssl ec -param_enc
		// explicit): refused, with how to name it (tester).
		{"explicit P-256, SEC 1", []byte(explicitP256SEC1), RuleUnsupportedKey, "given by explicit parameters, not by name; name it (openssl ec -in KEY -param_enc named_curve"},
		{"explicit P-256, PKCS #8", []byte(explicitP256PKCS8), RuleUnsupportedKey, "given by explicit parameters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParsePrivateKeyPEM(tt.data, nil)
			wantRule(t, err, tt.rule)
			if !strings.Contains(err.Error(), tt.contain) {
				t.Fatalf("error %q does not contain %q", err, tt.contain)
			}
			if errors.Is(err, ErrEncryptedKey) {
				t.Fatalf("error %v must not be ErrEncryptedKey", err)
			}
		})
	}
}

func TestEncryptedPKCS8(t *testing.T) {
	key := newECKey(t)
	pass := []byte("correct horse battery staple")
	enc, err := EncodeEncryptedPKCS8(key, pass)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(enc, []byte("-----BEGIN ENCRYPTED PRIVATE KEY-----")) {
		t.Fatalf("not an ENCRYPTED PRIVATE KEY block:\n%s", enc)
	}
	got, err := ParsePrivateKeyPEM(enc, pass)
	if err != nil {
		t.Fatal(err)
	}
	samePublic(t, got, key.Public())

	_, err = ParsePrivateKeyPEM(enc, nil)
	pe := wantRule(t, err, RuleEncryptedKey)
	if !errors.Is(err, ErrEncryptedKey) || !strings.Contains(pe.Error(), "--private-key-passphrase-file") {
		t.Fatalf("error %v: want ErrEncryptedKey mentioning --private-key-passphrase-file", err)
	}

	_, err = ParsePrivateKeyPEM(enc, []byte("wrong"))
	wantRule(t, err, RuleIncorrectPassphrase)
	if !errors.Is(err, ErrIncorrectPassphrase) {
		t.Fatalf("error %v is not ErrIncorrectPassphrase", err)
	}
	if strings.Contains(err.Error(), "wrong") || strings.Contains(err.Error(), string(pass)) {
		t.Fatalf("error %q leaks a passphrase", err)
	}

	// A correctly decrypted key of an unsupported type says so.
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	block, err := pemutil.EncryptPKCS8PrivateKey(rand.Reader, mustPKCS8(t, edKey), pass, x509.PEMCipherAES256)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ParsePrivateKeyPEM(pem.EncodeToMemory(block), pass)
	wantRule(t, err, RuleUnsupportedKey)

	if _, err := EncodeEncryptedPKCS8(key, nil); err == nil {
		t.Fatal("empty passphrase accepted")
	}
}

// rewritePBKDF2 re-encodes an encrypted PKCS #8 block with its PBKDF2
// iteration count or PRF replaced.
func rewritePBKDF2(t *testing.T, encPEM []byte, edit func(*pbkdf2Params)) []byte {
	t.Helper()
	b, _ := pem.Decode(encPEM)
	var info encryptedPrivateKeyInfo
	if _, err := asn1.Unmarshal(b.Bytes, &info); err != nil {
		t.Fatal(err)
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		t.Fatal(err)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		t.Fatal(err)
	}
	edit(&kdf)
	mustRaw := func(v any) asn1.RawValue {
		der, err := asn1.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return asn1.RawValue{FullBytes: der}
	}
	params.KeyDerivationFunc.Parameters = mustRaw(kdf)
	info.Algorithm.Parameters = mustRaw(params)
	der, err := asn1.Marshal(info)
	if err != nil {
		t.Fatal(err)
	}
	return pemBlock("ENCRYPTED PRIVATE KEY", der)
}

func TestEncryptedPKCS8Limits(t *testing.T) {
	key := newECKey(t)
	pass := []byte("pw")
	enc, err := EncodeEncryptedPKCS8(key, pass)
	if err != nil {
		t.Fatal(err)
	}
	// The rewrite itself must preserve a decryptable key.
	same := rewritePBKDF2(t, enc, func(*pbkdf2Params) {})
	if _, err := ParsePrivateKeyPEM(same, pass); err != nil {
		t.Fatalf("re-encoded key: %v", err)
	}
	huge := rewritePBKDF2(t, enc, func(k *pbkdf2Params) { k.IterationCount = 1 << 30 })
	_, err = ParsePrivateKeyPEM(huge, pass)
	wantRule(t, err, RuleUnsupportedEncryption)

	sha512 := rewritePBKDF2(t, enc, func(k *pbkdf2Params) {
		k.PRF.Algorithm = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	})
	_, err = ParsePrivateKeyPEM(sha512, pass)
	wantRule(t, err, RuleUnsupportedEncryption)
	// Without a passphrase the key is still reported as encrypted.
	_, err = ParsePrivateKeyPEM(sha512, nil)
	if !errors.Is(err, ErrEncryptedKey) {
		t.Fatalf("error %v, want ErrEncryptedKey", err)
	}
}

func TestLegacyEncryptedPEM(t *testing.T) {
	key := newECKey(t)
	der, _ := x509.MarshalECPrivateKey(key)
	pass := []byte("legacy-pass")
	//lint:ignore SA1019 legacy encrypted PEM is an input format certctl must read.
	block, err := x509.EncryptPEMBlock(rand.Reader, "EC PRIVATE KEY", der, pass, x509.PEMCipherAES256) //nolint:staticcheck
	if err != nil {
		t.Fatal(err)
	}
	data := pem.EncodeToMemory(block)
	got, err := ParsePrivateKeyPEM(data, pass)
	if err != nil {
		t.Fatal(err)
	}
	samePublic(t, got, key.Public())
	if _, err := ParsePrivateKeyPEM(data, nil); !errors.Is(err, ErrEncryptedKey) {
		t.Fatalf("error %v, want ErrEncryptedKey", err)
	}
	if _, err := ParsePrivateKeyPEM(data, []byte("nope")); !errors.Is(err, ErrIncorrectPassphrase) {
		t.Fatalf("error %v, want ErrIncorrectPassphrase", err)
	}
}

func TestEncodePKCS8RoundTrip(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []crypto.Signer{rsaKey, newECKey(t)} {
		data, err := EncodePKCS8(k)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(data, []byte("-----BEGIN PRIVATE KEY-----\n")) {
			t.Fatalf("unexpected PEM:\n%s", data)
		}
		got, err := ParsePrivateKeyPEM(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		samePublic(t, got, k.Public())
	}
}

// otherPKCS8 is a PKCS #8 key of algorithm oid (with parameters params, an
// OID, when not nil) holding key.
func otherPKCS8(t *testing.T, oid, params asn1.ObjectIdentifier, key []byte) []byte {
	t.Helper()
	alg := pkix.AlgorithmIdentifier{Algorithm: oid}
	if params != nil {
		alg.Parameters.FullBytes = mustDER(asn1.Marshal(params))
	}
	der, err := asn1.Marshal(struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, alg, key})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func mustDER(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// explicitP256SEC1 is a P-256 key with its curve as explicit parameters
// (openssl ecparam -name prime256v1 -genkey | openssl ec -param_enc
// explicit); explicitP256PKCS8 the same key as PKCS #8 (openssl pkcs8
// -topk8 -nocrypt). Test keys, of nothing.
const explicitP256SEC1 = `-----BEGIN EC PRIVATE KEY-----
MIIBaAIBAQQgT7rEjYPbAjzENv/Ebk6RayjUBLYzyi8+eRZMy0DxHWOggfowgfcC
AQEwLAYHKoZIzj0BAQIhAP////8AAAABAAAAAAAAAAAAAAAA////////////////
MFsEIP////8AAAABAAAAAAAAAAAAAAAA///////////////8BCBaxjXYqjqT57Pr
vVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMVAMSdNgiG5wSTamZ44ROdJreBn36QBEEE
axfR8uEsQkf4vOblY6RA8ncDfYEt6zOg9KE5RdiYwpZP40Li/hp/m47n60p8D54W
K84zV2sxXs7LtkBoN79R9QIhAP////8AAAAA//////////+85vqtpxeehPO5ysL8
YyVRAgEBoUQDQgAEW3wq1HAyDxxRfGtoA1wdstYCZlVfTUgVsAPnLLLT3VmjBK1r
+x2dXro0WDLJtXQScRLPWc2M/qLpYHsBZtpAzA==
-----END EC PRIVATE KEY-----
`

const explicitP256PKCS8 = `-----BEGIN PRIVATE KEY-----
MIIBeQIBADCCAQMGByqGSM49AgEwgfcCAQEwLAYHKoZIzj0BAQIhAP////8AAAAB
AAAAAAAAAAAAAAAA////////////////MFsEIP////8AAAABAAAAAAAAAAAAAAAA
///////////////8BCBaxjXYqjqT57PrvVV2mIa8ZR0GsMxTsPY7zjw+J9JgSwMV
AMSdNgiG5wSTamZ44ROdJreBn36QBEEEaxfR8uEsQkf4vOblY6RA8ncDfYEt6zOg
9KE5RdiYwpZP40Li/hp/m47n60p8D54WK84zV2sxXs7LtkBoN79R9QIhAP////8A
AAAA//////////+85vqtpxeehPO5ysL8YyVRAgEBBG0wawIBAQQgT7rEjYPbAjzE
Nv/Ebk6RayjUBLYzyi8+eRZMy0DxHWOhRANCAARbfCrUcDIPHFF8a2gDXB2y1gJm
VV9NSBWwA+csstPdWaMErWv7HZ1eujRYMsm1dBJxEs9ZzYz+oulgewFm2kDM
-----END PRIVATE KEY-----
`
