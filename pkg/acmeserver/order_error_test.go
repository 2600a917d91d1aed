package acmeserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
)

// wantOrderError checks that o is invalid with an error problem document
// (RFC 8555 7.1.3) of type typ whose detail says each of words.
func wantOrderError(t *testing.T, name string, o orderJSON, typ string, words ...string) {
	t.Helper()
	if o.Status != acmestate.AcmeInvalid {
		t.Errorf("%s: order %s, want invalid", name, o.Status)
	}
	if o.Error == nil {
		t.Fatalf("%s: invalid order with no error", name)
	}
	if o.Error.Type != typ || o.Error.Status != http.StatusForbidden {
		t.Errorf("%s: error %s %d, want %s 403", name, o.Error.Type, o.Error.Status, typ)
	}
	for _, w := range words {
		if !strings.Contains(o.Error.Detail, w) {
			t.Errorf("%s: error detail %q does not say %q", name, o.Error.Detail, w)
		}
	}
}

// TestInvalidOrderError: an order invalid because the client deactivated
// one of its authorizations (RFC 8555 7.5.2) carries an error naming the
// identifier (review: it had none, so certbot and lego had nothing to
// show), read before and after a finalize refused for it, which answers
// orderNotReady and stores that error; an order that expired unfinalized
// carries one too. No certificate comes of the refused finalize (what
// TestFinalizeAfterAuthzDeactivated checked, folded in here).
func TestInvalidOrderError(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	url, o := f.rawOrder(key, kid, "a.lab.test", "b.lab.test")
	resp, body := f.signed(o.Authorizations[1], key, kid, []byte(`{"status":"deactivated"}`), nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"deactivated"`) {
		t.Fatalf("deactivate authz: %d %s", resp.StatusCode, body)
	}
	wantOrderError(t, "read after the deactivation", f.readOrder(key, kid, url), errUnauthorized, "b.lab.test", "deactivated")
	resp, body = f.signed(o.Finalize, key, kid, f.finalizeBody("a.lab.test", "b.lab.test"), nil)
	wantProblem(t, "finalize", resp, body, errOrderNotReady, http.StatusForbidden)
	after := f.readOrder(key, kid, url)
	wantOrderError(t, "read after the finalize", after, errUnauthorized, "b.lab.test", "deactivated")
	if after.Certificate != "" {
		t.Errorf("order after a refused finalize has a certificate: %q", after.Certificate)
	}
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		so, err := acmestate.GetOrder(tx, url[strings.LastIndexByte(url, '/')+1:])
		if err == nil && (so.Status != acmestate.AcmeInvalid || so.Error == nil || so.Error.Type != errUnauthorized) {
			t.Errorf("stored order %s, error %+v; want invalid with unauthorized", so.Status, so.Error)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// Expired before it was finalized.
	url, _ = f.rawOrder(key, kid, "c.lab.test")
	f.clk.Add(OrderLifetime)
	wantOrderError(t, "expired order", f.readOrder(key, kid, url), errUnauthorized, "expired")
}
