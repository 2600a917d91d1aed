package casign

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/certctl/certctl/pkg/errs"
)

// fakeLookup is an in-memory Lookup.
type fakeLookup struct {
	cas    []IssuerInfo
	status map[string]Status // caID + "/" + serial in hex
	crls   map[string][]byte
}

func (f *fakeLookup) CAs() ([]IssuerInfo, error) { return f.cas, nil }

func (f *fakeLookup) Status(caID string, serial *big.Int) (Status, error) {
	return f.status[caID+"/"+serial.Text(16)], nil
}

func (f *fakeLookup) CRL(caID string) ([]byte, error) {
	if der, ok := f.crls[caID]; ok {
		return der, nil
	}
	return nil, fmt.Errorf("CA %s: %w", caID, ErrNotFound)
}

func (f *fakeLookup) set(caID string, c *x509.Certificate, st Status) {
	f.status[caID+"/"+c.SerialNumber.Text(16)] = st
}

// ocspFixture is a hierarchy with a good, a revoked and an unknown leaf.
type ocspFixture struct {
	h                      hierarchy
	good, revoked, unknown *x509.Certificate
	unspecified            *x509.Certificate
	lookup                 *fakeLookup
	handler                http.Handler
	revokedAt              time.Time
}

func newOCSPFixture(t testing.TB, alg string, now time.Time) *ocspFixture {
	t.Helper()
	h := newHierarchyAt(t, alg, now)
	f := &ocspFixture{h: h, revokedAt: now.Add(-90 * time.Minute)}
	f.good, _ = issueLeafAt(t, h, "EC_prime256v1", now, "good.example.test")
	f.revoked, _ = issueLeafAt(t, h, "EC_prime256v1", now, "revoked.example.test")
	f.unspecified, _ = issueLeafAt(t, h, "EC_prime256v1", now, "unspec.example.test")
	f.unknown, _ = issueLeafAt(t, h, "EC_prime256v1", now, "unknown.example.test")
	f.lookup = &fakeLookup{
		cas: []IssuerInfo{
			{ID: "root-id", Cert: h.root, Signer: h.rootKey},
			{ID: "sub-id", Cert: h.sub, Signer: h.subKey},
		},
		status: map[string]Status{},
		crls:   map[string][]byte{"sub-id": []byte("crl-bytes")},
	}
	f.lookup.set("sub-id", f.good, Status{Known: true})
	f.lookup.set("sub-id", f.revoked, Status{Known: true, Revoked: true, RevokedAt: f.revokedAt, Reason: 1})
	f.lookup.set("sub-id", f.unspecified, Status{Known: true, Revoked: true, RevokedAt: f.revokedAt, Reason: 0})
	f.handler = NewResponder(f.lookup, func() time.Time { return now }, nil)
	return f
}

func newOCSPRequest(t testing.TB, leaf, issuer *x509.Certificate, h crypto.Hash) []byte {
	t.Helper()
	der, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: h})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// withExtensions adds requestExtensions to a DER OCSP request built by
// x/crypto (which has none).
func withExtensions(t testing.TB, req []byte, exts ...pkix.Extension) []byte {
	t.Helper()
	var outer, tbs asn1.RawValue
	if _, err := asn1.Unmarshal(req, &outer); err != nil {
		t.Fatal(err)
	}
	if _, err := asn1.Unmarshal(outer.Bytes, &tbs); err != nil {
		t.Fatal(err)
	}
	extDER, err := asn1.MarshalWithParams(exts, "explicit,tag:2")
	if err != nil {
		t.Fatal(err)
	}
	seq := func(content []byte) []byte {
		der, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	return seq(seq(append(slicesClone(tbs.Bytes), extDER...)))
}

func slicesClone(b []byte) []byte { return append([]byte(nil), b...) }

func nonceExt(t testing.TB, nonce []byte) pkix.Extension {
	t.Helper()
	v, err := asn1.Marshal(nonce)
	if err != nil {
		t.Fatal(err)
	}
	return pkix.Extension{Id: oidOCSPNonce, Value: v}
}

func post(t testing.TB, h http.Handler, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "/ocsp", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/ocsp-request")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func get(t testing.TB, h http.Handler, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, target, nil))
	return w
}

// responseNonce digs the responseExtensions nonce out of a response.
func responseNonce(t testing.TB, der []byte) []byte {
	t.Helper()
	var resp ocspResponseASN1
	if _, err := asn1.Unmarshal(der, &resp); err != nil {
		t.Fatal(err)
	}
	var basic basicResponseASN1
	if _, err := asn1.Unmarshal(resp.Response.Response, &basic); err != nil {
		t.Fatal(err)
	}
	var data responseDataASN1
	if _, err := asn1.Unmarshal(basic.TBSResponseData.FullBytes, &data); err != nil {
		t.Fatal(err)
	}
	for _, e := range data.Extensions {
		if e.Id.Equal(oidOCSPNonce) {
			return e.Value
		}
	}
	return nil
}

func TestOCSPStatuses(t *testing.T) {
	for _, alg := range caAlgorithms {
		f := newOCSPFixture(t, alg, testNow)
		for _, hash := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384} {
			cases := []struct {
				leaf   *x509.Certificate
				status int
				reason int
			}{
				{f.good, ocsp.Good, 0},
				{f.revoked, ocsp.Revoked, ocsp.KeyCompromise},
				{f.unspecified, ocsp.Revoked, ocsp.Unspecified},
				{f.unknown, ocsp.Unknown, 0},
			}
			for _, c := range cases {
				name := fmt.Sprintf("%s/%v/%s", alg, hash, c.leaf.Subject.CommonName)
				w := post(t, f.handler, newOCSPRequest(t, c.leaf, f.h.sub, hash))
				if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/ocsp-response" {
					t.Fatalf("%s: HTTP %d %q", name, w.Code, w.Header().Get("Content-Type"))
				}
				resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), c.leaf, f.h.sub)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if resp.Status != c.status || resp.SerialNumber.Cmp(c.leaf.SerialNumber) != 0 {
					t.Errorf("%s: status %d serial %x", name, resp.Status, resp.SerialNumber)
				}
				// thisUpdate backdated as a certificate's NotBefore is;
				// nextUpdate from the signing.
				if !resp.ThisUpdate.Equal(testNow.Add(-Backdate)) || !resp.NextUpdate.Equal(testNow.Add(time.Hour)) || !resp.ProducedAt.Equal(testNow) {
					t.Errorf("%s: times %v %v %v", name, resp.ThisUpdate, resp.NextUpdate, resp.ProducedAt)
				}
				if c.status == ocsp.Revoked && (!resp.RevokedAt.Equal(f.revokedAt) || resp.RevocationReason != c.reason) {
					t.Errorf("%s: revoked at %v reason %d", name, resp.RevokedAt, resp.RevocationReason)
				}
				if !bytes.Equal(resp.RawResponderName, f.h.sub.RawSubject) || resp.Certificate != nil {
					t.Errorf("%s: not signed directly by the CA", name)
				}
				want, _ := SignatureAlgorithm(f.h.subKey.Public())
				if resp.SignatureAlgorithm != want {
					t.Errorf("%s: signed with %v, want %v", name, resp.SignatureAlgorithm, want)
				}
				if n := responseNonce(t, w.Body.Bytes()); n != nil {
					t.Errorf("%s: nonce %x in a response to a request without one", name, n)
				}
			}
		}
		// The root answers for the subordinate CA certificate itself.
		w := post(t, f.handler, newOCSPRequest(t, f.h.sub, f.h.root, crypto.SHA1))
		if resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.h.sub, f.h.root); err != nil || resp.Status != ocsp.Unknown {
			t.Errorf("%s: sub CA status: %v", alg, err)
		}
	}
}

// countingSigner counts the signatures of a CA key.
type countingSigner struct {
	crypto.Signer
	n int
}

func (c *countingSigner) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	c.n++
	return c.Signer.Sign(rand, digest, opts)
}

// multiRequest joins the requestLists of single-certificate DER requests
// into one request.
func multiRequest(t testing.TB, reqs ...[]byte) []byte {
	t.Helper()
	var all ocspRequestASN1
	for _, der := range reqs {
		var r ocspRequestASN1
		if _, err := asn1.Unmarshal(der, &r); err != nil {
			t.Fatal(err)
		}
		all.TBSRequest.RequestList = append(all.TBSRequest.RequestList, r.TBSRequest.RequestList...)
	}
	der, err := asn1.Marshal(all)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestOCSPIssuersSharingSubjectAndKey: two CAs of the vault with the same
// subject and key (a re-issued CA certificate imported as a second CA)
// have the same CertID issuer hashes. Each serial is answered by the CA
// that knows it, "unknown" only when neither does, a revocation winning
// should both know it; the response is signed by the CA that issued a
// serial asked about (the first one's), by the first CA when none did; a
// request mixing them with another issuer is still unauthorized.
func TestOCSPIssuersSharingSubjectAndKey(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	// The subordinate CA certificate re-issued: same subject and key, new
	// serial and validity.
	tmpl := SubordinateTemplate(f.h.sub.Subject, f.h.subKey.Public(), mustSerial(t), Validity{testNow.Add(-time.Minute), testNow.AddDate(6, 0, 0)}, 0)
	reissued, err := Sign(tmpl, f.h.root, f.h.subKey.Public(), f.h.rootKey)
	if err != nil {
		t.Fatal(err)
	}
	first := &countingSigner{Signer: f.h.subKey}
	second := &countingSigner{Signer: f.h.subKey}
	f.lookup.cas = []IssuerInfo{
		{ID: "root-id", Cert: f.h.root, Signer: f.h.rootKey},
		{ID: "sub-id", Cert: f.h.sub, Signer: first},
		{ID: "sub2-id", Cert: reissued, Signer: second},
	}
	revoked2, _ := issueLeafAt(t, f.h, "EC_prime256v1", testNow, "revoked2.example.test")
	good2, _ := issueLeafAt(t, f.h, "EC_prime256v1", testNow, "good2.example.test")
	both, _ := issueLeafAt(t, f.h, "EC_prime256v1", testNow, "both.example.test")
	f.lookup.set("sub2-id", revoked2, Status{Known: true, Revoked: true, RevokedAt: f.revokedAt, Reason: 1})
	f.lookup.set("sub2-id", good2, Status{Known: true})
	f.lookup.set("sub-id", both, Status{Known: true})
	f.lookup.set("sub2-id", both, Status{Known: true, Revoked: true, RevokedAt: f.revokedAt, Reason: 1})

	type want struct {
		leaf   *x509.Certificate
		status int
	}
	for _, c := range []struct {
		name   string
		issuer *x509.Certificate // the CA certificate the client names
		want   []want
		signer *countingSigner
	}{
		{"revoked by the second", f.h.sub, []want{{revoked2, ocsp.Revoked}}, second},
		{"revoked by the second, asked of its certificate", reissued, []want{{revoked2, ocsp.Revoked}}, second},
		{"good from the second", f.h.sub, []want{{good2, ocsp.Good}}, second},
		{"good from the first", reissued, []want{{f.good, ocsp.Good}}, first},
		{"revoked by the first", reissued, []want{{f.revoked, ocsp.Revoked}}, first},
		{"neither", reissued, []want{{f.unknown, ocsp.Unknown}}, first},
		{"known to both, revoked by one", f.h.sub, []want{{both, ocsp.Revoked}}, second},
		{"several", f.h.sub, []want{{f.unknown, ocsp.Unknown}, {revoked2, ocsp.Revoked}, {f.good, ocsp.Good}, {good2, ocsp.Good}}, second},
	} {
		first.n, second.n = 0, 0
		var reqs [][]byte
		for _, w := range c.want {
			reqs = append(reqs, newOCSPRequest(t, w.leaf, c.issuer, crypto.SHA256))
		}
		w := post(t, f.handler, multiRequest(t, reqs...))
		for _, want := range c.want {
			resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), want.leaf, c.issuer)
			if err != nil {
				t.Fatalf("%s: %v (body %x)", c.name, err, w.Body.Bytes())
			}
			if resp.Status != want.status {
				t.Errorf("%s: %s: status %d, want %d", c.name, want.leaf.Subject.CommonName, resp.Status, want.status)
			}
		}
		if c.signer.n != 1 || first.n+second.n != 1 {
			t.Errorf("%s: signed %d times by the first CA, %d by the second; want once by the %s", c.name, first.n, second.n,
				map[bool]string{true: "first", false: "second"}[c.signer == first])
		}
	}
	// Another issuer in the same request is still refused.
	mixed := multiRequest(t, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA1), newOCSPRequest(t, f.h.sub, f.h.root, crypto.SHA1))
	if w := post(t, f.handler, mixed); !bytes.Equal(w.Body.Bytes(), ocsp.UnauthorizedErrorResponse) {
		t.Errorf("two issuers in one request: %x", w.Body.Bytes())
	}
}

// TestOCSPOneIssuerPerRequest: a request naming serials of two CAs, each
// matched by one CA, is refused: one CA's key does not speak for another's
// serials (final review: only the number of matching CAs was compared
// where every CA pair was not).
func TestOCSPOneIssuerPerRequest(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	mixed := multiRequest(t, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA1), newOCSPRequest(t, f.h.sub, f.h.root, crypto.SHA1))
	if w := post(t, f.handler, mixed); !bytes.Equal(w.Body.Bytes(), ocsp.UnauthorizedErrorResponse) {
		t.Errorf("serials of two CAs in one request: %x, want unauthorized", w.Body.Bytes())
	}
	same := multiRequest(t, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA1), newOCSPRequest(t, f.unknown, f.h.sub, crypto.SHA256))
	if w := post(t, f.handler, same); bytes.Equal(w.Body.Bytes(), ocsp.UnauthorizedErrorResponse) {
		t.Error("two serials of one CA (two hashes) in one request: unauthorized")
	}
}

func TestOCSPNonceEchoed(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	nonce := []byte("0123456789abcdef")
	ext := nonceExt(t, nonce)
	req := withExtensions(t, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256), ext)
	w := post(t, f.handler, req)
	resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.good, f.h.sub)
	if err != nil || resp.Status != ocsp.Good {
		t.Fatalf("response with nonce: %v", err)
	}
	if got := responseNonce(t, w.Body.Bytes()); !bytes.Equal(got, ext.Value) {
		t.Errorf("nonce %x, want %x", got, ext.Value)
	}
	// Nonces outside RFC 8954's 1..32 octets are refused.
	for _, n := range [][]byte{{}, bytes.Repeat([]byte{1}, 33)} {
		w := post(t, f.handler, withExtensions(t, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256), nonceExt(t, n)))
		if !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) {
			t.Errorf("nonce of %d octets accepted", len(n))
		}
	}
	// Other request extensions are ignored.
	other := pkix.Extension{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 4}, Value: []byte{0x30, 0x00}}
	w = post(t, f.handler, withExtensions(t, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256), other, ext))
	if got := responseNonce(t, w.Body.Bytes()); !bytes.Equal(got, ext.Value) {
		t.Errorf("nonce next to another extension: %x", got)
	}
}

func TestOCSPGet(t *testing.T) {
	f := newOCSPFixture(t, "RSA_2048", testNow)
	req := newOCSPRequest(t, f.revoked, f.h.sub, crypto.SHA1)
	for name, enc := range map[string]string{
		"std":        url.PathEscape(base64.StdEncoding.EncodeToString(req)),
		"std-raw":    base64.StdEncoding.EncodeToString(req), // '/' and '+' unescaped
		"url-safe":   base64.RawURLEncoding.EncodeToString(req),
		"query-esc":  url.QueryEscape(base64.StdEncoding.EncodeToString(req)),
		"no-padding": base64.RawStdEncoding.EncodeToString(req),
	} {
		w := get(t, f.handler, "/ocsp/"+enc)
		resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.revoked, f.h.sub)
		if err != nil || resp.Status != ocsp.Revoked {
			t.Errorf("%s: %v (HTTP %d)", name, err, w.Code)
			continue
		}
		if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "max-age=3600") {
			t.Errorf("%s: Cache-Control %q", name, cc)
		}
	}
	// A GET with a nonce is not cacheable.
	withNonce := withExtensions(t, req, nonceExt(t, []byte("12345678")))
	w := get(t, f.handler, "/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(withNonce)))
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" || responseNonce(t, w.Body.Bytes()) == nil {
		t.Errorf("GET with nonce: Cache-Control %q", cc)
	}
	// Paths are not cleaned (a base64 request may contain "//").
	w = get(t, f.handler, "/ocsp/AB//CD")
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) {
		t.Errorf(`"//" in GET: HTTP %d`, w.Code)
	}
}

// TestOCSPGetOneSpelling: a GET request has the spellings clients use
// (standard or URL-safe alphabet, padded or not) and no others, since each
// URL of a cacheable response is cached on its own: CR or LF anywhere, a
// wrong number of '=' and a last character differing only in unused bits
// are malformedRequest.
func TestOCSPGetOneSpelling(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	// A request whose base64 ends with unused bits (its length is not a
	// multiple of 3).
	var req []byte
	for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA256, crypto.SHA384, crypto.SHA512} {
		if req = newOCSPRequest(t, f.good, f.h.sub, h); len(req)%3 != 0 {
			break
		}
	}
	if len(req)%3 == 0 {
		t.Fatal("no request with unused bits in its base64")
	}
	padded := base64.StdEncoding.EncodeToString(req)
	raw := base64.RawStdEncoding.EncodeToString(req)
	urlPadded := base64.URLEncoding.EncodeToString(req)
	// The last character with its lowest (unused) bit flipped.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := strings.IndexByte(alphabet, raw[len(raw)-1])
	otherBits := raw[:len(raw)-1] + string(alphabet[last^1])
	for _, ok := range []string{padded, raw, urlPadded, base64.RawURLEncoding.EncodeToString(req)} {
		w := get(t, f.handler, "/ocsp/"+url.PathEscape(ok))
		if resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.good, f.h.sub); err != nil || resp.Status != ocsp.Good {
			t.Errorf("%s: %v", ok, err)
		}
	}
	bads := map[string]string{
		"CRLF inside":          padded[:10] + "\r\n" + padded[10:],
		"LF inside":            padded[:10] + "\n" + padded[10:],
		"CR at the end":        padded + "\r",
		"padding added":        padded + "=====",
		"padding, URL-safe":    urlPadded + "==",
		"unused bits not zero": otherBits,
		"unused bits, padded":  otherBits + padded[len(raw):],
	}
	for n := 1; n <= 4; n++ {
		if n != len(padded)-len(raw) {
			bads[fmt.Sprintf("%d '=' (want %d)", n, len(padded)-len(raw))] = raw + strings.Repeat("=", n)
		}
	}
	for name, bad := range bads {
		if _, err := decodeOCSPGet(bad); err == nil {
			t.Errorf("%s: %q decoded", name, bad)
		}
		w := get(t, f.handler, "/ocsp/"+url.PathEscape(bad))
		if !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) || w.Header().Get("Cache-Control") != "no-store" {
			t.Errorf("%s: answered %d octets, Cache-Control %q; want malformedRequest", name, w.Body.Len(), w.Header().Get("Cache-Control"))
		}
	}
}

func TestOCSPErrors(t *testing.T) {
	f := newOCSPFixture(t, "EC_secp384r1", testNow)
	good := newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256)
	stranger := newHierarchy(t, "RSA_2048")
	strangerLeaf, _ := issueLeaf(t, stranger, "RSA_2048", "x.example.test")

	malformed := map[string][]byte{
		"empty":     nil,
		"garbage":   []byte("not an OCSP request"),
		"truncated": good[:len(good)-3],
		"trailing":  append(slicesClone(good), 0),
		"too large": append(slicesClone(good), make([]byte, maxOCSPRequest)...),
	}
	for name, body := range malformed {
		w := post(t, f.handler, body)
		if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) {
			t.Errorf("%s: HTTP %d body %x", name, w.Code, w.Body.Bytes())
		}
	}
	if w := get(t, f.handler, "/ocsp/!!!!"); !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) {
		t.Errorf("bad base64: %x", w.Body.Bytes())
	}
	// An issuer the vault does not hold: unauthorized.
	w := post(t, f.handler, newOCSPRequest(t, strangerLeaf, stranger.sub, crypto.SHA1))
	if !bytes.Equal(w.Body.Bytes(), ocsp.UnauthorizedErrorResponse) {
		t.Errorf("foreign issuer: %x", w.Body.Bytes())
	}
	if w := get(t, f.handler, "/ocsp"); w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET /ocsp: HTTP %d", w.Code)
	}
	// A lookup failure is an internalError, never a "good", and is logged
	// (a server's operator sees why: a PKCS#11 token down names its
	// setting).
	var logged []string
	broken := NewResponder(brokenLookup{f.lookup}, fixedClock, func(format string, a ...any) { logged = append(logged, fmt.Sprintf(format, a...)) })
	if w := post(t, broken, good); !bytes.Equal(w.Body.Bytes(), ocsp.InternalErrorErrorResponse) {
		t.Errorf("lookup failure: %x", w.Body.Bytes())
	}
	if len(logged) != 1 || !strings.Contains(logged[0], io.ErrUnexpectedEOF.Error()) {
		t.Errorf("lookup failure logged as %q", logged)
	}
}

// withCertID rewrites the (only) CertID of a DER request with edit, which
// gets the CertID's fields: hashAlgorithm, issuerNameHash, issuerKeyHash,
// serialNumber.
func withCertID(t testing.TB, req []byte, edit func(fields []asn1.RawValue) []asn1.RawValue) []byte {
	t.Helper()
	var r ocspRequestASN1
	if _, err := asn1.Unmarshal(req, &r); err != nil {
		t.Fatal(err)
	}
	var seq asn1.RawValue
	if _, err := asn1.Unmarshal(r.TBSRequest.RequestList[0].CertID.FullBytes, &seq); err != nil {
		t.Fatal(err)
	}
	var fields []asn1.RawValue
	for rest := seq.Bytes; len(rest) > 0; {
		var v asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &v); err != nil {
			t.Fatal(err)
		}
		fields = append(fields, v)
	}
	var content []byte
	for _, v := range edit(fields) {
		content = append(content, v.FullBytes...)
	}
	cid, err := asn1.Marshal(asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
	if err != nil {
		t.Fatal(err)
	}
	r.TBSRequest.RequestList[0].CertID = asn1.RawValue{FullBytes: cid}
	der, err := asn1.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// rawDER is a RawValue of an encoded value.
func rawDER(t testing.TB, v any) asn1.RawValue {
	t.Helper()
	der, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return asn1.RawValue{FullBytes: der}
}

// TestOCSPCertIDMustBeDER: the CertID, echoed in the CA-signed response,
// must be DER as parsed. Elements after serialNumber or after the hash
// algorithm's parameters (which encoding/asn1 skips) and hash parameters
// other than NULL would have the CA sign bytes of the client's choosing:
// malformedRequest. Hash parameters left out (RFC 5754) are fine.
func TestOCSPCertIDMustBeDER(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	req := newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256)
	junk := rawDER(t, bytes.Repeat([]byte("signed by the CA "), 200))
	algWith := func(params ...asn1.RawValue) asn1.RawValue {
		content := rawDER(t, asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}).FullBytes
		for _, p := range params {
			content = append(content, p.FullBytes...)
		}
		return rawDER(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: content})
	}
	for name, edit := range map[string]func([]asn1.RawValue) []asn1.RawValue{
		"after serialNumber": func(v []asn1.RawValue) []asn1.RawValue { return append(v, junk) },
		"after the hash parameters": func(v []asn1.RawValue) []asn1.RawValue {
			v[0] = algWith(asn1.RawValue{FullBytes: asn1.NullBytes}, junk)
			return v
		},
		"hash parameters not NULL": func(v []asn1.RawValue) []asn1.RawValue {
			v[0] = algWith(junk)
			return v
		},
	} {
		w := post(t, f.handler, withCertID(t, req, edit))
		if !bytes.Equal(w.Body.Bytes(), ocsp.MalformedRequestErrorResponse) {
			t.Errorf("junk %s: answered %d octets, want malformedRequest", name, w.Body.Len())
		}
	}
	noParams := withCertID(t, req, func(v []asn1.RawValue) []asn1.RawValue {
		v[0] = algWith()
		return v
	})
	w := post(t, f.handler, noParams)
	if resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.good, f.h.sub); err != nil || resp.Status != ocsp.Good {
		t.Errorf("hash without parameters: %v", err)
	}
	// The request unchanged by withCertID is answered.
	same := withCertID(t, req, func(v []asn1.RawValue) []asn1.RawValue { return v })
	if !bytes.Equal(same, req) {
		t.Fatalf("withCertID changed an untouched request")
	}
}

type brokenLookup struct{ *fakeLookup }

func (brokenLookup) Status(string, *big.Int) (Status, error) { return Status{}, io.ErrUnexpectedEOF }

func TestCRLEndpoint(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	w := get(t, f.handler, "/crl/sub-id.crl")
	if w.Code != http.StatusOK || w.Header().Get("Content-Type") != "application/pkix-crl" || w.Body.String() != "crl-bytes" {
		t.Errorf("CRL: HTTP %d %q %q", w.Code, w.Header().Get("Content-Type"), w.Body.String())
	}
	for _, target := range []string{"/crl/root-id.crl", "/crl/sub-id", "/crl/sub-id.pem", "/crl/..%2fsub-id.crl", "/crl/", "/nope"} {
		if w := get(t, f.handler, target); w.Code != http.StatusNotFound {
			t.Errorf("%s: HTTP %d", target, w.Code)
		}
	}
	r := httptest.NewRequest(http.MethodPost, "/crl/sub-id.crl", nil)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, r)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST CRL: HTTP %d", rec.Code)
	}
}

func TestOpenSSLOCSP(t *testing.T) {
	openssl := interopTool(t, "openssl")
	// openssl checks the response and the signer chain against the real
	// clock, so this test runs on it.
	now := time.Now().UTC().Truncate(time.Second)
	for _, alg := range []string{"RSA_2048", "EC_secp384r1"} {
		f := newOCSPFixture(t, alg, now)
		srv := httptest.NewServer(f.handler)
		dir := t.TempDir()
		root := writePEM(t, dir, "root.pem", "CERTIFICATE", f.h.root.Raw)
		sub := writePEM(t, dir, "sub.pem", "CERTIFICATE", f.h.sub.Raw)
		for _, c := range []struct {
			leaf *x509.Certificate
			want []string
		}{
			{f.good, []string{": good"}},
			{f.revoked, []string{": revoked", "Reason: keyCompromise", "Revocation Time: "}},
			{f.unknown, []string{": unknown"}},
		} {
			leaf := writePEM(t, dir, c.leaf.Subject.CommonName+".pem", "CERTIFICATE", c.leaf.Raw)
			out := run(t, openssl, "ocsp", "-issuer", sub, "-cert", leaf, "-url", srv.URL+"/ocsp", "-CAfile", root, "-resp_text")
			for _, want := range append(c.want, "Response verify OK", "OCSP Nonce:") {
				if !strings.Contains(out, want) {
					t.Errorf("%s %s: output lacks %q:\n%s", alg, c.leaf.Subject.CommonName, want, out)
				}
			}
			for _, bad := range []string{"WARNING", "rror"} {
				if strings.Contains(out, bad) {
					t.Errorf("%s %s: output has %q:\n%s", alg, c.leaf.Subject.CommonName, bad, out)
				}
			}
		}
		srv.Close()
	}
}

// TestCRLEndpointCaching: a CRL is served with what caches in front need —
// an entity tag (its number and thisUpdate), Last-Modified (thisUpdate),
// Expires (nextUpdate) and a max-age of at most crlCacheAge — and a
// GET naming its entity tag is answered 304 (tester: no caching headers).
func TestCRLEndpointCaching(t *testing.T) {
	f := newOCSPFixture(t, "EC_prime256v1", testNow)
	this, next := testNow.Add(-time.Minute), testNow.Add(7*24*time.Hour)
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(0x1234), ThisUpdate: this, NextUpdate: next,
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: this}},
	}, f.h.sub, f.h.subKey)
	if err != nil {
		t.Fatal(err)
	}
	f.lookup.crls["sub-id"] = der
	w := get(t, f.handler, "/crl/sub-id.crl")
	h := w.Header()
	if w.Code != http.StatusOK || !bytes.Equal(w.Body.Bytes(), der) || h.Get("Content-Type") != "application/pkix-crl" {
		t.Fatalf("CRL: HTTP %d %q, %d octets", w.Code, h.Get("Content-Type"), w.Body.Len())
	}
	etag := h.Get("ETag")
	if etag != `W/"1234-`+this.UTC().Format("20060102T150405Z")+`"` || h.Get("Last-Modified") != this.UTC().Format(http.TimeFormat) ||
		h.Get("Expires") != next.UTC().Format(http.TimeFormat) || h.Get("Cache-Control") != "public, no-transform, max-age=300" {
		t.Errorf("caching headers %v", h)
	}
	r0 := httptest.NewRequest(http.MethodGet, "/crl/sub-id.crl", nil)
	r0.Header.Set("If-None-Match", etag)
	rec0 := httptest.NewRecorder()
	f.handler.ServeHTTP(rec0, r0)
	if rec0.Code != http.StatusNotModified || rec0.Body.Len() != 0 {
		t.Errorf("If-None-Match: HTTP %d, %d octets, want 304", rec0.Code, rec0.Body.Len())
	}
	// A date does not tell two CRLs of one second apart, nor a higher
	// number signed by a server whose clock is behind: If-Modified-Since
	// gets the whole CRL (review).
	r1 := httptest.NewRequest(http.MethodGet, "/crl/sub-id.crl", nil)
	r1.Header.Set("If-Modified-Since", next.UTC().Format(http.TimeFormat))
	rec1 := httptest.NewRecorder()
	f.handler.ServeHTTP(rec1, r1)
	if rec1.Code != http.StatusOK || !bytes.Equal(rec1.Body.Bytes(), der) {
		t.Errorf("If-Modified-Since: HTTP %d, want the CRL", rec1.Code)
	}
	r := httptest.NewRequest(http.MethodGet, "/crl/sub-id.crl", nil)
	r.Header.Set("If-None-Match", `"another"`)
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), der) {
		t.Errorf("another entity tag: HTTP %d", rec.Code)
	}
	// The tag is weak (another signing of the same CRL has other bytes):
	// a range asked If-Range it gets the whole CRL, never a piece to join
	// to another signing's (final review).
	r = httptest.NewRequest(http.MethodGet, "/crl/sub-id.crl", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("If-Range", etag)
	rec = httptest.NewRecorder()
	f.handler.ServeHTTP(rec, r)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), der) {
		t.Errorf("If-Range with the tag: HTTP %d, %d octets, want the whole CRL", rec.Code, rec.Body.Len())
	}
	// max-age stops at nextUpdate.
	soon, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(0x1235), ThisUpdate: this, NextUpdate: testNow.Add(2 * time.Minute),
	}, f.h.sub, f.h.subKey)
	if err != nil {
		t.Fatal(err)
	}
	f.lookup.crls["sub-id"] = soon
	if w := get(t, f.handler, "/crl/sub-id.crl"); w.Header().Get("Cache-Control") != "public, no-transform, max-age=120" {
		t.Errorf("CRL current 2 more minutes: Cache-Control %q", w.Header().Get("Cache-Control"))
	}
	f.lookup.crls["sub-id"] = der
	rec = httptest.NewRecorder()
	f.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodHead, "/crl/sub-id.crl", nil))
	if rec.Code != http.StatusOK || rec.Body.Len() != 0 || rec.Header().Get("ETag") != etag {
		t.Errorf("HEAD: HTTP %d, %d octets, ETag %q", rec.Code, rec.Body.Len(), rec.Header().Get("ETag"))
	}
}

// TestReadCRLMeta: the times and number read without parsing the entries
// are those crypto/x509 parses, with and without nextUpdate.
func TestReadCRLMeta(t *testing.T) {
	h := newHierarchyAt(t, "EC_prime256v1", testNow)
	for _, next := range []time.Time{testNow.Add(time.Hour), {}} {
		der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(987654321), ThisUpdate: testNow, NextUpdate: testNow.Add(time.Hour),
			RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(1), RevocationTime: testNow}},
		}, h.sub, h.subKey)
		if err != nil {
			t.Fatal(err)
		}
		if next.IsZero() {
			// crypto/x509 requires a nextUpdate: take it out by hand.
			der = withoutNextUpdate(t, der)
		}
		m, ok := readCRLMeta(der)
		if !ok || !m.thisUpdate.Equal(testNow) || !m.nextUpdate.Equal(next) || m.number == nil || m.number.Int64() != 987654321 {
			t.Errorf("next %v: %+v, %v", next, m, ok)
		}
	}
	if _, ok := readCRLMeta([]byte("crl-bytes")); ok {
		t.Error("read a CRL out of junk")
	}
}

// withoutNextUpdate is der, a CRL, without its nextUpdate (its signature no
// longer verifies: readCRLMeta does not check it).
func withoutNextUpdate(t *testing.T, der []byte) []byte {
	t.Helper()
	var crl, tbs []asn1.RawValue
	if _, err := asn1.Unmarshal(der, &crl); err != nil || len(crl) != 3 {
		t.Fatalf("CRL: %v", err)
	}
	if _, err := asn1.Unmarshal(crl[0].FullBytes, &tbs); err != nil || len(tbs) < 5 {
		t.Fatalf("TBSCertList: %v", err)
	}
	seq := func(parts []asn1.RawValue) []byte {
		var content []byte
		for _, p := range parts {
			content = append(content, p.FullBytes...)
		}
		return rawDER(t, asn1.RawValue{Tag: asn1.TagSequence, IsCompound: true, Bytes: content}).FullBytes
	}
	crl[0] = asn1.RawValue{FullBytes: seq(append(tbs[:4:4], tbs[5:]...))}
	return seq(crl)
}

// TestOCSPSignatureAlgorithm: a response is signed with the CA's signature
// algorithm, as its certificates and CRLs are (tester: SHA-256 for an RSA
// CA of SHA384WITHRSA, SHA-384 for a P-384 CA of SHA256WITHECDSA), and
// with its key's default when the CA names none.
func TestOCSPSignatureAlgorithm(t *testing.T) {
	for _, c := range []struct {
		alg  string
		ca   x509.SignatureAlgorithm
		want x509.SignatureAlgorithm
	}{
		{"RSA_2048", x509.SHA384WithRSA, x509.SHA384WithRSA},
		{"RSA_2048", x509.SHA512WithRSA, x509.SHA512WithRSA},
		{"EC_secp384r1", x509.ECDSAWithSHA256, x509.ECDSAWithSHA256},
		{"EC_secp384r1", x509.UnknownSignatureAlgorithm, x509.ECDSAWithSHA384},
	} {
		f := newOCSPFixture(t, c.alg, testNow)
		f.lookup.cas[1].SignatureAlgorithm = c.ca
		w := post(t, f.handler, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256))
		resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.good, f.h.sub)
		if err != nil {
			t.Fatalf("%s %v: %v", c.alg, c.ca, err)
		}
		if resp.SignatureAlgorithm != c.want {
			t.Errorf("%s, CA's %v: signed with %v, want %v", c.alg, c.ca, resp.SignatureAlgorithm, c.want)
		}
	}
}

// downSigner is a CA key whose token is down (or that fails otherwise).
type downSigner struct {
	crypto.Signer
	err error
}

func (d downSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) { return nil, d.err }

// TestOCSPTryLater: a CA key that cannot be reached now (exit 6: a PKCS#11
// token that is down) is answered tryLater, which clients retry (tester:
// internalError); any other failure stays internalError.
func TestOCSPTryLater(t *testing.T) {
	for _, c := range []struct {
		err  error
		want []byte
	}{
		{errs.VaultErrorf("the PKCS#11 token %q could not sign: is it present?", "t"), ocsp.TryLaterErrorResponse},
		{errors.New("something else"), ocsp.InternalErrorErrorResponse},
	} {
		f := newOCSPFixture(t, "EC_prime256v1", testNow)
		f.lookup.cas[1].Signer = downSigner{Signer: f.lookup.cas[1].Signer, err: c.err}
		w := post(t, f.handler, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256))
		if !bytes.Equal(w.Body.Bytes(), c.want) {
			t.Errorf("%v: response %x, want %x", c.err, w.Body.Bytes(), c.want)
		}
	}
}

// TestOCSPTimesBoundedByRevocationAndIssuer: a revoked answer's thisUpdate
// is not before its revocation (tester: backdated a minute, it predated a
// revocation it reported) nor after now (a revocation dated ahead by
// another host's clock); and no answer's nextUpdate is past the issuing
// CA certificate's NotAfter, as its CRL's is not (tester).
func TestOCSPTimesBoundedByRevocationAndIssuer(t *testing.T) {
	f := newOCSPFixture(t, caAlgorithms[0], testNow)
	answer := func(h http.Handler) *ocsp.Response {
		t.Helper()
		w := post(t, h, newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256))
		resp, err := ocsp.ParseResponseForCert(w.Body.Bytes(), f.good, f.h.sub)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	recent := testNow.Add(-10 * time.Second)
	f.lookup.set("sub-id", f.good, Status{Known: true, Revoked: true, RevokedAt: recent, Reason: 1})
	if r := answer(f.handler); !r.ThisUpdate.Equal(recent) || !r.RevokedAt.Equal(recent) {
		t.Errorf("revoked 10 s ago: thisUpdate %v, revoked at %v; want both %v", r.ThisUpdate, r.RevokedAt, recent)
	}
	f.lookup.set("sub-id", f.good, Status{Known: true, Revoked: true, RevokedAt: testNow.Add(30 * time.Second), Reason: 1})
	if r := answer(f.handler); !r.ThisUpdate.Equal(testNow) {
		t.Errorf("revoked 30 s ahead: thisUpdate %v, want now, %v", r.ThisUpdate, testNow)
	}
	f.lookup.set("sub-id", f.good, Status{Known: true})
	late := f.h.sub.NotAfter.Add(-30 * time.Minute)
	lateH := NewResponder(f.lookup, func() time.Time { return late }, nil)
	if r := answer(lateH); !r.NextUpdate.Equal(f.h.sub.NotAfter) {
		t.Errorf("30 minutes before the CA's NotAfter: nextUpdate %v, want %v", r.NextUpdate, f.h.sub.NotAfter)
	}
	// A cache in front keeps it no longer (review: max-age stayed an hour).
	w := get(t, lateH, "/ocsp/"+url.PathEscape(base64.StdEncoding.EncodeToString(newOCSPRequest(t, f.good, f.h.sub, crypto.SHA256))))
	if cc, exp := w.Header().Get("Cache-Control"), w.Header().Get("Expires"); !strings.HasPrefix(cc, "max-age=1800,") || exp != f.h.sub.NotAfter.UTC().Format(http.TimeFormat) {
		t.Errorf("30 minutes before the CA's NotAfter: Cache-Control %q, Expires %q", cc, exp)
	}
}
