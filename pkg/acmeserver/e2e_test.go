package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestEndToEnd drives the server with golang.org/x/crypto/acme: register
// with EAB, order a pre-approved name, finalize, download, verify the chain
// against the trust bundle, re-issue (same ARN, two versions), revoke
// (inventory REVOKED, CRL lists the serial), counters.
func TestEndToEnd(t *testing.T) {
	f := newFixture(t, acmestate.ContactRequired)
	ctx := context.Background()
	acctKey := newKey(t)
	c, acct := f.register(acctKey, "mailto:ops@lab.test")
	if acct.Status != acme.StatusValid || !strings.HasPrefix(acct.URI, f.url("/acct/")) {
		t.Fatalf("account = %+v", acct)
	}

	issue := func() ([][]byte, string) {
		t.Helper()
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("www.lab.test", "*.lab.test"))
		if err != nil {
			t.Fatalf("new order: %v", err)
		}
		if o.Status != acme.StatusReady || len(o.AuthzURLs) != 2 {
			t.Fatalf("order = %+v", o)
		}
		for _, u := range o.AuthzURLs {
			z, err := c.GetAuthorization(ctx, u)
			if err != nil || z.Status != acme.StatusValid || len(z.Challenges) == 0 {
				t.Fatalf("authz %s = %+v, %v", u, z, err)
			}
		}
		certKey := newKey(t)
		ders, certURL, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, certKey, "www.lab.test", "*.lab.test"), true)
		if err != nil {
			t.Fatalf("finalize: %v", err)
		}
		return ders, certURL
	}
	ders, certURL := issue()
	leaf, err := x509.ParseCertificate(ders[0])
	if err != nil {
		t.Fatal(err)
	}
	inter := x509.NewCertPool()
	for _, d := range ders[1:] {
		ic, err := x509.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		inter.AddCert(ic)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: f.roots, Intermediates: inter, DNSName: "www.lab.test", CurrentTime: f.clk.Now()}); err != nil {
		t.Fatalf("chain does not verify against the trust bundle: %v", err)
	}
	// The certificate URL serves the same chain.
	again, err := c.FetchCert(ctx, certURL, true)
	if err != nil || len(again) != len(ders) {
		t.Fatalf("fetch cert: %d, %v", len(again), err)
	}

	var certs []*localstore.Certificate
	view := func() {
		t.Helper()
		if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
			certs, err = tx.ListCertificates(localstore.CertificateFilter{Origins: []string{inventory.OriginACME}})
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	view()
	if len(certs) != 1 {
		t.Fatalf("inventory has %d ACME certificates, want 1", len(certs))
	}
	first := certs[0]
	if first.KeyPairOrigin != "ACME" || first.Type != "ISSUED" || first.AcmeEndpointID != f.ep.ID ||
		!strings.HasSuffix(acct.URI, "/"+first.AcmeAccountID) || first.Status != "ISSUED" ||
		len(first.Tags) != 1 || first.Tags[0].Key != "env" || first.RenewalEligibility != "INELIGIBLE" {
		t.Fatalf("inventory record = %+v", first)
	}

	// Re-issue: same ARN, version 2, version 1 kept.
	ders2, _ := issue()
	view()
	if len(certs) != 1 || certs[0].ID != first.ID || certs[0].Version != 2 {
		t.Fatalf("re-issue: %d certificates, version %d (want same ID, version 2)", len(certs), certs[0].Version)
	}
	leaf2, _ := x509.ParseCertificate(ders2[0])

	// Revoke by the account key (kid).
	if err := c.RevokeCert(ctx, nil, ders2[0], acme.CRLReasonKeyCompromise); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	view()
	if certs[0].Status != inventory.StatusRevoked || certs[0].RevocationReason != "KEY_COMPROMISE" {
		t.Fatalf("after revoke: status %s reason %s", certs[0].Status, certs[0].RevocationReason)
	}
	// The CRL of the issuing CA lists the serial.
	var crlDER []byte
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		r, err := authority.Get(tx, certs[0].CertificateAuthorityID)
		if err != nil {
			return err
		}
		crlDER, err = f.svc.CRL(tx, r)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	crl, err := x509.ParseRevocationList(crlDER)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, e := range crl.RevokedCertificateEntries {
		found = found || e.SerialNumber.Cmp(leaf2.SerialNumber) == 0
	}
	if !found {
		t.Fatalf("CRL does not list serial %s", x509util.FormatSerial(leaf2.SerialNumber))
	}
	// The responder served beside the endpoints has it too.
	resp, err := f.http.Get(f.ts.URL + "/crl/" + certs[0].CertificateAuthorityID + ".crl")
	if err != nil {
		t.Fatal(err)
	}
	served, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if l, err := x509.ParseRevocationList(served); err != nil || len(l.RevokedCertificateEntries) == 0 {
		t.Fatalf("served CRL: %v", err)
	}
	// Revoking again: alreadyRevoked (x/crypto/acme reports it as success,
	// so look at the raw answer).
	rresp, rbody := f.signed(f.url("/revoke-cert"), acctKey, acct.URI,
		[]byte(`{"certificate":"`+b64(ders2[0])+`"}`), nil)
	if pt := problemType(t, rresp, rbody); pt != errAlreadyRevoked {
		t.Fatalf("second revoke: %s", pt)
	}

	// Counters and /metrics.
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		m, err := acmestate.GetMetrics(tx, f.ep.ID)
		if err != nil {
			return err
		}
		if m.CertificateIssuanceSuccess != 2 || m.CertificateIssuanceFailed != 0 {
			t.Errorf("metrics = %+v", m)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	resp, err = f.http.Get(f.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `certctl_acme_certificate_issuance_success_total{arn="` + f.names.EndpointARN(f.ep.ID) + `"} 2`
	if !strings.Contains(string(body), want) {
		t.Fatalf("/metrics lacks %q:\n%s", want, body)
	}
}

// TestRevokeByCertificateKey revokes with the certificate's own key (jwk).
func TestRevokeByCertificateKey(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	certKey := newKey(t)
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, certKey, "lab.test"), true)
	if err != nil {
		t.Fatal(err)
	}
	// A stranger's key is refused.
	other := f.client(newKey(t))
	if err := other.RevokeCert(ctx, newKey(t), ders[0], acme.CRLReasonUnspecified); err == nil {
		t.Fatal("revocation signed by an unrelated key succeeded")
	}
	if err := f.client(certKey).RevokeCert(ctx, certKey, ders[0], acme.CRLReasonSuperseded); err != nil {
		t.Fatalf("revoke by certificate key: %v", err)
	}
}

// TestRevokeByAuthorizedAccount: RFC 8555 7.6 — an account that holds
// valid authorizations, proved by a challenge, for every name of a
// certificate another account obtained may revoke it (the server MUST
// consider it authorised); one that proved some names only may not, nor
// one whose authorizations are pre-approved (on a PRE_APPROVED endpoint
// any account gets them by ordering the names — review: a stranger could
// then revoke others' certificates and have their keys blocked). Its
// keyCompromise revokes but blocks nothing: only the certificate's own
// key proves the key compromised. A certificate of another endpoint is
// not found there (404 malformed, not 404 unauthorized).
func TestRevokeByAuthorizedAccount(t *testing.T) {
	f, env, owner := newChallengeFixture(t, "a.chal.test", "b.chal.test")
	ctx := context.Background()
	prove := func(c *acme.Client, names ...string) *acme.Order {
		t.Helper()
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(names...))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			z, zurl := authzFor(t, c, o, n)
			if z.Status == acme.StatusValid {
				continue
			}
			ch := challengeOfType(t, z, "http-01")
			body, _ := c.HTTP01ChallengeResponse(ch.Token)
			env.serveHTTP01(ch.Token, body)
			if _, err := c.Accept(ctx, ch); err != nil {
				t.Fatal(err)
			}
			if _, err := c.WaitAuthorization(ctx, zurl); err != nil {
				t.Fatal(err)
			}
		}
		return o
	}
	certKey := newKey(t)
	issue := func() []byte {
		t.Helper()
		o := prove(owner, "a.chal.test", "b.chal.test")
		if _, err := owner.WaitOrder(ctx, o.URI); err != nil {
			t.Fatal(err)
		}
		ders, _, err := owner.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, certKey, "a.chal.test", "b.chal.test"), true)
		if err != nil {
			t.Fatal(err)
		}
		return ders[0]
	}
	cert := issue()

	other, _ := f.register(newKey(t))
	if err := other.RevokeCert(ctx, nil, cert, acme.CRLReasonKeyCompromise); !isProblem(err, errUnauthorized) || !strings.Contains(err.Error(), "a pre-approved name") {
		// The refusal says that pre-approved names do not count (tester:
		// it claimed the RFC's rule for them too).
		t.Fatalf("revoke holding no authorization: %v, want unauthorized", err)
	}
	prove(other, "a.chal.test")
	if err := other.RevokeCert(ctx, nil, cert, acme.CRLReasonKeyCompromise); !isProblem(err, errUnauthorized) {
		t.Fatalf("revoke holding authorizations for some names only: %v, want unauthorized", err)
	}
	prove(other, "b.chal.test")
	if err := other.RevokeCert(ctx, nil, cert, acme.CRLReasonKeyCompromise); err != nil {
		t.Fatalf("revoke holding authorizations for every name: %v", err)
	}
	leaf, err := x509.ParseCertificate(cert)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		for _, r := range mustList(t, tx) {
			rec, err := tx.GetSerial(r, x509util.FormatSerial(leaf.SerialNumber))
			if err == nil {
				if rec.RevokedAt.IsZero() {
					t.Error("the serial is not revoked")
				}
				return nil
			}
		}
		t.Error("the serial is in no CA")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// Another account's keyCompromise blocked nothing: the owner's key
	// is certified again.
	cert = issue()

	// Once the authorizations expire, they authorise nothing.
	f.clk.Add(31 * 24 * time.Hour)
	if err := other.RevokeCert(ctx, nil, cert, acme.CRLReasonUnspecified); !isProblem(err, errUnauthorized) {
		t.Fatalf("revoke with expired authorizations: %v, want unauthorized", err)
	}

	// Pre-approved authorizations prove nothing.
	pf := newFixture(t, acmestate.ContactNotRequired)
	powner, _ := pf.register(newKey(t))
	o, err := powner.AuthorizeOrder(ctx, acme.DomainIDs("p.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	ders, _, err := powner.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "p.lab.test"), true)
	if err != nil {
		t.Fatal(err)
	}
	stranger, _ := pf.register(newKey(t))
	if _, err := stranger.AuthorizeOrder(ctx, acme.DomainIDs("p.lab.test")); err != nil {
		t.Fatal(err)
	}
	if err := stranger.RevokeCert(ctx, nil, ders[0], acme.CRLReasonKeyCompromise); !isProblem(err, errUnauthorized) {
		t.Fatalf("revoke by an account holding pre-approved authorizations: %v, want unauthorized", err)
	}

	// A certificate of another endpoint.
	var ep2 *acmestate.Endpoint
	if err := pf.v.Store.Update(ctx, func(tx localstore.Tx) error {
		var err error
		if ep2, err = acmestate.Create(tx, acmestate.CreateParams{AuthorizationBehavior: "PRE_APPROVED", Contact: "NOT_REQUIRED"}, pf.clk.Now()); err != nil {
			return err
		}
		_, err = acmestate.AddDomain(tx, ep2, "two.test", acmestate.RandomRecord("z.test"), true, pf.clk.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	c2 := &acme.Client{Key: newKey(t), DirectoryURL: pf.ts.URL + "/" + ep2.ID + "/directory", HTTPClient: pf.http}
	kid, mac := pf.eab(false, ep2)
	if _, err := c2.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS); err != nil {
		t.Fatal(err)
	}
	o, err = c2.AuthorizeOrder(ctx, acme.DomainIDs("two.test"))
	if err != nil {
		t.Fatal(err)
	}
	ders, _, err = c2.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "two.test"), true)
	if err != nil {
		t.Fatal(err)
	}
	err = powner.RevokeCert(ctx, nil, ders[0], acme.CRLReasonUnspecified)
	var ae *acme.Error
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusNotFound || ae.ProblemType != errMalformed {
		t.Fatalf("revoke of another endpoint's certificate: %v, want 404 malformed", err)
	}
}

// mustList lists the IDs of the vault's CAs.
func mustList(t *testing.T, tx localstore.Tx) []string {
	t.Helper()
	cas, err := authority.List(tx)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(cas))
	for i, r := range cas {
		ids[i] = r.ID
	}
	return ids
}

// TestFinalizeRefusesCompromisedKey: a key whose certificate was revoked
// for keyCompromise (here through ACME, by the certificate's own key) is
// not certified again: a finalize with it is badCSR. A key revoked as
// superseded still is.
func TestFinalizeRefusesCompromisedKey(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	issue := func(key *ecdsa.PrivateKey) ([]byte, error) {
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("k.lab.test"))
		if err != nil {
			t.Fatal(err)
		}
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, key, "k.lab.test"), true)
		if err != nil {
			return nil, err
		}
		return ders[0], nil
	}
	leaked, kept := newKey(t), newKey(t)
	der, err := issue(leaked)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.client(leaked).RevokeCert(ctx, leaked, der, acme.CRLReasonKeyCompromise); err != nil {
		t.Fatal(err)
	}
	if _, err := issue(leaked); !isProblem(err, errBadCSR) || !strings.Contains(err.Error(), "revoked for compromise") {
		t.Errorf("finalize with a key revoked for compromise: %v, want badCSR", err)
	}
	der, err = issue(kept)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.RevokeCert(ctx, nil, der, acme.CRLReasonSuperseded); err != nil {
		t.Fatal(err)
	}
	if _, err := issue(kept); err != nil {
		t.Errorf("finalize with a key revoked as superseded: %v", err)
	}
}

// TestOrderOfLongNames: an order's identifiers are a set (RFC 8555 7.4):
// a name over 64 octets — a valid SAN, too long for a common name —
// is ordered in any place (tester: listed first it was refused as the
// CN); the certificate's CN is the CSR's, else the first name that fits,
// and with none that fits the certificate has no CN and a critical SAN.
func TestOrderOfLongNames(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	long := strings.Repeat("a", 63) + "." + strings.Repeat("b", 20) + ".lab.test"
	for _, tc := range []struct {
		names  []string
		csrCN  string
		wantCN string
	}{
		{[]string{long, "short.lab.test"}, "", "short.lab.test"},
		{[]string{long, "x.lab.test", "y.lab.test"}, "y.lab.test", "y.lab.test"},
		{[]string{long, "short.lab.test"}, long, "short.lab.test"}, // a CSR CN too long for one (review)
		{[]string{long}, "", ""},
	} {
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(tc.names...))
		if err != nil {
			t.Fatalf("order %v: %v", tc.names, err)
		}
		key := newKey(t)
		tmpl := &x509.CertificateRequest{DNSNames: tc.names}
		tmpl.Subject.CommonName = tc.csrCN
		csr, err := x509.CreateCertificateRequest(rand.Reader, tmpl, key)
		if err != nil {
			t.Fatal(err)
		}
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
		if err != nil {
			t.Fatalf("finalize %v: %v", tc.names, err)
		}
		leaf, err := x509.ParseCertificate(ders[0])
		if err != nil {
			t.Fatal(err)
		}
		if leaf.Subject.CommonName != tc.wantCN || len(leaf.DNSNames) != len(tc.names) {
			t.Errorf("names %v: CN %q SAN %v, want CN %q and every name", tc.names, leaf.Subject.CommonName, leaf.DNSNames, tc.wantCN)
		}
		if tc.wantCN == "" {
			for _, e := range leaf.Extensions {
				if e.Id.Equal([]int{2, 5, 29, 17}) && !e.Critical {
					t.Error("a certificate without a subject has a SAN that is not critical")
				}
			}
		}
	}
}

// TestSearchByDeletedEndpoint: the certificates an endpoint issued outlive
// it (endpoint delete), and a search or selection by its whole UUID or ARN
// still finds them; a prefix of it, which names nothing any more, is not
// found (review).
func TestSearchByDeletedEndpoint(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("gone.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "gone.lab.test"), true); err != nil {
		t.Fatal(err)
	}
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error { _, err := acmestate.Delete(tx, f.ep.ID); return err }); err != nil {
		t.Fatal(err)
	}
	svc := certificates.New(f.core, certificates.Settings{})
	for _, ref := range []string{f.ep.ID, f.names.EndpointARN(f.ep.ID)} {
		page, err := svc.Search(ctx, certificates.SearchInput{Query: "endpoint:" + ref})
		if err != nil || len(page.Results) != 1 {
			t.Errorf("search endpoint:%s after its deletion: %v, %v", ref, page, err)
		}
	}
	if _, err := svc.Search(ctx, certificates.SearchInput{Query: "endpoint:" + f.ep.ID[:8]}); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("search by a prefix of a deleted endpoint: %v, want not found", err)
	}
}
