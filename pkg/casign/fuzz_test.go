package casign

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func FuzzParseCSR(f *testing.F) {
	key := cachedKey(f, "EC_prime256v1", "csr")
	der := makeCSR(f, key, pkix.Name{CommonName: "fuzz.example.test"}, []string{"a.example.test"}, caTrueExtension(f))
	f.Add(der)
	f.Add(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}))
	f.Add([]byte("-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"))
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, in []byte) {
		csr, err := ParseCSR(in)
		if err != nil {
			if csr != nil {
				t.Fatal("CSR returned with an error")
			}
			return
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("ParseCSR accepted a CSR whose signature does not verify: %v", err)
		}
		// Whatever the request says, an end-entity template is never a CA,
		// and a CA template has the path length of its definition.
		for name, p := range profiles {
			tmpl, err := CSRTemplate(csr, name, mustSerial(t), Validity{testNow, testNow.AddDate(1, 0, 0)})
			if err != nil {
				continue
			}
			if tmpl.IsCA != p.ca || (p.ca && tmpl.MaxPathLen != p.pathLen) {
				t.Fatalf("%s: IsCA %v pathlen %d", name, tmpl.IsCA, tmpl.MaxPathLen)
			}
		}
	})
}

// FuzzCSRKeyProblem: csrKeyProblem reads any bytes without panicking (it
// reads what crypto/x509 would not parse).
func FuzzCSRKeyProblem(f *testing.F) {
	for _, name := range []string{"secp256k1.csr", "ed448.csr", "explicit-p256.csr", "brainpoolp256r1.csr"} {
		block, _ := pem.Decode(readTestdata(f, name))
		f.Add(block.Bytes)
	}
	f.Add(makeCSR(f, cachedKey(f, "EC_prime256v1", "csr"), pkix.Name{CommonName: "fuzz.example.test"}, nil))
	f.Fuzz(func(t *testing.T, in []byte) {
		if err := csrKeyProblem(in); err != nil && (err.Error() == "" || strings.HasPrefix(err.Error(), "ca: ")) {
			t.Fatalf("message %q", err)
		}
	})
}

func FuzzParseOCSPRequest(f *testing.F) {
	fx := newOCSPFixture(f, "EC_prime256v1", testNow)
	plain := newOCSPRequest(f, fx.good, fx.h.sub, crypto.SHA1)
	f.Add(plain)
	f.Add(newOCSPRequest(f, fx.revoked, fx.h.sub, crypto.SHA256))
	f.Add(withExtensions(f, plain, nonceExt(f, []byte("0123456789abcdef"))))
	f.Add(withExtensions(f, plain, pkix.Extension{Id: oidOCSPNonce, Value: []byte("raw-nonce")}))
	f.Add([]byte{0x30, 0x00})
	junk := rawDER(f, []byte("junk"))
	f.Add(withCertID(f, plain, func(v []asn1.RawValue) []asn1.RawValue { return append(v, junk) }))
	f.Fuzz(func(t *testing.T, in []byte) {
		req, err := parseOCSPRequest(in)
		if err != nil {
			return
		}
		if len(req.CertIDs) == 0 || len(req.CertIDs) > maxRequestsPerOCSPRequest {
			t.Fatalf("%d CertIDs accepted", len(req.CertIDs))
		}
		for _, id := range req.CertIDs {
			if id.Serial == nil || len(id.IssuerKeyHash) != id.Hash.Size() || len(id.IssuerNameHash) != id.Hash.Size() {
				t.Fatalf("inconsistent CertID %+v", id)
			}
			// What the response echoes is DER: its re-encoding is itself.
			var again certIDASN1
			if _, err := asn1.Unmarshal(id.Raw, &again); err != nil {
				t.Fatal(err)
			}
			if der, err := asn1.Marshal(again); err != nil || !bytes.Equal(der, id.Raw) {
				t.Fatalf("CertID %x accepted, its DER is %x", id.Raw, der)
			}
		}
		if req.Nonce != nil && !validNonce(req.Nonce.Value) {
			t.Fatal("invalid nonce accepted")
		}
		// The whole responder must answer, never panic.
		w := httptest.NewRecorder()
		fx.handler.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(in)))
		if w.Code != http.StatusOK {
			t.Fatalf("HTTP %d", w.Code)
		}
	})
}

func FuzzDecodeOCSPGet(f *testing.F) {
	f.Add("MEMwQTA/MD0wOzAJBgUrDgMCGgUABBQ")
	f.Add("AB//CD==")
	f.Add("-_-_")
	f.Add("MEMw\r\nQTA/MD0=")
	f.Add("MEMwQTA/MD0=====")
	f.Add("MEMwQTA/MD1=")
	f.Fuzz(func(t *testing.T, s string) {
		der, err := decodeOCSPGet(s)
		if err != nil {
			return
		}
		if len(der) > maxOCSPRequest {
			t.Fatalf("%d octets decoded", len(der))
		}
		// Whatever is decoded was spelt as a client encodes it: one of
		// two alphabets, padded or not, and nothing else (each spelling
		// is a URL under which a response is cached).
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if enc.EncodeToString(der) == s {
				return
			}
		}
		t.Fatalf("%q decoded to %x, which no encoder spells that way", s, der)
	})
}

// FuzzAPIPassthrough: no ApiPassthrough document panics the parser or Build;
// whatever Build accepts under the blank template is never a CA and never
// asserts keyCertSign.
func FuzzAPIPassthrough(f *testing.F) {
	key := cachedKey(f, "EC_prime256v1", "csr")
	csr, err := ParseCSR(makeCSR(f, key, pkix.Name{CommonName: "Fuzz Person"}, nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"Subject":{"CommonName":"Card","GivenName":"C"},"Extensions":{"KeyUsage":{"DigitalSignature":true},"ExtendedKeyUsage":[{"ExtendedKeyUsageType":"SMART_CARD_LOGIN"},{"ExtendedKeyUsageObjectIdentifier":"1.2.3"}],"SubjectAlternativeNames":[{"Rfc822Name":"a@example.test"},{"UniformResourceIdentifier":"spiffe://x.test/a"}],"CustomExtensions":[{"ObjectIdentifier":"1.2.3.4","Value":"DAVoZWxsbw==","Critical":true}],"CertificatePolicies":[{"CertPolicyId":"1.2.3.5","PolicyQualifiers":[{"PolicyQualifierId":"CPS","Qualifier":{"CpsUri":"https://x.test/cps"}}]}]}}`))
	f.Add([]byte(`{"Extensions":{"KeyUsage":{"KeyCertSign":true}}}`))
	f.Add([]byte(`{"Extensions":{"CustomExtensions":[{"ObjectIdentifier":"2.5.29.19","Value":"MAMBAf8="}]}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		p, err := ParseAPIPassthrough(in)
		if err != nil {
			return
		}
		tmpl, err := Build(Issue{CSR: csr, Template: PCABlankAPIPassthrough, Serial: mustSerial(t), Validity: Validity{testNow, testNow.AddDate(1, 0, 0)}, Passthrough: p, Verified: true})
		if err != nil {
			return
		}
		if tmpl.IsCA || tmpl.KeyUsage&x509.KeyUsageCertSign != 0 {
			t.Fatalf("passthrough %s made a CA template", in)
		}
		for _, e := range tmpl.ExtraExtensions {
			if e.Id.Equal(oidBC) {
				t.Fatalf("passthrough %s set basicConstraints", in)
			}
		}
	})
}

// FuzzTemplateName: CanonicalTemplate never panics and only returns names
// of the template table.
func FuzzTemplateName(f *testing.F) {
	for _, n := range TemplateNames {
		f.Add(n)
		f.Add(TemplateARN(n))
	}
	f.Add("arn:aws:acm-pca:::template/X/V1/")
	f.Add("EndEntityCertificate/v1")
	f.Add("SubordinateCACertificate_PathLen0_APIPassthrough")
	f.Add("BlankRootCACertificate_PathLen3_APICSRPassthrough")
	f.Fuzz(func(t *testing.T, in string) {
		n, err := CanonicalTemplate(in)
		if err != nil {
			return
		}
		if _, ok := profiles[n]; !ok {
			t.Fatalf("%q resolved to %q, not a template", in, n)
		}
	})
}

// TestAPIPassthroughSaysWhatWasWanted: a passthrough of the wrong shape is
// refused in JSON's words (pkg/jsonarg), not Go's.
func TestAPIPassthroughSaysWhatWasWanted(t *testing.T) {
	_, err := ParseAPIPassthrough([]byte(`{"Extensions":{"KeyUsage":"x"}}`))
	if err == nil || !strings.Contains(err.Error(), "API passthrough: Extensions.KeyUsage: want an object, not a string") {
		t.Errorf("%v", err)
	}
}

// FuzzReadCRLMeta: readCRLMeta never panics, and on a CRL crypto/x509
// parses it reads the same thisUpdate, nextUpdate and number.
func FuzzReadCRLMeta(f *testing.F) {
	h := newHierarchyAt(f, "EC_prime256v1", testNow)
	for _, n := range []int{0, 3} {
		var entries []x509.RevocationListEntry
		for i := range n {
			entries = append(entries, x509.RevocationListEntry{SerialNumber: big.NewInt(int64(i + 1)), RevocationTime: testNow})
		}
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(42), ThisUpdate: testNow,
			NextUpdate: testNow.Add(time.Hour), RevokedCertificateEntries: entries}, h.sub, h.subKey)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(der)
	}
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, der []byte) {
		m, ok := readCRLMeta(der)
		crl, err := x509.ParseRevocationList(der)
		if err != nil {
			return
		}
		if !ok {
			t.Fatalf("crypto/x509 parses it, readCRLMeta does not")
		}
		if !m.thisUpdate.Equal(crl.ThisUpdate) || !m.nextUpdate.Equal(crl.NextUpdate) ||
			(crl.Number != nil) != (m.number != nil) || (m.number != nil && m.number.Cmp(crl.Number) != 0) {
			t.Fatalf("read %+v, crypto/x509 %v %v %v", m, crl.ThisUpdate, crl.NextUpdate, crl.Number)
		}
	})
}
