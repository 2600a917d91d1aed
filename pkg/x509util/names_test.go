package x509util

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"math/big"
	"slices"
	"testing"
)

func TestKeyAlgorithmOf(t *testing.T) {
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	tests := []struct {
		pub     crypto.PublicKey
		want    string
		wantErr bool
	}{
		{rsaKey(t, 1024).Public(), RSA1024, false},
		{rsaKey(t, 2048).Public(), RSA2048, false},
		{rsaKey(t, 3072).Public(), RSA3072, false},
		{ecKey(t, elliptic.P256()).Public(), ECPrime256v1, false},
		{ecKey(t, elliptic.P384()).Public(), ECSecp384r1, false},
		{ecKey(t, elliptic.P521()).Public(), ECSecp521r1, false},
		{&rsa.PublicKey{N: new(big.Int).Lsh(big.NewInt(1), 4095), E: 65537}, RSA4096, false},
		{rsaKey(t, 1536).Public(), "", true},
		{ed.Public(), "", true},
		{ecKey(t, elliptic.P224()).Public(), "", true},
		{nil, "", true},
		{(*rsa.PublicKey)(nil), "", true},
		{(*ecdsa.PublicKey)(nil), "", true},
	}
	for _, tt := range tests {
		got, err := KeyAlgorithmOf(tt.pub)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("KeyAlgorithmOf(%T) = %q, %v; want %q (error %v)", tt.pub, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestKeyAlgorithmLists(t *testing.T) {
	if len(ImportKeyAlgorithms) != 7 || len(RequestKeyAlgorithms) != 3 || RequestKeyAlgorithms[0] != RSA2048 {
		t.Fatalf("lists: %v / %v", ImportKeyAlgorithms, RequestKeyAlgorithms)
	}
	for _, a := range RequestKeyAlgorithms {
		if !IsKeyAlgorithm(a) {
			t.Errorf("request algorithm %s is not an import algorithm", a)
		}
	}
	if IsKeyAlgorithm("RSA_8192") || IsKeyAlgorithm("rsa_2048") {
		t.Error("IsKeyAlgorithm accepts an unknown name")
	}
}

func TestGenerateKey(t *testing.T) {
	// RSA_4096 is left out to keep the test fast; it takes the same path.
	for _, alg := range []string{RSA2048, RSA3072, ECPrime256v1, ECSecp384r1, ECSecp521r1} {
		k, err := GenerateKey(alg)
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if got, err := KeyAlgorithmOf(k.Public()); err != nil || got != alg {
			t.Fatalf("GenerateKey(%s) made a %s key (%v)", alg, got, err)
		}
	}
	for _, alg := range []string{RSA1024, "RSA_8192", "", "ec_prime256v1"} {
		if _, err := GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q) succeeded", alg)
		}
	}
}

func TestSignatureAlgorithmName(t *testing.T) {
	tests := map[x509.SignatureAlgorithm]string{
		x509.SHA256WithRSA:             "SHA256WITHRSA",
		x509.SHA384WithRSA:             "SHA384WITHRSA",
		x509.SHA512WithRSA:             "SHA512WITHRSA",
		x509.ECDSAWithSHA256:           "SHA256WITHECDSA",
		x509.ECDSAWithSHA384:           "SHA384WITHECDSA",
		x509.ECDSAWithSHA512:           "SHA512WITHECDSA",
		x509.SHA256WithRSAPSS:          "SHA256WITHRSAPSS",
		x509.SHA512WithRSAPSS:          "SHA512WITHRSAPSS",
		x509.SHA1WithRSA:               "SHA1WITHRSA",
		x509.PureEd25519:               "ED25519",
		x509.UnknownSignatureAlgorithm: "UNKNOWN",
	}
	for alg, want := range tests {
		if got := SignatureAlgorithmName(alg); got != want {
			t.Errorf("SignatureAlgorithmName(%v) = %q, want %q", alg, got, want)
		}
	}
	// The name of a real certificate's algorithm.
	ca := newTestCA(t)
	if got := SignatureAlgorithmName(ca.inter.SignatureAlgorithm); got != "SHA256WITHECDSA" {
		t.Errorf("intermediate signed with %q", got)
	}
}

func TestKeyUsageNames(t *testing.T) {
	tests := []struct {
		ku   x509.KeyUsage
		want []string
	}{
		{0, []string{}},
		{x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, []string{"DIGITAL_SIGNATURE", "KEY_ENCIPHERMENT"}},
		{x509.KeyUsageCRLSign | x509.KeyUsageCertSign, []string{"CERTIFICATE_SIGNING", "CRL_SIGNING"}},
		{x509.KeyUsageContentCommitment | x509.KeyUsageDecipherOnly | x509.KeyUsageEncipherOnly, []string{"NON_REPUDIATION", "ENCIPHER_ONLY", "DECIPHER_ONLY"}},
		{1<<9 - 1, AllKeyUsageNames},
	}
	for _, tt := range tests {
		got := KeyUsageNames(tt.ku)
		if got == nil || !slices.Equal(got, tt.want) {
			t.Errorf("KeyUsageNames(%b) = %q, want %q", tt.ku, got, tt.want)
		}
	}
	if len(AllKeyUsageNames) != 9 || !IsKeyUsageName("DATA_ENCIPHERMENT") || IsKeyUsageName("NONE") {
		t.Errorf("AllKeyUsageNames = %q", AllKeyUsageNames)
	}
}

func TestExtKeyUsages(t *testing.T) {
	ca := newTestCA(t)
	k := ecKey(t, elliptic.P256())
	custom := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}
	c := ca.leaf(t, "e.test", k,
		withEKU(x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageOCSPSigning,
			x509.ExtKeyUsageIPSECUser, x509.ExtKeyUsageAny, x509.ExtKeyUsageMicrosoftServerGatedCrypto),
		withUnknownEKU(custom))
	want := []EKU{
		{"TLS_WEB_CLIENT_AUTHENTICATION", "1.3.6.1.5.5.7.3.2"},
		{"TLS_WEB_SERVER_AUTHENTICATION", "1.3.6.1.5.5.7.3.1"},
		{"OCSP_SIGNING", "1.3.6.1.5.5.7.3.9"},
		{"IPSEC_USER", "1.3.6.1.5.5.7.3.7"},
		{"ANY", "2.5.29.37.0"},
		{"CUSTOM", "1.3.6.1.4.1.311.10.3.3"},
		{"CUSTOM", "1.3.6.1.4.1.99999.7"},
	}
	if got := ExtKeyUsages(c); !slices.Equal(got, want) {
		t.Fatalf("ExtKeyUsages = %v\nwant %v", got, want)
	}
	none := ca.leaf(t, "n.test", k, withEKU())
	if got := ExtKeyUsages(none); got == nil || len(got) != 0 {
		t.Fatalf("no EKU extension: %v", got)
	}
	// Every named OID is what x509 itself encodes for that usage.
	for u, e := range knownEKUs {
		cert := ca.leaf(t, "o.test", k, withEKU(u))
		for _, ext := range cert.Extensions {
			if ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 37}) {
				var oids []asn1.ObjectIdentifier
				if _, err := asn1.Unmarshal(ext.Value, &oids); err != nil || len(oids) != 1 || oids[0].String() != e.OID {
					t.Errorf("%s: encoded %v, table says %s", e.Name, oids, e.OID)
				}
			}
		}
	}
	if !IsExtKeyUsageName("NONE") || IsExtKeyUsageName("SERVER_AUTH") {
		t.Error("IsExtKeyUsageName")
	}
}

func TestFormatName(t *testing.T) {
	ca := newTestCA(t)
	k := ecKey(t, elliptic.P256())
	emailOID := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	c := ca.leaf(t, "x", k, func(c *x509.Certificate) {
		c.Subject = pkix.Name{
			Country:            []string{"US"},
			Organization:       []string{"Example, Inc."},
			OrganizationalUnit: []string{"Ops"},
			CommonName:         "www.example.test",
			ExtraNames:         []pkix.AttributeTypeAndValue{{Type: emailOID, Value: "ops@example.test"}},
		}
	})
	tests := []struct {
		name pkix.Name
		want string
	}{
		{pkix.Name{CommonName: "www.example.test"}, "CN=www.example.test"},
		{pkix.Name{CommonName: "a", Organization: []string{"O"}, Country: []string{"DE"}}, "CN=a,O=O,C=DE"},
		{c.Subject, "CN=www.example.test,OU=Ops,O=Example\\, Inc.,C=US,EMAILADDRESS=ops@example.test"},
		{ca.root.Subject, "CN=Test Root,O=certctl tests"},
		{pkix.Name{CommonName: " #lead+trail "}, `CN=\ #lead\+trail\ `},
		{pkix.Name{CommonName: "#x;<y>"}, `CN=\#x\;\<y\>`},
		{pkix.Name{}, ""},
	}
	for _, tt := range tests {
		if got := FormatName(tt.name); got != tt.want {
			t.Errorf("FormatName = %q, want %q", got, tt.want)
		}
	}
	// Without extra attribute types, the rendering is pkix.Name.String's.
	for _, n := range []pkix.Name{ca.root.Subject, ca.inter.Issuer, {CommonName: "a,b", Locality: []string{"L"}, SerialNumber: "42"}} {
		if got, want := FormatName(n), n.String(); got != want {
			t.Errorf("FormatName = %q, pkix says %q", got, want)
		}
	}
}

func TestSerialRoundTrip(t *testing.T) {
	tests := []struct {
		n    *big.Int
		want string
	}{
		{big.NewInt(0), "00"},
		{big.NewInt(10), "0a"},
		{big.NewInt(0x0a1b), "0a:1b"},
		{big.NewInt(0xff00), "ff:00"},
		{new(big.Int).SetBytes([]byte{0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 0xfe}),
			"80:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:fe"},
		{big.NewInt(-258), "-01:02"},
	}
	for _, tt := range tests {
		got := FormatSerial(tt.n)
		if got != tt.want {
			t.Errorf("FormatSerial(%v) = %q, want %q", tt.n, got, tt.want)
		}
		back, err := ParseSerial(got)
		if err != nil || back.Cmp(tt.n) != 0 {
			t.Errorf("ParseSerial(%q) = %v, %v; want %v", got, back, err, tt.n)
		}
	}
	if FormatSerial(nil) != "" {
		t.Error("FormatSerial(nil) is not empty")
	}
	// Random serials as certctl issues them.
	for range 100 {
		n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 159))
		if back, err := ParseSerial(FormatSerial(n)); err != nil || back.Cmp(n) != 0 {
			t.Fatalf("round trip of %x: %v, %v", n, back, err)
		}
	}
}

func TestParseSerial(t *testing.T) {
	want := big.NewInt(0x0a1b2c)
	// Vault PKI writes serials with hyphens (tester: refused).
	for _, s := range []string{"0a:1b:2c", "0A:1B:2C", "a:1b:2c", "0a1b2c", "0A1B2C", "a1b2c", "0x0a1b2c", " 0a:1b:2c\n", "0a-1b-2c", "0A-1B-2C"} {
		got, err := ParseSerial(s)
		if err != nil || got.Cmp(want) != 0 {
			t.Errorf("ParseSerial(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"", " ", "-", "0x", "0g", "0a::1b", "0a:1b:", ":0a", "0a1:b2", "0a:1b2", "zz", "12 34", "+0a", "0a-1b:2c", "0a--1b", "0a-1b-", "0a1-b2", string(make([]byte, 200))} {
		if got, err := ParseSerial(s); err == nil {
			t.Errorf("ParseSerial(%q) = %v, want error", s, got)
		}
	}
	long := make([]byte, 2*maxSerialOctets+2)
	for i := range long {
		long[i] = 'f'
	}
	if _, err := ParseSerial(string(long)); err == nil {
		t.Error("over-long serial accepted")
	}
}

func FuzzParseSerial(f *testing.F) {
	for _, s := range []string{"0a:1b:2c", "0A1B2C", "00", "-01:02", "0x1", "", "::", "a:b:c", "0a-1b-2c", "-0a-1b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSerial(s)
		if err != nil {
			return
		}
		back, err := ParseSerial(FormatSerial(n))
		if err != nil || back.Cmp(n) != 0 {
			t.Fatalf("%q → %v → %q → %v, %v", s, n, FormatSerial(n), back, err)
		}
	})
}

func TestSerialLabel(t *testing.T) {
	for _, c := range []struct {
		given string
		n     int64
		want  string
	}{
		{"00:11", 0x11, "00:11 (read as 11)"},
		{"0x11", 0x11, "0x11 (read as 11)"},
		{"11", 0x11, "11"},
		{" 0A:1B ", 0x0a1b, "0a:1b"},
		{"", 0x11, "11"},
	} {
		if got := SerialLabel(c.given, big.NewInt(c.n)); got != c.want {
			t.Errorf("SerialLabel(%q) = %q, want %q", c.given, got, c.want)
		}
	}
}
