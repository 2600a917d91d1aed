package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
)

// rawAccount registers an account for key with raw JWS and returns its
// kid (account URL).
func (f *fixture) rawAccount(key *ecdsa.PrivateKey) string {
	f.t.Helper()
	kid, mac := f.eab(false, nil)
	resp, body := f.signed(f.url("/new-account"), key, "", f.newAccountBody(kid, mac, key), nil)
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("newAccount: %d %s", resp.StatusCode, body)
	}
	return resp.Header.Get("Location")
}

// rawOrder creates a ready order for names and returns its URL and object.
func (f *fixture) rawOrder(key *ecdsa.PrivateKey, kid string, names ...string) (string, orderJSON) {
	f.t.Helper()
	ids := make([]acmestate.Identifier, len(names))
	for i, n := range names {
		ids[i] = acmestate.Identifier{Type: "dns", Value: n}
	}
	payload, _ := json.Marshal(map[string]any{"identifiers": ids})
	resp, body := f.signed(f.url("/new-order"), key, kid, payload, nil)
	if resp.StatusCode != http.StatusCreated {
		f.t.Fatalf("newOrder: %d %s", resp.StatusCode, body)
	}
	var o orderJSON
	if err := json.Unmarshal(body, &o); err != nil {
		f.t.Fatal(err)
	}
	return resp.Header.Get("Location"), o
}

// readOrder reads an order by POST-as-GET.
func (f *fixture) readOrder(key *ecdsa.PrivateKey, kid, url string) orderJSON {
	f.t.Helper()
	resp, body := f.signed(url, key, kid, nil, nil)
	if resp.StatusCode != http.StatusOK {
		f.t.Fatalf("read order: %d %s", resp.StatusCode, body)
	}
	var o orderJSON
	if err := json.Unmarshal(body, &o); err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) finalizeBody(names ...string) []byte {
	b, _ := json.Marshal(map[string]string{"csr": b64(csrFor(f.t, newKey(f.t), names...))})
	return b
}

// TestFinalizeAfterDomainRemoved: RFC 8555 7.1.6 — a ready order whose
// name is no longer approved (`endpoint domain remove`) is refused at
// finalize and becomes invalid; no certificate is issued.
func TestFinalizeAfterDomainRemoved(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	url, o := f.rawOrder(key, kid, "www.lab.test")
	if o.Status != acmestate.AcmeReady {
		t.Fatalf("order %s", o.Status)
	}
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return acmestate.RemoveDomain(tx, f.ep.ID, "lab.test")
	}); err != nil {
		t.Fatal(err)
	}
	resp, body := f.signed(o.Finalize, key, kid, f.finalizeBody("www.lab.test"), nil)
	if resp.StatusCode < 400 {
		t.Fatalf("finalize after domain remove: %d %s", resp.StatusCode, body)
	}
	wantProblem(t, "finalize after domain remove", resp, body, errRejectedIdentifier, 0)
	if got := f.readOrder(key, kid, url); got.Status != acmestate.AcmeInvalid || got.Certificate != "" {
		t.Errorf("order after a refused finalize: %s %q, want invalid", got.Status, got.Certificate)
	}
	// Stored invalid, not only shown so.
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		so, err := acmestate.GetOrder(tx, url[strings.LastIndexByte(url, '/')+1:])
		if err == nil && so.Status != acmestate.AcmeInvalid {
			t.Errorf("stored order %s, want invalid", so.Status)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestPostAsGetDirectoryAndNonce: RFC 8555 6.3 — the directory and
// newNonce also answer POST-as-GET.
func TestPostAsGetDirectoryAndNonce(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	resp, body := f.signed(f.dirURL(), key, kid, nil, nil)
	var d directory
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &d) != nil || d.NewNonce != f.url("/new-nonce") {
		t.Errorf("POST-as-GET directory: %d %s", resp.StatusCode, body)
	}
	resp, body = f.signed(f.url("/new-nonce"), key, kid, nil, nil)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Replay-Nonce") == "" {
		t.Errorf("POST-as-GET newNonce: %d %s (nonce %q)", resp.StatusCode, body, resp.Header.Get("Replay-Nonce"))
	}
	// A POST that is not POST-as-GET is still refused.
	resp, body = f.signed(f.url("/new-nonce"), key, kid, []byte(`{}`), nil)
	wantProblem(t, "POST with a payload to newNonce", resp, body, errMalformed, http.StatusBadRequest)
}

// TestGetOnPostAsGetResource: a plain GET on a resource read by POST-as-GET,
// or another method on any resource, answers 405 with an Allow header.
func TestGetOnPostAsGetResource(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	url, o := f.rawOrder(key, kid, "lab.test")
	for _, u := range []string{kid, kid + "/orders", url, o.Authorizations[0], f.url("/chall/x"), f.url("/cert/x"),
		o.Finalize, f.url("/new-order"), f.url("/new-account")} {
		resp, err := f.http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(resp.Header.Get("Allow"), "POST") {
			t.Errorf("GET %s: %d, Allow %q; want 405 and POST", u, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
	// Any other method on any resource: 405 with what it takes.
	for _, tc := range []struct{ method, url, allow string }{
		{http.MethodPut, f.url("/new-order"), "POST"},
		{http.MethodDelete, kid, "POST"},
		{http.MethodPatch, o.Finalize, "POST"},
		{http.MethodOptions, f.url("/revoke-cert"), "POST"},
		{http.MethodDelete, f.url("/directory"), "GET, HEAD, POST"},
		{http.MethodPut, f.url("/new-nonce"), "GET, HEAD, POST"},
	} {
		f.wantNotAllowed(tc.method, tc.url, tc.allow)
	}
	// An unknown path is still 404.
	resp, err := f.http.Get(f.url("/nowhere"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown: %d", resp.StatusCode)
	}
}

// TestCSRKeyNotAllowedIsBadCSR: RFC 8555 7.4 — a CSR whose key the
// endpoint does not allow is a badCSR (badPublicKey is about the JWS key).
func TestCSRKeyNotAllowedIsBadCSR(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired, "EC_prime256v1")
	key := newKey(t)
	kid := f.rawAccount(key)
	_, o := f.rawOrder(key, kid, "lab.test")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	csr, _ := json.Marshal(map[string]string{"csr": b64(csrFor(t, p384, "lab.test"))})
	resp, body := f.signed(o.Finalize, key, kid, csr, nil)
	wantProblem(t, "P-384 CSR on a P-256 endpoint", resp, body, errBadCSR, http.StatusBadRequest)
}

// TestProtectedHeaderCaseSensitive: header parameter names are
// case-sensitive (RFC 7515 4); "KID", "URL" and "Nonce" are not kid, url
// and nonce — go-jose sees none of them, so neither may the server.
func TestProtectedHeaderCaseSensitive(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	no := f.url("/new-order")
	order := []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`)
	rename := func(from, to string) func(map[string]any) {
		return func(h map[string]any) { h[to] = h[from]; delete(h, from) }
	}
	for _, c := range []struct{ from, to string }{{"kid", "KID"}, {"url", "URL"}, {"nonce", "Nonce"}, {"alg", "Alg"}} {
		resp, body := f.signed(no, key, kid, order, rename(c.from, c.to))
		if resp.StatusCode < 400 {
			t.Errorf("%s as %s: accepted (%d)", c.from, c.to, resp.StatusCode)
			continue
		}
		if got := problemType(t, resp, body); got != errMalformed && got != errBadSignatureAlgorithm {
			t.Errorf("%s as %s: %s, want malformed", c.from, c.to, got)
		}
	}
	// Both spellings: the exact one must not be shadowed either.
	resp, body := f.signed(no, key, kid, order, func(h map[string]any) { h["Kid"] = "https://elsewhere/acct/1" })
	wantProblem(t, "kid beside Kid", resp, body, errMalformed, http.StatusBadRequest)
	// The exact spelling still works.
	resp, body = f.signed(no, key, kid, order, nil)
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("exact header: %d %s", resp.StatusCode, body)
	}
}

// TestProtectedHeaderCrit: a JWS whose protected header names extensions
// in crit, which this server understands none of, is refused (RFC 7515
// 4.1.11) as malformed, saying so — not as a signature that does not
// verify, which it does (tester).
func TestProtectedHeaderCrit(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	order := []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`)
	resp, body := f.signed(f.url("/new-order"), key, kid, order, func(h map[string]any) { h["crit"] = []string{"x"}; h["x"] = 1 })
	wantProblem(t, "crit", resp, body, errMalformed, http.StatusBadRequest)
	if !strings.Contains(string(body), "crit") || strings.Contains(string(body), "does not verify") {
		t.Errorf("problem %s does not say crit is refused", body)
	}
}
