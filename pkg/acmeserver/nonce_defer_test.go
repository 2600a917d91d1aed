package acmeserver

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/certctl/certctl/pkg/acmestate"
)

// newOrder and finalize redeem their nonce in the transaction of their
// change (authenticateDeferred); every other outcome redeems it on its
// own. A nonce is still used once whatever the outcome, and a replayed one
// still gets badNonce.
func TestDeferredNonceUsedOnce(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	_, acct := f.register(key)
	no := f.url("/new-order")
	good := []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`)
	post := func(url string, n string, payload []byte) (*http.Response, []byte) {
		return f.signed(url, key, acct.URI, payload, func(h map[string]any) { h["nonce"] = n })
	}

	// Refused before the change (notBefore), inside it (an IP
	// identifier), and by the payload: each nonce is spent.
	for _, bad := range []string{
		`{"identifiers":[{"type":"dns","value":"lab.test"}],"notBefore":"2030-01-01T00:00:00Z"}`,
		`{"identifiers":[{"type":"ip","value":"192.0.2.1"}]}`,
		`not json`,
	} {
		n := f.nonce()
		if resp, body := post(no, n, []byte(bad)); resp.StatusCode == http.StatusCreated {
			t.Fatalf("%s: created: %s", bad, body)
		}
		resp, body := post(no, n, good)
		wantProblem(t, "nonce of a refused new order again", resp, body, errBadNonce, 400)
	}

	// Committed with the order: the same request again is badNonce.
	n := f.nonce()
	resp, body := post(no, n, good)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("new order: %d %s", resp.StatusCode, body)
	}
	var o struct {
		Status   string `json:"status"`
		Finalize string `json:"finalize"`
	}
	if err := json.Unmarshal(body, &o); err != nil || o.Finalize == "" {
		t.Fatalf("order: %v %s", err, body)
	}
	resp, body = post(no, n, good)
	wantProblem(t, "replayed new order", resp, body, errBadNonce, 400)

	// Finalize: a refused CSR spends its nonce; a successful finalize
	// commits its nonce with the certificate.
	other := []byte(`{"csr":"` + b64(csrFor(t, newKey(t), "other.test")) + `"}`)
	csr := []byte(`{"csr":"` + b64(csrFor(t, newKey(t), "lab.test")) + `"}`)
	n = f.nonce()
	if resp, body := post(o.Finalize, n, other); resp.StatusCode == http.StatusOK {
		t.Fatalf("finalize with a CSR for other names: %s", body)
	}
	resp, body = post(o.Finalize, n, csr)
	wantProblem(t, "nonce of a refused finalize again", resp, body, errBadNonce, 400)

	// (The refused CSR made the order invalid: a new one.)
	resp, body = post(no, f.nonce(), good)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("new order: %d %s", resp.StatusCode, body)
	}
	if err := json.Unmarshal(body, &o); err != nil {
		t.Fatal(err)
	}
	n = f.nonce()
	if resp, body := post(o.Finalize, n, csr); resp.StatusCode != http.StatusOK {
		t.Fatalf("finalize: %d %s", resp.StatusCode, body)
	}
	resp, body = post(o.Finalize, n, csr)
	wantProblem(t, "replayed finalize", resp, body, errBadNonce, 400)

	// The same new order sent at once by several: exactly one is created.
	const K = 8
	body = signES256(t, key, map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": no, "kid": acct.URI}, good)
	var created, replayed atomic.Int32
	var wg sync.WaitGroup
	for range K {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, data := f.rawPost(no, body, "application/jose+json")
			switch {
			case resp.StatusCode == http.StatusCreated:
				created.Add(1)
			case resp.StatusCode == http.StatusBadRequest && problemType(t, resp, data) == errBadNonce:
				replayed.Add(1)
			default:
				t.Errorf("concurrent replay: %d %s", resp.StatusCode, data)
			}
		}()
	}
	wg.Wait()
	if created.Load() != 1 || replayed.Load() != K-1 {
		t.Fatalf("%d created, %d badNonce of %d, want 1 and %d", created.Load(), replayed.Load(), K, K-1)
	}
}
