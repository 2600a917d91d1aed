package acmeserver

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"testing"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/localstore"
)

// countingStore counts what the server does with its store: read
// transactions, objects read by kind and certificate records written.
type countingStore struct {
	localstore.Store
	mu       sync.Mutex
	views    int
	reads    map[string]int
	certPuts int
}

func (c *countingStore) reset() {
	c.mu.Lock()
	c.views, c.reads, c.certPuts = 0, map[string]int{}, 0
	c.mu.Unlock()
}

func (c *countingStore) View(ctx context.Context, fn func(localstore.Tx) error) error {
	c.mu.Lock()
	c.views++
	c.mu.Unlock()
	return c.Store.View(ctx, func(tx localstore.Tx) error { return fn(countingTx{tx, c}) })
}

func (c *countingStore) Update(ctx context.Context, fn func(localstore.Tx) error) error {
	return c.Store.Update(ctx, func(tx localstore.Tx) error { return fn(countingTx{tx, c}) })
}

type countingTx struct {
	localstore.Tx
	c *countingStore
}

func (t countingTx) GetObject(kind, id string) (*localstore.Object, error) {
	t.c.mu.Lock()
	t.c.reads[kind]++
	t.c.mu.Unlock()
	return t.Tx.GetObject(kind, id)
}

func (t countingTx) PutCertificate(c *localstore.Certificate) error {
	t.c.mu.Lock()
	t.c.certPuts++
	t.c.mu.Unlock()
	return t.Tx.PutCertificate(c)
}

// TestOrderRequestsReadOnce: each request of an order reads what it
// needs in one read transaction (the order, its authorization or its
// certificate with the endpoint and account), finalize reads the order's
// authorizations only in the transaction that issues, and writes the
// certificate's record once.
func TestOrderRequestsReadOnce(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	cs := &countingStore{Store: f.v.Store}
	cs.reset()
	f.v.Store = cs
	key := newKey(t)
	c, acct := f.register(key)
	o, err := c.AuthorizeOrder(context.Background(), acme.DomainIDs("www.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	post := func(url string, payload []byte) []byte {
		t.Helper()
		nonce := f.nonce()
		cs.reset()
		hdr := map[string]any{"alg": "ES256", "nonce": nonce, "url": url, "kid": acct.URI}
		resp, body := f.rawPost(url, signES256(t, key, hdr, payload), "application/jose+json")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", url, resp.StatusCode, body)
		}
		return body
	}
	check := func(what string, views, certPuts int, reads map[string]int) {
		t.Helper()
		cs.mu.Lock()
		defer cs.mu.Unlock()
		if cs.views != views {
			t.Errorf("%s: %d read transactions, want %d", what, cs.views, views)
		}
		if cs.certPuts != certPuts {
			t.Errorf("%s: certificate record written %d times, want %d", what, cs.certPuts, certPuts)
		}
		for kind, n := range reads {
			if cs.reads[kind] != n {
				t.Errorf("%s: %d %s objects read, want %d (all: %v)", what, cs.reads[kind], kind, n, cs.reads)
			}
		}
	}

	var z authzJSON
	if err := json.Unmarshal(post(o.AuthzURLs[0], nil), &z); err != nil || len(z.Challenges) == 0 {
		t.Fatalf("authorization: %v, %d challenges", err, len(z.Challenges))
	}
	check("authorization", 1, 0, map[string]int{acmestate.KindAuthz: 1})
	post(z.Challenges[0].URL, nil)
	check("challenge", 1, 0, map[string]int{acmestate.KindAuthz: 1})

	csr, _ := json.Marshal(map[string]string{"csr": b64(csrFor(t, newKey(t), "www.lab.test"))})
	var out orderJSON
	if err := json.Unmarshal(post(o.FinalizeURL, csr), &out); err != nil {
		t.Fatal(err)
	}
	if out.Status != acmestate.AcmeValid || out.Certificate == "" {
		t.Fatalf("finalize: order %s, certificate %q", out.Status, out.Certificate)
	}
	check("finalize", 1, 1, map[string]int{acmestate.KindOrder: 2, acmestate.KindAuthz: 1})

	post(out.Certificate, nil)
	check("certificate", 1, 0, map[string]int{acmestate.KindOrder: 1})

	post(o.URI, nil)
	check("order", 1, 0, map[string]int{acmestate.KindOrder: 1, acmestate.KindAuthz: 0}) // valid: its authorizations do not matter
}
