package acmeserver

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// vaultCA makes a root CA of the vault per req (key and subject filled in)
// and, when use is set, makes the fixture's endpoint issue from it.
func (f *fixture) vaultCA(req authority.CreateRequest, use bool) *authority.Record {
	f.t.Helper()
	req.Type, req.KeyAlgorithm = authority.TypeRoot, x509util.ECPrime256v1
	req.Subject = authority.Subject{CommonName: "Lab Root " + time.Now().Format("150405.000000"), Organization: "Lab"}
	var ca *authority.Record
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		var err error
		if ca, err = f.svc.Create(tx, req); err != nil {
			return err
		}
		if !use {
			return nil
		}
		return f.useCA(tx, ca.ID)
	}); err != nil {
		f.t.Fatal(err)
	}
	return ca
}

// useCA makes the fixture's endpoint issue from the CA id.
func (f *fixture) useCA(tx localstore.Tx, id string) error {
	ep, err := acmestate.Get(tx, f.ep.ID)
	if err != nil {
		return err
	}
	ep.CertificateAuthorityID = id
	return acmestate.Put(tx, ep)
}

// setCAStatus sets the status of the vault CA id, as ca update would.
func (f *fixture) setCAStatus(id, status string) {
	f.t.Helper()
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		r, err := authority.Get(tx, id)
		if err != nil {
			return err
		}
		r.Status = status
		return authority.Put(tx, r)
	}); err != nil {
		f.t.Fatal(err)
	}
}

// lastAudit is the newest audit record named event.
func (f *fixture) lastAudit(event string) *audit.Record {
	f.t.Helper()
	var out *audit.Record
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		recs, err := audit.List(tx, audit.Filter{}, 0, 0)
		for _, r := range recs {
			if r.EventName == event {
				out = r
			}
		}
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	if out == nil {
		f.t.Fatalf("no %s audit record", event)
	}
	return out
}

// failedIssuances is the endpoint's CertificateIssuanceFailed counter.
func (f *fixture) failedIssuances() int64 {
	f.t.Helper()
	var m acmestate.Metrics
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		m, err = acmestate.GetMetrics(tx, f.ep.ID)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return m.CertificateIssuanceFailed
}

// wantRefusal checks a refused request's problem (type, status, a part of
// its detail) and the FAILURE audit record of event with its ErrorCode.
func (f *fixture) wantRefusal(name string, resp *http.Response, body []byte, typ string, status int, detail, event, code string) {
	f.t.Helper()
	wantProblem(f.t, name, resp, body, typ, status)
	var p Problem
	_ = json.Unmarshal(body, &p)
	if !strings.Contains(p.Detail, detail) || strings.Contains(p.Detail, "internal error") {
		f.t.Errorf("%s: detail %q, want it to say %q", name, p.Detail, detail)
	}
	if r := f.lastAudit(event); r.Outcome != audit.OutcomeFailure || r.ErrorCode != code {
		f.t.Errorf("%s: %s audit record %s %q, want FAILURE %q", name, event, r.Outcome, r.ErrorCode, code)
	}
}

// TestCARefusals: an issuance the endpoint's vault CA refuses by a rule is
// answered with a problem naming the cause and recorded as a FinalizeOrder
// FAILURE with the CA's reason, never "500 internal error"; the order
// becomes invalid with that problem as its error, so that a client that
// asks again is told orderNotReady and the failure is counted once. A name
// outside the CA's name constraints is refused when the order is made.
func TestCARefusals(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ctx := context.Background()
	key := newKey(t)
	kid := f.rawAccount(key)
	f.vaultCA(authority.CreateRequest{Validity: 5 * 365 * 24 * time.Hour}, true)
	constrained := f.vaultCA(authority.CreateRequest{Validity: 5 * 365 * 24 * time.Hour,
		NameConstraints: &authority.NameConstraints{Permitted: &authority.Subtrees{DnsNames: []string{"ok.lab.test"}}}}, false)

	// An order made under the unconstrained CA, finalized after the
	// endpoint moved to the constrained one: refused at finalize.
	orderURL, o := f.rawOrder(key, kid, "bad.lab.test")
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error { return f.useCA(tx, constrained.ID) }); err != nil {
		t.Fatal(err)
	}
	resp, body := f.signed(o.Finalize, key, kid, f.finalizeBody("bad.lab.test"), nil)
	f.wantRefusal("finalize outside the name constraints", resp, body, errRejectedIdentifier, http.StatusBadRequest,
		"DNS name bad.lab.test is outside the name constraints", "FinalizeOrder", authority.ReasonDomainNotAllowed)
	if got := f.readOrder(key, kid, orderURL); got.Status != acmestate.AcmeInvalid || got.Error == nil || got.Error.Type != errRejectedIdentifier {
		t.Errorf("order after the refusal: %s, error %+v; want invalid with the refusal", got.Status, got.Error)
	}
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("bad.lab.test"), nil)
	wantProblem(t, "finalize again", resp, body, errOrderNotReady, http.StatusForbidden)
	if n := f.failedIssuances(); n != 1 {
		t.Errorf("CertificateIssuanceFailed = %d after one refused order finalized twice, want 1", n)
	}
	// The count is the server's bookkeeping: the FinalizeOrder FAILURE is
	// the record of the refusal, with no CountIssuanceFailure beside it
	// (tester).
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		recs, err := audit.List(tx, audit.Filter{EventName: "CountIssuanceFailure"}, 0, 10)
		if len(recs) != 0 {
			t.Errorf("CountIssuanceFailure records: %+v", recs)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Now the endpoint issues from the constrained CA: newOrder refuses
	// the names it does not allow, one subproblem each.
	payload, _ := json.Marshal(map[string]any{"identifiers": []acmestate.Identifier{
		{Type: "dns", Value: "ok.lab.test"}, {Type: "dns", Value: "bad.lab.test"}, {Type: "dns", Value: "*.lab.test"}}})
	resp, body = f.signed(f.url("/new-order"), key, kid, payload, nil)
	f.wantRefusal("newOrder outside the name constraints", resp, body, errRejectedIdentifier, http.StatusBadRequest,
		"does not issue for bad.lab.test, *.lab.test", "NewOrder", authority.ReasonDomainNotAllowed)
	var p Problem
	_ = json.Unmarshal(body, &p)
	if len(p.Subproblems) != 2 || p.Subproblems[0].Identifier.Value != "bad.lab.test" || p.Subproblems[1].Identifier.Value != "*.lab.test" {
		t.Errorf("subproblems: %+v", p.Subproblems)
	}
	// A name it allows is issued.
	f.obtain(key, kid, nil, "ok.lab.test")

	// A CA that expires before the certificate would (the server's
	// validity is 90 days).
	short := f.vaultCA(authority.CreateRequest{Validity: 30 * 24 * time.Hour}, true)
	_, o = f.rawOrder(key, kid, "short.lab.test")
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("short.lab.test"), nil)
	f.wantRefusal("finalize beyond the CA's validity", resp, body, errServerInternal, http.StatusForbidden,
		"after the issuing CA's", "FinalizeOrder", authority.ReasonInvalidDuration)

	// A disabled CA.
	f.setCAStatus(short.ID, authority.StatusDisabled)
	before := f.failedIssuances()
	_, o = f.rawOrder(key, kid, "off.lab.test")
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("off.lab.test"), nil)
	f.wantRefusal("finalize on a disabled CA", resp, body, errServerInternal, http.StatusForbidden,
		"is DISABLED", "FinalizeOrder", authority.ReasonInvalidState)
	for range 2 { // as a client that retries would
		resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("off.lab.test"), nil)
		wantProblem(t, "finalize again", resp, body, errOrderNotReady, http.StatusForbidden)
	}
	if n := f.failedIssuances() - before; n != 1 {
		t.Errorf("a disabled CA's order finalized three times counts %d failed issuances, want 1", n)
	}

	// The public-style root, which an earlier release let an endpoint
	// name: it signs only domain-validated certificates.
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		r, err := f.svc.EnsurePublicRoot(tx)
		if err != nil {
			return err
		}
		return f.useCA(tx, r.ID)
	}); err != nil {
		t.Fatal(err)
	}
	_, o = f.rawOrder(key, kid, "pub.lab.test")
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("pub.lab.test"), nil)
	f.wantRefusal("finalize from the public-style root", resp, body, errServerInternal, http.StatusForbidden,
		"signs only domain-validated certificates", "FinalizeOrder", authority.ReasonInvalidState)

	// A CA whose record is gone from the store (certctl never removes
	// one; someone with database access can): newOrder leaves it to
	// finalize, which says so (final review: authority.Get's not-found
	// error was tested with errors.Is, which it does not match).
	gone := f.vaultCA(authority.CreateRequest{}, true)
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error { return tx.DeleteObject(authority.ObjectKind, gone.ID) }); err != nil {
		t.Fatal(err)
	}
	_, o = f.rawOrder(key, kid, "gone.lab.test")
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("gone.lab.test"), nil)
	f.wantRefusal("finalize with the CA's record gone", resp, body, errServerInternal, http.StatusForbidden,
		"is gone from the vault", "FinalizeOrder", authority.ReasonNotFound)
}
