package acmeserver

import (
	"context"
	"errors"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
)

// certOf returns the inventory record issued for the order at orderURL.
func (f *fixture) certOf(orderURL string) *localstore.Certificate {
	f.t.Helper()
	var c *localstore.Certificate
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		o, err := acmestate.GetOrder(tx, orderURL[len(f.url("/order/")):])
		if err != nil {
			return err
		}
		c, err = tx.GetCertificate(o.CertificateID)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// TestChallengeValidationMethod: a certificate records how its name was
// proved in ACM's ValidationMethod enumeration (DNS, EMAIL, HTTP), which
// search filters on: HTTP for http-01, DNS for dns-01 and for a name the
// endpoint's domain validation pre-approved, none for tls-alpn-01.
func TestChallengeValidationMethod(t *testing.T) {
	f, env, c := newChallengeFixture(t, "web.chal.test")
	ctx := context.Background()

	obtain := func(name string, prove func(z *acme.Authorization)) *localstore.Certificate {
		t.Helper()
		o, z, zurl := orderAuthz(ctx, t, c, name)
		var err error
		if prove != nil {
			prove(z)
			if _, err := c.WaitAuthorization(ctx, zurl); err != nil {
				t.Fatal(err)
			}
		}
		if o, err = c.WaitOrder(ctx, o.URI); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), name), true); err != nil {
			t.Fatalf("finalize: %v", err)
		}
		return f.certOf(o.URI)
	}
	http01 := obtain("web.chal.test", func(z *acme.Authorization) {
		ch := challengeOfType(t, z, "http-01")
		body, _ := c.HTTP01ChallengeResponse(ch.Token)
		env.serveHTTP01(ch.Token, body)
		if _, err := c.Accept(ctx, ch); err != nil {
			t.Fatal(err)
		}
	})
	if http01.ValidationMethod != "HTTP" {
		t.Errorf("http-01: ValidationMethod %q, want HTTP", http01.ValidationMethod)
	}
	dns01 := obtain("txt.chal.test", func(z *acme.Authorization) {
		ch := challengeOfType(t, z, "dns-01")
		rec, _ := c.DNS01ChallengeRecord(ch.Token)
		env.dns.Add(t, `_acme-challenge.txt.chal.test. 60 IN TXT "`+rec+`"`)
		if _, err := c.Accept(ctx, ch); err != nil {
			t.Fatal(err)
		}
	})
	if dns01.ValidationMethod != "DNS" {
		t.Errorf("dns-01: ValidationMethod %q, want DNS", dns01.ValidationMethod)
	}
	if pre := obtain("www.lab.test", nil); pre.ValidationMethod != "DNS" {
		t.Errorf("pre-approved: ValidationMethod %q, want DNS", pre.ValidationMethod)
	}
}

// TestDeactivateInvalidAuthorization: invalid is a final state of an
// authorization (RFC 8555 7.1.6); a request to deactivate it is refused
// and it stays invalid, its failed challenge shown.
func TestDeactivateInvalidAuthorization(t *testing.T) {
	_, _, c := newChallengeFixture(t, "bad.chal.test")
	ctx := context.Background()
	_, z, zurl := orderAuthz(ctx, t, c, "bad.chal.test")
	var err error
	ch := challengeOfType(t, z, "http-01")
	if got, err := c.Accept(ctx, ch); err != nil || got.Status != acme.StatusInvalid {
		t.Fatalf("accept with nothing served: %+v, %v", got, err)
	}
	if err := c.RevokeAuthorization(ctx, zurl); !isProblem(err, errMalformed) {
		t.Errorf("deactivating an invalid authorization: %v, want malformed", err)
	}
	z, err = c.GetAuthorization(ctx, zurl)
	if err != nil || z.Status != acme.StatusInvalid || len(z.Challenges) != 1 || z.Challenges[0].Error == nil {
		t.Errorf("authorization after the refused deactivation: %+v, %v; want invalid with its failed challenge", z, err)
	}
}

// setAuthorization changes f's endpoint as `endpoint update` would.
func (f *fixture) setAuthorization(behavior string, types ...string) {
	f.t.Helper()
	if len(types) == 0 {
		types = nil
	}
	f.editEndpoint(func(ep *acmestate.Endpoint) error { return ep.SetAuthorization(behavior, types) })
}

// editEndpoint changes f's endpoint in the store with edit (and f.ep with it).
func (f *fixture) editEndpoint(edit func(ep *acmestate.Endpoint) error) {
	f.t.Helper()
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		ep, err := acmestate.Get(tx, f.ep.ID)
		if err != nil {
			return err
		}
		if err := edit(ep); err != nil {
			return err
		}
		f.ep = ep
		return acmestate.Put(tx, ep)
	}); err != nil {
		f.t.Fatal(err)
	}
}

// TestChallengeAfterEndpointUpdate: the endpoint as it is when a challenge
// is answered and when the order is finalized decides. A challenge of a
// type no longer offered, or of an endpoint switched to PRE_APPROVED,
// fails unchecked, as a failed check does: it, its authorization and its
// order become invalid, the reason (rejectedIdentifier: the server's
// policy, not the account's fault) in its error, so that the client's
// poll ends (tester: 403 unauthorized, and all three pending for ever). An
// endpoint switched to PRE_APPROVED issues for pre-approved names only,
// whatever challenges proved before.
func TestChallengeAfterEndpointUpdate(t *testing.T) {
	f, env, c := newChallengeFixture(t, "a.chal.test", "b.chal.test")
	ctx := context.Background()
	order := func(name string) (*acme.Order, *acme.Challenge, string) {
		t.Helper()
		o, z, zurl := orderAuthz(ctx, t, c, name)
		ch := challengeOfType(t, z, "http-01")
		body, _ := c.HTTP01ChallengeResponse(ch.Token)
		env.serveHTTP01(ch.Token, body)
		return o, ch, zurl
	}
	withdrawn := func(what string, o *acme.Order, ch *acme.Challenge, zurl, detail string) {
		t.Helper()
		var ae *acme.Error
		got, err := c.Accept(ctx, ch)
		if err != nil || got.Status != acme.StatusInvalid || !errors.As(got.Error, &ae) || ae.ProblemType != errRejectedIdentifier || ae.Detail != detail {
			t.Errorf("%s: %+v, %v; want invalid with rejectedIdentifier %q", what, got, err, detail)
		}
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if _, err := c.WaitAuthorization(wctx, zurl); err == nil || errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: WaitAuthorization: %v, want the authorization invalid at once", what, err)
		}
		z, err := c.GetAuthorization(ctx, zurl)
		if err != nil || z.Status != acme.StatusInvalid || len(z.Challenges) != 1 || z.Challenges[0].Type != "http-01" ||
			!errors.As(z.Challenges[0].Error, &ae) || ae.ProblemType != errRejectedIdentifier {
			t.Errorf("%s: authorization %+v, %v; want invalid listing the failed http-01", what, z, err)
		}
		if o, err = c.GetOrder(ctx, o.URI); err != nil || o.Status != acme.StatusInvalid || o.Error == nil || o.Error.ProblemType != errRejectedIdentifier {
			t.Errorf("%s: order %+v, %v; want invalid with rejectedIdentifier", what, o, err)
		}
		if n := env.hits.Load(); n != 0 {
			t.Errorf("%s: %d fetches, want none", what, n)
		}
	}

	// http-01 dropped from the endpoint after it was offered.
	o, ch, zurl := order("a.chal.test")
	f.setAuthorization(acmestate.BehaviorChallenge, "dns-01")
	withdrawn("http-01 no longer offered", o, ch, zurl, "this endpoint no longer offers http-01 challenges for a.chal.test: a new order is offered dns-01")
	// The endpoint switched to PRE_APPROVED after it was offered.
	f.setAuthorization(acmestate.BehaviorChallenge)
	o, ch, zurl = order("a.chal.test")
	f.setAuthorization(acmestate.BehaviorPreApproved)
	withdrawn("endpoint switched to PRE_APPROVED", o, ch, zurl, "this endpoint no longer validates challenges: it issues for pre-approved domains only")
	// Each is recorded as the failed validation it is (RespondToChallenge,
	// then ValidateChallenge a FAILURE).
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		recs, err := audit.List(tx, audit.Filter{EventName: "ValidateChallenge"}, 0, 10)
		if err != nil {
			return err
		}
		if len(recs) != 2 || recs[0].Outcome != audit.OutcomeFailure || recs[0].ErrorCode != "rejectedIdentifier" || recs[1].ErrorCode != "rejectedIdentifier" {
			t.Errorf("ValidateChallenge records %+v, want two FAILUREs, rejectedIdentifier", recs)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	// A name proved by http-01, then the endpoint switched to PRE_APPROVED.
	f.setAuthorization(acmestate.BehaviorChallenge)
	o, ch, _ = order("b.chal.test")
	if got, err := c.Accept(ctx, ch); err != nil || got.Status != acme.StatusValid {
		t.Fatalf("accept: %+v, %v", got, err)
	}
	f.setAuthorization(acmestate.BehaviorPreApproved)
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "b.chal.test"), true); !isProblem(err, errRejectedIdentifier) {
		t.Errorf("finalize for a challenged name on an endpoint now PRE_APPROVED: %v, want rejectedIdentifier", err)
	}
}

// TestValidationMethodOfChallenges: a certificate's ValidationMethod (and
// its events' DomainValidationMethod) names how its names were proved:
// DNS for dns-01 and pre-approved names, HTTP for http-01 and tls-alpn-01
// (both a connection to the host) — never empty.
func TestValidationMethodOfChallenges(t *testing.T) {
	proved := func(typ string) []*acmestate.Authz {
		return []*acmestate.Authz{{Status: acmestate.AcmeValid, Challenges: []acmestate.Challenge{
			{Type: "other", Status: acmestate.AcmePending}, {Type: typ, Status: acmestate.AcmeValid}}}}
	}
	for typ, want := range map[string]string{
		validation.ChallengeDNS01: "DNS", validation.ChallengeHTTP01: "HTTP", validation.ChallengeTLSALPN01: "HTTP",
	} {
		if got := validationMethod(proved(typ)); got != want {
			t.Errorf("%s: %q, want %q", typ, got, want)
		}
	}
	if got := validationMethod([]*acmestate.Authz{{Status: acmestate.AcmeValid}}); got != "DNS" {
		t.Errorf("pre-approved: %q, want DNS", got)
	}
}

// TestDeactivateValidAuthorizationKeepsItsChallenge: valid is a final
// state of a challenge (RFC 8555 7.1.6). A valid authorization the client
// deactivates lists the challenge that validated it, still valid, and
// not the others (RFC 8555 7.1.4) — proved by http-01, or pre-approved
// (tester: the pre-approved one turned invalid, its validated time kept;
// the proved one listed the unused challenges again, pending).
func TestDeactivateValidAuthorizationKeepsItsChallenge(t *testing.T) {
	_, env, c := newChallengeFixture(t, "web.chal.test")
	ctx := context.Background()
	for _, name := range []string{"web.chal.test", "www.lab.test"} {
		_, z, zurl := orderAuthz(ctx, t, c, name)
		if name == "web.chal.test" {
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
		valid, err := c.GetAuthorization(ctx, zurl)
		if err != nil || valid.Status != acme.StatusValid || len(valid.Challenges) != 1 || valid.Challenges[0].Status != acme.StatusValid {
			t.Fatalf("%s: before: %+v, %v", name, valid, err)
		}
		if err := c.RevokeAuthorization(ctx, zurl); err != nil {
			t.Fatalf("%s: deactivate: %v", name, err)
		}
		z, err = c.GetAuthorization(ctx, zurl)
		if err != nil || z.Status != acme.StatusDeactivated || len(z.Challenges) != 1 {
			t.Fatalf("%s: after: %+v, %v", name, z, err)
		}
		if got, want := z.Challenges[0], valid.Challenges[0]; got.Status != acme.StatusValid || got.Type != want.Type || got.URI != want.URI || !got.Validated.Equal(want.Validated) {
			t.Errorf("%s: the challenge of the deactivated authorization is %+v, want %+v", name, got, want)
		}
	}
}
