package acmeserver

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// deactivatedAccount registers an account on f and deactivates it: every
// change it asks for then is refused (unauthorized) before the change.
func (f *fixture) deactivatedAccount() (key *ecdsa.PrivateKey, kid, id string, o orderJSON) {
	f.t.Helper()
	key = newKey(f.t)
	kid = f.rawAccount(key)
	id = kid[strings.LastIndexByte(kid, '/')+1:]
	_, o = f.rawOrder(key, kid, "www.lab.test")
	if resp, body := f.signed(kid, key, kid, []byte(`{"status":"deactivated"}`), nil); resp.StatusCode != http.StatusOK {
		f.t.Fatalf("deactivate: %d %s", resp.StatusCode, body)
	}
	return key, kid, id, o
}

// wantRefusalRecord checks r is the refusal record of change event by
// account id — the same shape whether written by a request or a flush —
// and returns its RefusedAgain ("<nil>" for none).
func (f *fixture) wantRefusalRecord(r *audit.Record, event, id string, resources []string) string {
	f.t.Helper()
	if r.EventName != event || r.Outcome != audit.OutcomeFailure || r.ErrorCode != "unauthorized" ||
		r.Actor.Type != audit.ActorACMEAccount || r.Actor.ID != id {
		f.t.Errorf("record %s %s %s by %+v, want %s FAILURE unauthorized by %s", r.EventName, r.Outcome, r.ErrorCode, r.Actor, event, id)
	}
	if !slices.Equal(r.Resources, resources) {
		f.t.Errorf("%s: resources %v, want %v", r.EventName, r.Resources, resources)
	}
	return fmt.Sprint(r.RequestParameters["RefusedAgain"])
}

// TestRefusalCountFlushed: refusals left out of the log within
// refusalWindow are recorded once the window ends even when no request
// of the same follows (review: the count was written only by the next
// such record, and lost when the burst stopped), and when the server
// closes; the flushed record looks like the others. Both stores.
func TestRefusalCountFlushed(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testRefusalCountFlushed(t, newFixture(t, acmestate.ContactNotRequired)) })
	t.Run("postgres", func(t *testing.T) {
		testRefusalCountFlushed(t, newFixtureOn(t, localstore.Options{StoreURL: pgtest.FreshSchema(t)}, acmestate.ContactNotRequired))
	})
}

func testRefusalCountFlushed(t *testing.T, f *fixture) {
	key, kid, id, _ := f.deactivatedAccount()
	resources := []string{f.names.EndpointARN(f.ep.ID), acmestate.AccountARN(f.names, f.ep.ID, id)}
	before := len(f.auditRecords())
	refusedOrders(t, f, key, kid, 3)
	if n := len(f.auditRecords()) - before; n != 1 {
		t.Fatalf("%d records within the window, want 1", n)
	}
	// Not yet at the window's end: nothing to flush.
	f.clk.Add(refusalWindow - time.Second)
	f.srv.flushRefusals()
	if n := len(f.auditRecords()) - before; n != 1 {
		t.Fatalf("%d records before the window ended, want 1", n)
	}
	f.clk.Add(time.Second)
	f.srv.flushRefusals()
	recs := f.auditRecords()[before:]
	if len(recs) != 2 {
		t.Fatalf("%d records after the window ended, want 2", len(recs))
	}
	if got := f.wantRefusalRecord(recs[0], "NewOrder", id, resources); got != "<nil>" {
		t.Errorf("first record: RefusedAgain %s", got)
	}
	if got := f.wantRefusalRecord(recs[1], "NewOrder", id, resources); got != "2" {
		t.Errorf("flushed record: RefusedAgain %s, want 2", got)
	}
	if !strings.Contains(recs[1].ErrorMessage, "deactivated") {
		t.Errorf("flushed record: message %q", recs[1].ErrorMessage)
	}
	// The flush began a window: the same again is counted, and recorded
	// when the server closes, its window not ended.
	resp, body := f.orderWith(key, kid, nil, "www.lab.test")
	wantProblem(t, "new order after the flush", resp, body, errUnauthorized, http.StatusForbidden)
	if n := len(f.auditRecords()) - before; n != 2 {
		t.Fatalf("%d records, want 2", n)
	}
	f.srv.Close()
	recs = f.auditRecords()[before:]
	if len(recs) != 3 {
		t.Fatalf("%d records after Close, want 3", len(recs))
	}
	if got := f.wantRefusalRecord(recs[2], "NewOrder", id, resources); got != "1" {
		t.Errorf("record at Close: RefusedAgain %s, want 1", got)
	}
	// Closed: each refusal is recorded.
	resp, body = f.orderWith(key, kid, nil, "www.lab.test")
	wantProblem(t, "new order after Close", resp, body, errUnauthorized, http.StatusForbidden)
	if n := len(f.auditRecords()) - before; n != 4 {
		t.Errorf("%d records after a refusal past Close, want 4", n)
	}
	f.verifyAudit()
}

// TestRefusalFlushTimer: the server's own timer records a count at its
// window's end, no request and no explicit flush needed.
func TestRefusalFlushTimer(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key, kid, id, _ := f.deactivatedAccount()
	before := len(f.auditRecords())
	resp, body := f.orderWith(key, kid, nil, "www.lab.test")
	wantProblem(t, "new order", resp, body, errUnauthorized, http.StatusForbidden)
	// Counted a moment before the window ends: the timer is set to
	// refusalFlushMin, by when the window ended.
	f.clk.Add(refusalWindow - time.Millisecond)
	resp, body = f.orderWith(key, kid, nil, "www.lab.test")
	wantProblem(t, "new order again", resp, body, errUnauthorized, http.StatusForbidden)
	f.clk.Add(time.Millisecond)
	deadline := time.Now().Add(10 * time.Second)
	for len(f.auditRecords())-before < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	recs := f.auditRecords()[before:]
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2 (the timer's flush)", len(recs))
	}
	resources := []string{f.names.EndpointARN(f.ep.ID), acmestate.AccountARN(f.names, f.ep.ID, id)}
	if got := f.wantRefusalRecord(recs[1], "NewOrder", id, resources); got != "1" {
		t.Errorf("flushed record: RefusedAgain %s, want 1", got)
	}
	f.srv.Close()
}

// TestRefusalKeyNamesTarget: refusals of the same change by the same
// account aimed at different things are different refusals, each
// recorded with what it aimed at (review: a key change naming account B,
// then one naming C within a minute recorded only B's, and that without
// naming B; two certificates' refused revocations likewise).
func TestRefusalKeyNamesTarget(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	ka, kb, kc := newKey(t), newKey(t), newKey(t)
	kidA, kidB, kidC := f.rawAccount(ka), f.rawAccount(kb), f.rawAccount(kc)
	id := func(kid string) string { return kid[strings.LastIndexByte(kid, '/')+1:] }
	before := len(f.auditRecords())
	kcURL, k3 := f.url("/key-change"), newKey(t)
	for _, named := range []string{kidB, kidC, kidB} {
		inner := signES256(t, k3, map[string]any{"alg": "ES256", "url": kcURL, "jwk": jwkOf(t, k3)},
			mustJSON(t, map[string]any{"account": named, "oldKey": jwkOf(t, ka)}))
		resp, body := f.signed(kcURL, ka, kidA, inner, nil)
		wantProblem(t, "key change naming another account", resp, body, errUnauthorized, http.StatusForbidden)
	}
	if n := len(f.auditRecords()) - before; n != 2 {
		t.Fatalf("%d records of key changes naming B, C, B, want 2", n)
	}
	f.clk.Add(refusalWindow)
	f.srv.flushRefusals()
	recs := f.auditRecords()[before:]
	if len(recs) != 3 {
		t.Fatalf("%d records after the window, want 3", len(recs))
	}
	for i, named := range []string{kidB, kidC, kidB} {
		want := []string{f.names.EndpointARN(f.ep.ID), acmestate.AccountARN(f.names, f.ep.ID, id(kidA)),
			acmestate.AccountARN(f.names, f.ep.ID, id(named))}
		wantAgain := map[int]string{0: "<nil>", 1: "<nil>", 2: "1"}[i]
		if got := f.wantRefusalRecord(recs[i], "KeyChange", id(kidA), want); got != wantAgain {
			t.Errorf("record %d: RefusedAgain %s, want %s", i, got, wantAgain)
		}
	}

	// A deactivated account's revocations of two certificates.
	key, kid, did, _ := f.deactivatedAccount()
	before = len(f.auditRecords())
	var serials []string
	for i := int64(1); i <= 2; i++ {
		der := selfSigned(t, big.NewInt(1000+i))
		payload := mustJSON(t, map[string]any{"certificate": b64(der)})
		for j := 0; j < 2; j++ {
			resp, body := f.signed(f.url("/revoke-cert"), key, kid, payload, nil)
			wantProblem(t, "revocation by a deactivated account", resp, body, errUnauthorized, http.StatusForbidden)
		}
		serials = append(serials, fmt.Sprint(f.serialOf(der)))
	}
	f.clk.Add(refusalWindow)
	f.srv.flushRefusals()
	recs = f.auditRecords()[before:]
	resources := []string{f.names.EndpointARN(f.ep.ID), acmestate.AccountARN(f.names, f.ep.ID, did)}
	var got []string
	for _, r := range recs {
		again := f.wantRefusalRecord(r, "RevokeCertificate", did, resources)
		got = append(got, fmt.Sprint(r.RequestParameters["Serial"])+" "+again)
	}
	want := []string{serials[0] + " <nil>", serials[1] + " <nil>", serials[0] + " 1", serials[1] + " 1"}
	if !slices.Equal(got, want) {
		t.Errorf("revocation records (serial, RefusedAgain): %v, want %v", got, want)
	}
	f.verifyAudit()
}

// selfSigned is a certificate with serial sn, of no CA of the vault.
func selfSigned(t *testing.T, sn *big.Int) []byte {
	t.Helper()
	k := newKey(t)
	tmpl := &x509.Certificate{SerialNumber: sn, Subject: pkix.Name{CommonName: "x.lab.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.Public(), k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func (f *fixture) serialOf(der []byte) string {
	f.t.Helper()
	if s := revokedSerial(mustJSON(f.t, map[string]any{"certificate": b64(der)})); s != "" {
		return s
	}
	f.t.Fatal("no serial")
	return ""
}

// TestRefusalLimiterFull: past its bound, a new refusal evicts the oldest
// key, whose count is recorded first, not dropped (review: counts were
// dropped, and each new key scanned the whole map).
func TestRefusalLimiterFull(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	f.srv.refusals.max = 2
	key, kid, id, o := f.deactivatedAccount()
	resources := []string{f.names.EndpointARN(f.ep.ID), acmestate.AccountARN(f.names, f.ep.ID, id)}
	before := len(f.auditRecords())
	refusedOrders(t, f, key, kid, 3)
	csr := mustJSON(t, map[string]string{"csr": b64(csrFor(t, newKey(t), "www.lab.test"))})
	resp, body := f.signed(o.Finalize, key, kid, csr, nil)
	wantProblem(t, "finalize", resp, body, errUnauthorized, http.StatusForbidden)
	resp, body = f.signed(kid, key, kid, []byte(`{"contact":["mailto:x@lab.test"]}`), nil)
	wantProblem(t, "account update", resp, body, errUnauthorized, http.StatusForbidden)
	recs := f.auditRecords()[before:]
	var got []string
	for _, r := range recs {
		got = append(got, r.EventName+" "+f.wantRefusalRecord(r, r.EventName, id, resources))
	}
	want := []string{"NewOrder <nil>", "FinalizeOrder <nil>", "NewOrder 2", "UpdateAccount <nil>"}
	if !slices.Equal(got, want) {
		t.Errorf("records: %v, want %v", got, want)
	}
	if n := len(f.srv.refusals.byKey); n != 2 || f.srv.refusals.order.Len() != 2 {
		t.Errorf("%d keys kept, want 2", n)
	}
	f.verifyAudit()
}

// TestRefusalLimiterBounded: a full limiter takes a new key in O(1) — it
// evicts its oldest key — and keeps its keys and its list as one.
func TestRefusalLimiterBounded(t *testing.T) {
	var l refusalLimiter
	now := time.Now()
	// One key an account: each account's targets are few (see
	// TestRefusalTargetsBounded).
	rf := func(i int) *refusal {
		return &refusal{account: fmt.Sprint("a", i%(refusalLimiterMax+2)), event: "NewOrder", problem: unauthorized("no"), resources: []string{fmt.Sprint("arn:order/", i)}}
	}
	for i := 0; i < refusalLimiterMax; i++ {
		if ok, _, ev := l.allow(rf(i), now); !ok || ev != nil {
			t.Fatalf("key %d: allow %v, evicted %v", i, ok, ev)
		}
	}
	// Key 0 counted, then a new key evicts it: its count comes back.
	if ok, _, _ := l.allow(rf(0), now); ok {
		t.Fatal("the same key within the window was allowed")
	}
	ok, _, ev := l.allow(rf(refusalLimiterMax), now)
	if !ok || ev == nil || ev.again != 1 || ev.rf.resources[0] != "arn:order/0" {
		t.Fatalf("new key past the bound: allow %v, evicted %+v", ok, ev)
	}
	// The next new key evicts key 1, which has no count.
	if ok, _, ev := l.allow(rf(refusalLimiterMax+1), now); !ok || ev != nil {
		t.Fatalf("next new key: allow %v, evicted %+v", ok, ev)
	}
	if len(l.byKey) != refusalLimiterMax || l.order.Len() != refusalLimiterMax || l.pending != 0 || len(l.kinds) != refusalLimiterMax {
		t.Errorf("%d keys, %d listed, %d pending, %d kinds", len(l.byKey), l.order.Len(), l.pending, len(l.kinds))
	}
	if _, ok := l.byKey[rf(1).key()]; ok {
		t.Error("key 1 kept")
	}
}

// TestRefusalTargetsBounded: the targets of one account's refusals of one
// kind are told apart up to refusalTargetsMax a window; past it, they are
// counted under the kind alone (OtherTargets), so that a client naming a
// new target each time (its own certificates' serials, random account
// IDs) cannot make a record a request (review: 50 revocations by a
// deactivated account made 50 records). No count is lost; the next window
// tells targets apart again; the kinds go with their keys.
func TestRefusalTargetsBounded(t *testing.T) {
	var l refusalLimiter
	now := time.Now()
	rf := func(i int) *refusal {
		return &refusal{account: "a", event: "RevokeCertificate", problem: unauthorized("no"), params: []refusalParam{{Name: "Serial", Value: fmt.Sprint(i)}}}
	}
	recorded := 0
	var other *refusal
	for i := 0; i < 50; i++ {
		r := rf(i)
		ok, again, ev := l.allow(r, now)
		if ev != nil || again != 0 {
			t.Fatalf("refusal %d: again %d, evicted %+v", i, again, ev)
		}
		if ok {
			recorded++
			// What the caller records: the target past the bound is
			// not named.
			if told := i < refusalTargetsMax; told != (len(r.params) == 1 && r.params[0].Name == "Serial") {
				t.Errorf("refusal %d recorded as %+v", i, r.params)
			}
		}
	}
	if recorded != refusalTargetsMax+1 {
		t.Errorf("%d records of 50 targets in a window, want %d (each of the first %d, then one for the others)", recorded, refusalTargetsMax+1, refusalTargetsMax)
	}
	// Another account, or another kind, is not held by this one's.
	if ok, _, _ := l.allow(&refusal{account: "b", event: "RevokeCertificate", problem: unauthorized("no"), params: []refusalParam{{Name: "Serial", Value: "1"}}}, now); !ok {
		t.Error("another account's refusal was not recorded")
	}
	due, _ := l.due(now.Add(refusalWindow))
	l.flushing.Done()
	total := 0
	for _, p := range due {
		total += p.again
		if len(p.rf.resources) == 0 && len(p.rf.params) == 1 && p.rf.params[0].Name == "OtherTargets" {
			other = p.rf
		}
	}
	if other == nil || total != 50-recorded {
		t.Errorf("the window's end: %d counted in %d records, want %d with an OtherTargets one", total, len(due), 50-recorded)
	}
	// A new window tells targets apart again.
	if ok, _, _ := l.allow(rf(100), now.Add(refusalWindow+time.Second)); !ok {
		t.Error("a new target in the next window was not recorded")
	}
	l.drain()
	if len(l.kinds) != 0 || len(l.byKey) != 0 {
		t.Errorf("drained: %d kinds, %d keys left", len(l.kinds), len(l.byKey))
	}
}

// refusedOrders sends n new orders signed by a deactivated account's key,
// each refused unauthorized.
func refusedOrders(t *testing.T, f *fixture, key *ecdsa.PrivateKey, kid string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		resp, body := f.orderWith(key, kid, nil, "www.lab.test")
		wantProblem(t, "new order", resp, body, errUnauthorized, http.StatusForbidden)
	}
}
