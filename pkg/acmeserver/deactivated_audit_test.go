package acmeserver

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// TestDeactivatedAccountRefusalsAudited: a change asked for by a
// deactivated account (RFC 8555 7.3.6: refused, 403 unauthorized) is
// recorded as that change refused — FAILURE, ErrorCode unauthorized, made
// by the account — as any other refusal of an authenticated request is
// (tester: it left no record). A read by it (POST-as-GET), a request whose
// signature is not the account's, and a replayed request record nothing;
// the chain still verifies.
func TestDeactivatedAccountRefusalsAudited(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	acctID := kid[strings.LastIndexByte(kid, '/')+1:]
	orderURL, o := f.rawOrder(key, kid, "www.lab.test")
	if resp, body := f.signed(kid, key, kid, []byte(`{"status":"deactivated"}`), nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("deactivate: %d %s", resp.StatusCode, body)
	}
	before := len(f.auditRecords())

	refused := func(name string, resp *http.Response, body []byte) {
		t.Helper()
		wantProblem(t, name, resp, body, errUnauthorized, http.StatusForbidden)
	}
	resp, body := f.orderWith(key, kid, nil, "www.lab.test")
	refused("new order", resp, body)
	csr, _ := json.Marshal(map[string]string{"csr": b64(csrFor(t, newKey(t), "www.lab.test"))})
	resp, body = f.signed(o.Finalize, key, kid, csr, nil)
	refused("finalize", resp, body)
	resp, body = f.signed(kid, key, kid, []byte(`{"contact":["mailto:x@lab.test"]}`), nil)
	refused("account update", resp, body)
	resp, body = f.signed(kid, key, kid, []byte(`{"status":"deactivated"}`), nil)
	refused("deactivated again", resp, body)
	// Not recorded: a read, a signature not by the account's key, a replay.
	resp, body = f.signed(orderURL, key, kid, nil, nil)
	refused("order read", resp, body)
	resp, body = f.signed(f.url("/new-order"), newKey(t), kid, []byte(`{"identifiers":[{"type":"dns","value":"www.lab.test"}]}`), nil)
	wantProblem(t, "signed by another key", resp, body, errMalformed, http.StatusBadRequest)
	replay := signES256(t, key, map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": f.url("/new-order"), "kid": kid},
		[]byte(`{"identifiers":[{"type":"dns","value":"www.lab.test"}]}`))
	resp, body = f.rawPost(f.url("/new-order"), replay, "application/jose+json")
	refused("new order, first", resp, body)
	resp, body = f.rawPost(f.url("/new-order"), replay, "application/jose+json")
	wantProblem(t, "new order, replayed", resp, body, errBadNonce, http.StatusBadRequest)

	recs := f.auditRecords()[before:]
	want := []string{"NewOrder", "FinalizeOrder", "UpdateAccount", "DeactivateAccount", "NewOrder"}
	var got []string
	for _, r := range recs {
		got = append(got, r.EventName)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("records after the deactivation: %v, want %v", got, want)
	}
	resources := []string{f.names.EndpointARN(f.ep.ID), acmestate.AccountARN(f.names, f.ep.ID, acctID)}
	for _, r := range recs {
		if r.Outcome != audit.OutcomeFailure || r.ErrorCode != "unauthorized" || !strings.Contains(r.ErrorMessage, "deactivated") {
			t.Errorf("%s: %s %s %q", r.EventName, r.Outcome, r.ErrorCode, r.ErrorMessage)
		}
		if r.Actor.Type != audit.ActorACMEAccount || r.Actor.ID != acctID {
			t.Errorf("%s: actor %+v", r.EventName, r.Actor)
		}
		if !slices.Equal(r.Resources, resources) {
			t.Errorf("%s: resources %v, want %v", r.EventName, r.Resources, resources)
		}
		if len(r.RequestParameters) != 0 {
			t.Errorf("%s: parameters %v", r.EventName, r.RequestParameters)
		}
	}
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		sealer, err := f.v.Sealer()
		if err != nil {
			return err
		}
		if _, p, err := audit.Verify(tx, sealer.AuditKey()); err != nil || p != nil {
			t.Errorf("audit verify: %v, %v", p, err)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// auditRecords lists the vault's audit records, oldest first.
func (f *fixture) auditRecords() []*audit.Record {
	f.t.Helper()
	var recs []*audit.Record
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) (err error) {
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return recs
}

// TestChangeNamesAreRoutes: every route refuseAccount names a change of is
// a route of the server (a pattern renamed would record nothing).
func TestChangeNamesAreRoutes(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	for pattern := range changeNames {
		method, path, _ := strings.Cut(pattern, " ")
		for _, v := range []string{"{ep}", "{id}", "{type}"} {
			path = strings.ReplaceAll(path, v, "x")
		}
		r, err := http.NewRequest(method, path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, got := f.srv.mux.Handler(r); got != pattern {
			t.Errorf("%s is routed to %q", pattern, got)
		}
	}
}
