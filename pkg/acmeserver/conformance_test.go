package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// newAccountBody is a newAccount payload with an EAB for key.
func (f *fixture) newAccountBody(kid string, mac []byte, key *ecdsa.PrivateKey, contact ...string) []byte {
	b, _ := json.Marshal(map[string]any{"termsOfServiceAgreed": true, "contact": contact,
		"externalAccountBinding": eabJWS(f.t, kid, mac, f.url("/new-account"), key)})
	return b
}

func wantProblem(t *testing.T, name string, resp *http.Response, body []byte, typ string, status int) {
	t.Helper()
	if got := problemType(t, resp, body); got != typ {
		t.Errorf("%s: problem %s, want %s (%s)", name, got, typ, body)
	}
	if status != 0 && resp.StatusCode != status {
		t.Errorf("%s: status %d, want %d", name, resp.StatusCode, status)
	}
	if resp.Header.Get("Replay-Nonce") == "" {
		t.Errorf("%s: no Replay-Nonce on the error", name)
	}
}

func TestNewAccountRefusals(t *testing.T) {
	f := newFixture(t, acmestate.ContactRequired)
	other := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid, mac := f.eab(false, nil)
	nu := f.url("/new-account")

	// No EAB.
	resp, body := f.signed(nu, key, "", []byte(`{"termsOfServiceAgreed":true,"contact":["mailto:a@lab.test"]}`), nil)
	wantProblem(t, "no EAB", resp, body, errExternalAccountRequired, 400)
	// Bad MAC.
	bad := append([]byte(nil), mac...)
	bad[0] ^= 1
	resp, body = f.signed(nu, key, "", f.newAccountBody(kid, bad, key, "mailto:a@lab.test"), nil)
	wantProblem(t, "bad EAB MAC", resp, body, errUnauthorized, 403)
	// EAB of another endpoint (its own MAC key, right URL).
	okid, omac := other.eab(false, other.ep)
	resp, body = f.signed(nu, key, "", f.newAccountBody(okid, omac, key, "mailto:a@lab.test"), nil)
	wantProblem(t, "EAB of another endpoint", resp, body, errUnauthorized, 403)
	// EAB binding another key.
	b, _ := json.Marshal(map[string]any{"contact": []string{"mailto:a@lab.test"},
		"externalAccountBinding": eabJWS(t, kid, mac, nu, newKey(t))})
	resp, body = f.signed(nu, key, "", b, nil)
	wantProblem(t, "EAB of another key", resp, body, errUnauthorized, 403)
	// EAB with a nonce, an empty one too (RFC 8555 7.3.4: it must have
	// none).
	for _, nonce := range []string{f.nonce(), ""} {
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: mac},
			&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"kid": kid, "url": nu, "nonce": nonce}})
		if err != nil {
			t.Fatal(err)
		}
		obj, err := signer.Sign(jwkOf(t, key))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(map[string]any{"contact": []string{"mailto:a@lab.test"},
			"externalAccountBinding": json.RawMessage(obj.FullSerialize())})
		resp, body = f.signed(nu, key, "", b, nil)
		wantProblem(t, "EAB with a nonce", resp, body, errMalformed, 400)
		if !strings.Contains(string(body), "must not carry a nonce") {
			t.Errorf("EAB with nonce %q: %s", nonce, body)
		}
	}
	// Contact REQUIRED without contact.
	resp, body = f.signed(nu, key, "", f.newAccountBody(kid, mac, key), nil)
	wantProblem(t, "no contact", resp, body, errInvalidContact, 400)
	resp, body = f.signed(nu, key, "", f.newAccountBody(kid, mac, key, "mailto:not an address"), nil)
	wantProblem(t, "bad contact", resp, body, errInvalidContact, 400)
	// Addresses whose domain could not receive mail, and a percent-encoded
	// one (it would be kept encoded).
	for _, c := range []string{"mailto:a@-bad-.test", "mailto:a@localhost", "mailto:a@127.0.0.1", "mailto:a@*.lab.test", "mailto:%61@lab.test", "mailto:a@com"} {
		resp, body = f.signed(nu, key, "", f.newAccountBody(kid, mac, key, c), nil)
		wantProblem(t, "contact "+c, resp, body, errInvalidContact, 400)
	}
	many := make([]string, maxContacts+1)
	for i := range many {
		many[i] = fmt.Sprintf("mailto:a%d@lab.test", i)
	}
	resp, body = f.signed(nu, key, "", f.newAccountBody(kid, mac, key, many...), nil)
	wantProblem(t, "too many contacts", resp, body, errInvalidContact, 400)
	// onlyReturnExisting for an unknown key.
	resp, body = f.signed(nu, key, "", []byte(`{"onlyReturnExisting":true}`), nil)
	wantProblem(t, "onlyReturnExisting", resp, body, errAccountDoesNotExist, 400)
	// Nothing was bound by the refusals: the credential still works, once.
	// The scheme is case-insensitive (RFC 3986 3.1) and an address given
	// twice is kept once.
	dup := []string{"MAILTO:a@lab.test"}
	for range 2 * maxContacts {
		dup = append(dup, "mailto:a@lab.test")
	}
	resp, body = f.signed(nu, key, "", f.newAccountBody(kid, mac, key, dup...), nil)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") == "" {
		t.Fatalf("valid newAccount: %d %s", resp.StatusCode, body)
	}
	var created struct{ Contact []string }
	if err := json.Unmarshal(body, &created); err != nil || len(created.Contact) != 1 || created.Contact[0] != "mailto:a@lab.test" {
		t.Fatalf("contacts kept: %q (%v), want mailto:a@lab.test once", created.Contact, err)
	}
	// Same key again → the existing account (200).
	resp, _ = f.signed(nu, key, "", []byte(`{"onlyReturnExisting":true}`), nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("onlyReturnExisting for a known key: %d", resp.StatusCode)
	}
	// The single-use credential is spent.
	k2 := newKey(t)
	resp, body = f.signed(nu, k2, "", f.newAccountBody(kid, mac, k2, "mailto:b@lab.test"), nil)
	wantProblem(t, "used EAB", resp, body, errUnauthorized, 403)
	// A revoked credential is refused.
	rkid, rmac := f.eab(true, nil)
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		b, err := acmestate.GetEAB(tx, rkid)
		if err != nil {
			return err
		}
		b.RevokedAt = f.clk.Now()
		return acmestate.PutEAB(tx, b)
	}); err != nil {
		t.Fatal(err)
	}
	resp, body = f.signed(nu, k2, "", f.newAccountBody(rkid, rmac, k2, "mailto:b@lab.test"), nil)
	wantProblem(t, "revoked EAB", resp, body, errUnauthorized, 403)
}

func TestJWSRefusals(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	_, acct := f.register(key)
	no := f.url("/new-order")
	order := []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`)

	// Stale (unknown) nonce → badNonce with a fresh nonce.
	resp, body := f.signed(no, key, acct.URI, order, func(h map[string]any) { h["nonce"] = "AAAAAAAAAAAAAAAAAAAAAA" })
	wantProblem(t, "unknown nonce", resp, body, errBadNonce, 400)
	// Reused nonce.
	n := f.nonce()
	resp, _ = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["nonce"] = n })
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("first use of a nonce: %d", resp.StatusCode)
	}
	resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["nonce"] = n })
	wantProblem(t, "reused nonce", resp, body, errBadNonce, 400)
	// Expired nonce.
	n = f.nonce()
	f.clk.Add(2 * NonceLifetime)
	resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["nonce"] = n })
	wantProblem(t, "expired nonce", resp, body, errBadNonce, 400)
	// url mismatch.
	resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["url"] = f.url("/new-account") })
	wantProblem(t, "url mismatch", resp, body, errUnauthorized, 403)
	// No url at all: a required field missing is malformed (RFC 8555 6.4;
	// tester: unauthorized, "does not match").
	resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { delete(h, "url") })
	wantProblem(t, "no url", resp, body, errMalformed, 400)
	// A query is part of the URL (RFC 8555 6.4; tester: a request sent to
	// new-order?x=1 with url new-order was taken), either way round.
	resp, body = f.signed(no+"?x=1", key, acct.URI, order, func(h map[string]any) { h["url"] = no })
	wantProblem(t, "url without the request's query", resp, body, errUnauthorized, 403)
	resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["url"] = no + "?x=1" })
	wantProblem(t, "url with a query the request has not", resp, body, errUnauthorized, 403)
	// alg none and HS256.
	for _, alg := range []string{"none", "HS256"} {
		resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["alg"] = alg })
		wantProblem(t, "alg "+alg, resp, body, errBadSignatureAlgorithm, 400)
	}
	// An unsecured JWS (RFC 7515 A.5: alg none, the signature empty) is
	// refused for its algorithm too; an ES256 one without a signature is
	// malformed.
	unsecured := func(alg string) []byte {
		h, _ := json.Marshal(map[string]any{"alg": alg, "nonce": f.nonce(), "url": no, "kid": acct.URI})
		b, _ := json.Marshal(map[string]string{"protected": b64(h), "payload": b64(order), "signature": ""})
		return b
	}
	resp, body = f.rawPost(no, unsecured("none"), "application/jose+json")
	wantProblem(t, "unsecured JWS", resp, body, errBadSignatureAlgorithm, 400)
	resp, body = f.rawPost(no, unsecured("ES256"), "application/jose+json")
	wantProblem(t, "ES256 without a signature", resp, body, errMalformed, 400)
	// A supported alg that is not the account key's (a P-256 key signs
	// with ES256): badSignatureAlgorithm, not "does not verify".
	for _, alg := range []string{"ES384", "ES512", "RS256", "EdDSA"} {
		resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["alg"] = alg })
		wantProblem(t, "alg "+alg+" with a P-256 key", resp, body, errBadSignatureAlgorithm, 400)
		if !strings.Contains(string(body), `"algorithms"`) || !strings.Contains(string(body), "which signs with ES256") {
			t.Errorf("alg %s: the problem neither lists the algorithms nor names the key's: %s", alg, body)
		}
	}
	// jwk and kid together.
	resp, body = f.signed(no, key, acct.URI, order, func(h map[string]any) { h["jwk"] = jwkOf(t, key) })
	wantProblem(t, "jwk+kid", resp, body, errMalformed, 400)
	// jwk where a kid is required.
	resp, body = f.signed(no, key, "", order, nil)
	wantProblem(t, "jwk on newOrder", resp, body, errMalformed, 400)
	// Wrong Content-Type.
	hdr := map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": no, "kid": acct.URI}
	resp, body = f.rawPost(no, signES256(t, key, hdr, order), "application/json")
	wantProblem(t, "content type", resp, body, errMalformed, http.StatusUnsupportedMediaType)
	// Oversized body: refused with 413.
	big := []byte(`{"identifiers":[{"type":"dns","value":"` + strings.Repeat("a", 20<<10) + `"}]}`)
	resp, body = f.signed(no, key, acct.URI, big, nil)
	wantProblem(t, "oversized", resp, body, errMalformed, http.StatusRequestEntityTooLarge)
	// Signature by another key under this kid.
	resp, body = f.signed(no, newKey(t), acct.URI, order, nil)
	wantProblem(t, "wrong key for kid", resp, body, errMalformed, 400)
	// Compact serialization.
	resp, body = f.rawPost(no, []byte("eyJhbGciOiJFUzI1NiJ9.e30.AAAA"), "application/jose+json")
	wantProblem(t, "compact", resp, body, errMalformed, 400)
	// POST-as-GET with a payload on an order.
	resp, _ = f.signed(no, key, acct.URI, order, nil)
	loc := resp.Header.Get("Location")
	resp, body = f.signed(loc, key, acct.URI, []byte(`{}`), nil)
	wantProblem(t, "POST-as-GET with payload", resp, body, errMalformed, 400)
	resp, _ = f.signed(loc, key, acct.URI, nil, nil)
	if resp.StatusCode != 200 || resp.Header.Get("Link") == "" {
		t.Fatalf("POST-as-GET order: %d link %q", resp.StatusCode, resp.Header.Get("Link"))
	}
	// A nonce: HEAD 200 and GET 204.
	for method, want := range map[string]int{http.MethodHead: 200, http.MethodGet: 204} {
		req, _ := http.NewRequest(method, f.url("/new-nonce"), nil)
		r, err := f.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want || r.Header.Get("Replay-Nonce") == "" || r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s new-nonce: %d", method, r.StatusCode)
		}
	}
}

func TestOrderAndFinalizeRefusals(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired, "EC_prime256v1")
	ctx := context.Background()
	key := newKey(t)
	c, acct := f.register(key)

	for _, names := range [][]string{{"other.test"}, {"pending.test"}, {"lab.test", "evil.test"}} {
		_, err := c.AuthorizeOrder(ctx, acme.DomainIDs(names...))
		if !isProblem(err, errRejectedIdentifier) {
			t.Errorf("order %v: %v, want rejectedIdentifier", names, err)
		}
	}
	// Too many names: the count is at fault, not the name after the
	// quota, which the refusal named as an invalid domain name.
	var many []string
	for i := range 11 {
		many = append(many, fmt.Sprintf("n%d.lab.test", i))
	}
	if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs(many...)); !isProblem(err, errRejectedIdentifier) || !strings.Contains(err.Error(), "too many names: 11 distinct, at most 10") || strings.Contains(err.Error(), "n10.lab.test") {
		t.Errorf("order of 11 names: %v", err)
	}
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("a.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	// Disallowed key type.
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, rk, "a.lab.test"), true); !isProblem(err, errBadCSR) {
		t.Errorf("RSA key on an EC-only endpoint: %v", err)
	}
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, p384, "a.lab.test"), true); !isProblem(err, errBadCSR) {
		t.Errorf("P-384 key on a P-256-only endpoint: %v", err)
	}
	// CSR names differing.
	for _, names := range [][]string{{"b.lab.test"}, {"a.lab.test", "b.lab.test"}} {
		if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), names...), true); !isProblem(err, errBadCSR) {
			t.Errorf("CSR %v: %v, want badCSR", names, err)
		}
	}
	// OCSP must-staple asked for: refused, not dropped (tester).
	staple, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"a.lab.test"},
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 1, 24}, Value: []byte{0x30, 0x03, 0x02, 0x01, 0x05}}}}, newKey(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, staple, true); !isProblem(err, errBadCSR) || !strings.Contains(err.Error(), "must-staple") {
		t.Errorf("must-staple CSR: %v, want badCSR naming it", err)
	}
	// Two CNs (Go's parser keeps the last, so the first went unchecked
	// and was dropped) or an empty CN: refused with ca issue's reason
	// (tester).
	oidCN := asn1.ObjectIdentifier{2, 5, 4, 3}
	for _, tc := range []struct {
		cns  []string
		want string
	}{
		{[]string{"b.lab.test", "a.lab.test"}, `subject has 2 CNs ("b.lab.test", "a.lab.test")`},
		{[]string{""}, "subject CN is empty"},
	} {
		var subj pkix.Name
		for _, cn := range tc.cns {
			subj.ExtraNames = append(subj.ExtraNames, pkix.AttributeTypeAndValue{Type: oidCN, Value: cn})
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subj, DNSNames: []string{"a.lab.test"}}, newKey(t))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true); !isProblem(err, errBadCSR) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("CSR with CNs %q: %v, want badCSR saying %s", tc.cns, err, tc.want)
		}
	}
	// The account key as certificate key.
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, key, "a.lab.test"), true); !isProblem(err, errBadCSR) {
		t.Errorf("account key in CSR: %v", err)
	}
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "a.lab.test"), true)
	if err != nil {
		t.Fatalf("valid finalize after refusals: %v", err)
	}
	// Finalizing a valid order again: orderNotReady.
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "a.lab.test"), true); !isProblem(err, errOrderNotReady) {
		t.Errorf("second finalize: %v", err)
	}
	// Failures were counted.
	_ = f.v.Store.View(ctx, func(tx localstore.Tx) error {
		m, _ := acmestate.GetMetrics(tx, f.ep.ID)
		if m.CertificateIssuanceSuccess != 1 || m.CertificateIssuanceFailed != 8 {
			t.Errorf("metrics = %+v, want 1 success, 8 failures", m)
		}
		return nil
	})

	// Another account may not revoke it nor read the order.
	c2, acct2 := f.register(newKey(t))
	if err := c2.RevokeCert(ctx, nil, ders[0], acme.CRLReasonUnspecified); !isProblem(err, errUnauthorized) {
		t.Errorf("revoke by another account: %v", err)
	}
	if _, err := c2.GetOrder(ctx, o.URI); !isProblem(err, errUnauthorized) {
		t.Errorf("order read by another account: %v", err)
	}
	_ = acct2

	// Deactivated account: unauthorized afterwards.
	if err := c.DeactivateReg(ctx); err != nil {
		t.Fatalf("deactivate: %v", err)
	}
	if _, err := c.AuthorizeOrder(ctx, acme.DomainIDs("lab.test")); !isProblem(err, errUnauthorized) {
		t.Errorf("order by a deactivated account: %v", err)
	}
	_ = acct
}

func isProblem(err error, typ string) bool {
	ae, ok := err.(*acme.Error)
	return ok && ae.ProblemType == typ
}

func TestEndpointsIsolated(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	var ep2 *acmestate.Endpoint
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		ep2, err = acmestate.Create(tx, acmestate.CreateParams{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"}, f.clk.Now())
		if err != nil {
			return err
		}
		_, err = acmestate.AddDomain(tx, ep2, "two.test", acmestate.RandomRecord("z.test"), true, f.clk.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	key := newKey(t)
	c1, acct1 := f.register(key)
	// Endpoint 1's domains do not cover endpoint 2's.
	if _, err := c1.AuthorizeOrder(ctx, acme.DomainIDs("two.test")); !isProblem(err, errRejectedIdentifier) {
		t.Errorf("endpoint 1 ordering endpoint 2's domain: %v", err)
	}
	// Endpoint 1's account is unknown at endpoint 2 (kid of endpoint 1).
	url2 := f.ts.URL + "/" + ep2.ID + "/new-order"
	resp, body := f.signed(url2, key, acct1.URI, []byte(`{"identifiers":[{"type":"dns","value":"two.test"}]}`), nil)
	wantProblem(t, "kid of another endpoint", resp, body, errAccountDoesNotExist, 400)
	// The same key has no account at endpoint 2.
	c2 := &acme.Client{Key: key, DirectoryURL: f.ts.URL + "/" + ep2.ID + "/directory", HTTPClient: f.http}
	if _, err := c2.GetReg(ctx, ""); err == nil {
		t.Error("the key has an account at endpoint 2")
	}
	// Endpoint 1's EAB does not register at endpoint 2.
	kid, mac := f.eab(false, nil)
	_, err := c2.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS)
	if !isProblem(err, errUnauthorized) {
		t.Errorf("EAB of endpoint 1 at endpoint 2: %v", err)
	}
}

func TestKeyChange(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	k1, k2 := newKey(t), newKey(t)
	c1, a1 := f.register(k1)
	_, a2 := f.register(k2)
	// Rolling over to a key in use → 409 with the other account's URL.
	kc := f.url("/key-change")
	inner := signES256(t, k2, map[string]any{"alg": "ES256", "url": kc, "jwk": jwkOf(t, k2)},
		mustJSON(t, map[string]any{"account": a1.URI, "oldKey": jwkOf(t, k1)}))
	resp, body := f.signed(kc, k1, a1.URI, inner, nil)
	wantProblem(t, "key in use", resp, body, errMalformed, http.StatusConflict)
	if resp.Header.Get("Location") != a2.URI {
		t.Errorf("409 Location = %q, want %q", resp.Header.Get("Location"), a2.URI)
	}
	// An inner JWS with a nonce (RFC 8555 7.3.5: it must have none;
	// tester: taken, the key replaced) → malformed, the key kept; an
	// empty nonce member too.
	k4 := newKey(t)
	for _, nonce := range []string{f.nonce(), ""} {
		inner = signES256(t, k4, map[string]any{"alg": "ES256", "url": kc, "jwk": jwkOf(t, k4), "nonce": nonce},
			mustJSON(t, map[string]any{"account": a1.URI, "oldKey": jwkOf(t, k1)}))
		resp, body = f.signed(kc, k1, a1.URI, inner, nil)
		wantProblem(t, "inner JWS with a nonce", resp, body, errMalformed, http.StatusBadRequest)
		if !strings.Contains(string(body), "must not carry a nonce") {
			t.Errorf("inner JWS with a nonce %q: %s", nonce, body)
		}
	}
	if _, err := f.client(k4).GetReg(ctx, ""); err == nil {
		t.Error("the key of a refused key change finds the account")
	}
	// A real rollover with x/crypto/acme.
	k3 := newKey(t)
	if err := c1.AccountKeyRollover(ctx, k3); err != nil {
		t.Fatalf("rollover: %v", err)
	}
	if _, err := c1.AuthorizeOrder(ctx, acme.DomainIDs("lab.test")); err != nil {
		t.Fatalf("order with the new key: %v", err)
	}
	old := f.client(k1)
	if _, err := old.GetReg(ctx, ""); err == nil {
		t.Error("the old key still finds the account")
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNonceRace redeems one nonce from many goroutines: one wins.
func TestNonceRace(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	n, err := f.srv.Nonces().Issue()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if f.srv.Nonces().Redeem(n) {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("nonce redeemed %d times", wins)
	}
	// Over HTTP: the same signed request K times concurrently.
	key := newKey(t)
	_, acct := f.register(key)
	no := f.url("/new-order")
	hdr := map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": no, "kid": acct.URI}
	body := signES256(t, key, hdr, []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`))
	codes := make(chan int, 16)
	for i := 0; i < 16; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.http.Post(no, "application/jose+json", strings.NewReader(string(body)))
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		if c == http.StatusCreated {
			created++
		} else if c != http.StatusBadRequest {
			t.Errorf("unexpected status %d", c)
		}
	}
	if created != 1 {
		t.Fatalf("%d orders created from one nonce", created)
	}
}

// TestEABRace registers concurrently with one single-use credential: one
// registration succeeds and every other is refused because the credential
// is used (not for any other reason); the vault holds exactly one account,
// indexed once and bound to the credential, and the audit log one
// NewAccount success by that account beside one failure per refusal.
func TestEABRace(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	// x/crypto/acme retries a 5xx answer until its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	kid, mac := f.eab(false, nil)
	const n = 12
	keys := make([]*ecdsa.PrivateKey, n)
	for i := range keys {
		keys[i] = newKey(t)
	}
	type result struct {
		acct *acme.Account
		err  error
	}
	results := make(chan result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, k := range keys {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			a, err := f.client(k).Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS)
			results <- result{a, err}
		}()
	}
	close(start)
	wg.Wait()
	close(results)
	var won []*acme.Account
	for r := range results {
		switch {
		case r.err == nil:
			won = append(won, r.acct)
		case !isProblem(r.err, errUnauthorized) || !strings.Contains(r.err.Error(), "already used"):
			t.Errorf("a refused registration: %v; want unauthorized, credential already used", r.err)
		}
	}
	if len(won) != 1 {
		t.Fatalf("%d registrations succeeded with a single-use credential, want 1", len(won))
	}
	winner := won[0].URI[strings.LastIndexByte(won[0].URI, '/')+1:]
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		accts, err := tx.ListObjects(acmestate.KindAccount)
		if err != nil {
			return err
		}
		index, err := tx.ListObjects(acmestate.KindAccountKey)
		if err != nil {
			return err
		}
		b, err := acmestate.GetEAB(tx, kid)
		if err != nil {
			return err
		}
		if len(accts) != 1 || len(index) != 1 || len(b.Accounts) != 1 {
			t.Fatalf("accounts %d, key index %d, bound %d; want 1 each", len(accts), len(index), len(b.Accounts))
		}
		if accts[0].ID != winner || b.Accounts[0] != winner || string(index[0].Data) != winner {
			t.Errorf("stored account %s, bound %s, indexed %s; want the registered %s", accts[0].ID, b.Accounts[0], index[0].Data, winner)
		}
		a, err := acmestate.GetAccount(tx, winner)
		if err != nil {
			return err
		}
		if a.EABKeyID != kid {
			t.Errorf("account bound with %q, want %q", a.EABKeyID, kid)
		}
		recs, err := audit.List(tx, audit.Filter{EventName: "NewAccount"}, 0, 0)
		if err != nil {
			return err
		}
		ok, refused := 0, 0
		for _, r := range recs {
			if r.RequestParameters["ExternalAccountBindingKeyId"] != kid {
				t.Errorf("record %s: KeyId %v", r.EventID, r.RequestParameters["ExternalAccountBindingKeyId"])
			}
			switch {
			case r.Outcome == audit.OutcomeSuccess && r.Actor.ID == winner:
				ok++
			case r.Outcome == audit.OutcomeFailure && r.ErrorCode == "unauthorized":
				refused++
			default:
				t.Errorf("record %+v", r)
			}
		}
		if ok != 1 || refused != n-1 {
			t.Errorf("NewAccount records: %d successes by the account, %d refusals; want 1 and %d", ok, refused, n-1)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
