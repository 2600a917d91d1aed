package acmeserver

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v3"

	"github.com/certctl/certctl/pkg/acmestate"
)

// TestParseJWSStructureMatrix is the structural part of Boulder's JWS
// verifier matrix: only the flattened serialization with a protected
// header, a payload and a signature is accepted.
func TestParseJWSStructureMatrix(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	prot := b64(`{"alg":"ES256","nonce":"n","url":"https://x/new-order","kid":"https://x/acct/1"}`)
	cases := []struct {
		name, body string
		ok         bool
	}{
		{"flattened", `{"protected":"` + prot + `","payload":"` + b64(`{}`) + `","signature":"c2ln"}`, true},
		{"post-as-get", `{"protected":"` + prot + `","payload":"","signature":"c2ln"}`, true},
		{"unprotected header", `{"protected":"` + prot + `","header":{"kid":"x"},"payload":"","signature":"c2ln"}`, false},
		{"signatures array", `{"payload":"","signatures":[{"protected":"` + prot + `","signature":"c2ln"}]}`, false},
		{"signatures array beside flattened", `{"protected":"` + prot + `","payload":"","signature":"c2ln","signatures":[]}`, false},
		{"compact", `"` + prot + `..c2ln"`, false},
		{"no payload", `{"protected":"` + prot + `","signature":"c2ln"}`, false},
		{"no signature", `{"protected":"` + prot + `","payload":""}`, false},
		{"no protected", `{"payload":"","signature":"c2ln"}`, false},
		{"protected not base64url", `{"protected":"%%%","payload":"","signature":"c2ln"}`, false},
		{"protected not an object", `{"protected":"` + b64(`[1]`) + `","payload":"","signature":"c2ln"}`, false},
		{"not JSON", `protected=1`, false},
	}
	for _, c := range cases {
		_, _, prob := parseJWS([]byte(c.body))
		if (prob == nil) != c.ok {
			t.Errorf("%s: problem %v, want ok=%v", c.name, prob, c.ok)
			continue
		}
		if prob != nil && !strings.HasSuffix(prob.Type, ":malformed") && !strings.HasSuffix(prob.Type, ":badSignatureAlgorithm") {
			t.Errorf("%s: problem type %q, want malformed", c.name, prob.Type)
		}
	}
}

// TestParseJWSKeyOffCurve: a jwk that is no public key (a point off its
// curve) is badPublicKey (RFC 8555 6.7; Boulder), not an unparsable JWS
// (tester); a jwk that is one, in a JWS that does not parse, is malformed.
func TestParseJWSKeyOffCurve(t *testing.T) {
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	coord := b64(strings.Repeat("\x01", 32))
	for _, c := range []struct {
		name, jwk, sig, want string
	}{
		{"off curve", `{"kty":"EC","crv":"P-256","x":"` + coord + `","y":"` + coord + `"}`, "c2ln", ":badPublicKey"},
		{"on curve, JWS unparsable", `{"kty":"EC","crv":"P-256","x":"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4","y":"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"}`, "%%", ":malformed"},
	} {
		prot := b64(`{"alg":"ES256","nonce":"n","url":"https://x/new-account","jwk":` + c.jwk + `}`)
		body := `{"protected":"` + prot + `","payload":"` + b64(`{}`) + `","signature":"` + c.sig + `"}`
		_, _, prob := parseJWS([]byte(body))
		if prob == nil || !strings.HasSuffix(prob.Type, c.want) {
			t.Errorf("%s: problem %+v, want %s", c.name, prob, c.want)
		}
	}
}

// TestCheckAccountKeyRSAExponent: an RSA account key's exponent is 65537,
// as Boulder's key policy has it (tester: e=3 was taken).
func TestCheckAccountKeyRSAExponent(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if p := checkAccountKey(&jose.JSONWebKey{Key: &k.PublicKey}); p != nil {
		t.Fatalf("65537: %+v", p)
	}
	small := k.PublicKey
	small.E = 3
	if p := checkAccountKey(&jose.JSONWebKey{Key: &small}); p == nil || !strings.HasSuffix(p.Type, ":badPublicKey") {
		t.Fatalf("e=3: %+v, want badPublicKey", p)
	}
}

// TestCheckParsedCSRRSAExponent: a CSR's RSA key too has the exponent
// 65537 (review: e=3 was issued).
func TestCheckParsedCSRRSAExponent(t *testing.T) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	small := k.PublicKey
	small.E = 3
	csr := &x509.CertificateRequest{PublicKey: &small, DNSNames: []string{"lab.test"}}
	o := &acmestate.Order{Identifiers: []acmestate.Identifier{{Type: "dns", Value: "lab.test"}}}
	ep := &acmestate.Endpoint{AllowedKeyAlgorithms: []string{"RSA_2048"}}
	if _, p := checkParsedCSR(csr, o, ep, nil); p == nil || !strings.HasSuffix(p.Type, ":badCSR") || !strings.Contains(p.Detail, "65537") {
		t.Fatalf("e=3: %+v, want badCSR", p)
	}
}
