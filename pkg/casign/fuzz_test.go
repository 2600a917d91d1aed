package casign

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"testing"
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
		// Whatever the request says, an EndEntity template is never a CA.
		if tmpl, err := CSRTemplate(csr, TemplateEndEntity, mustSerial(t), Validity{testNow, testNow.AddDate(1, 0, 0)}); err == nil && tmpl.IsCA {
			t.Fatal("EndEntity template is a CA")
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
	f.Fuzz(func(t *testing.T, s string) {
		der, err := decodeOCSPGet(s)
		if err == nil && len(der) > maxOCSPRequest {
			t.Fatalf("%d octets decoded", len(der))
		}
	})
}
