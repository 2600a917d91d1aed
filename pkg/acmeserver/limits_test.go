package acmeserver

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
)

// lbBase is the URL clients see for servers behind a (pretend) balancer.
const lbBase = "https://acme.lb.test"

// node is one more server on the fixture's store, with URLs under lbBase
// as if behind a load balancer, served over TLS on its own port.
type node struct {
	f   *fixture
	srv *Server
	ts  *httptest.Server
}

func (f *fixture) node(lim Limits) *node {
	f.t.Helper()
	var cert *tls.Certificate
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		var err error
		cert, err = ServingCertificate(tx, f.svc, []string{"127.0.0.1"})
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	n := &node{f: f, srv: New(Config{Core: f.core, BaseURL: lbBase, Validity: 90 * 24 * time.Hour, Limits: lim})}
	n.ts = httptest.NewUnstartedServer(n.srv)
	n.ts.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	n.ts.StartTLS()
	f.t.Cleanup(n.ts.Close)
	return n
}

// url is the URL clients see of a resource of the fixture's endpoint.
func (n *node) url(path string) string { return lbBase + "/" + n.f.ep.ID + path }

// post signs payload for the balancer's URL of path and sends it to this
// node, with a nonce this node issued.
func (n *node) post(path string, key *ecdsa.PrivateKey, kid string, payload []byte) (*http.Response, []byte) {
	n.f.t.Helper()
	req, _ := http.NewRequest(http.MethodHead, n.ts.URL+"/"+n.f.ep.ID+"/new-nonce", nil)
	resp, err := n.f.http.Do(req)
	if err != nil {
		n.f.t.Fatal(err)
	}
	resp.Body.Close()
	hdr := map[string]any{"alg": "ES256", "nonce": resp.Header.Get("Replay-Nonce"), "url": n.url(path)}
	if kid == "" {
		hdr["jwk"] = jwkOf(n.f.t, key)
	} else {
		hdr["kid"] = kid
	}
	return n.f.rawPost(n.ts.URL+"/"+n.f.ep.ID+path, signES256(n.f.t, key, hdr, payload), "application/jose+json")
}

// register makes an account of key through this node.
func (n *node) register(key *ecdsa.PrivateKey) (*http.Response, []byte) {
	kid, mac := n.f.eab(false, nil)
	b, _ := json.Marshal(map[string]any{"termsOfServiceAgreed": true,
		"externalAccountBinding": eabJWS(n.f.t, kid, mac, n.url("/new-account"), key)})
	return n.post("/new-account", key, "", b)
}

var labOrder = []byte(`{"identifiers":[{"type":"dns","value":"lab.test"}]}`)

// wantRateLimited asserts a rateLimited problem whose Retry-After is want
// seconds.
func wantRateLimited(t *testing.T, name string, resp *http.Response, body []byte, want int) {
	t.Helper()
	wantProblem(t, name, resp, body, errRateLimited, http.StatusTooManyRequests)
	if got := resp.Header.Get("Retry-After"); got != strconv.Itoa(want) {
		t.Errorf("%s: Retry-After %q, want %d", name, got, want)
	}
}

// TestOrdersRateLimitShared: acme.orders_per_hour counts an account's
// orders in the store, so that two servers share the limit: the order
// beyond it is refused on whichever server it lands, with the seconds until
// the window frees a slot, and admitted once the hour has passed.
func TestOrdersRateLimitShared(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	lim := Limits{OrdersPerHour: 3}
	a, b := f.node(lim), f.node(lim)
	key := newKey(t)
	resp, body := a.register(key)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	kid := resp.Header.Get("Location")
	for i, n := range []*node{a, b, a} {
		if resp, body := n.post("/new-order", key, kid, labOrder); resp.StatusCode != http.StatusCreated {
			t.Fatalf("order %d: %d %s", i+1, resp.StatusCode, body)
		}
		f.clk.Add(time.Minute)
	}
	// Orders at t0, t0+1m, t0+2m; now t0+3m: a slot frees at t0+60m.
	resp, body = b.post("/new-order", key, kid, labOrder)
	wantRateLimited(t, "4th order, on the other server", resp, body, 57*60)
	resp, body = a.post("/new-order", key, kid, labOrder)
	wantRateLimited(t, "4th order again, on the first server", resp, body, 57*60)
	// Another account has its own window.
	k2 := newKey(t)
	resp, _ = b.register(k2)
	if resp, body := b.post("/new-order", k2, resp.Header.Get("Location"), labOrder); resp.StatusCode != http.StatusCreated {
		t.Errorf("another account's order: %d %s", resp.StatusCode, body)
	}
	f.clk.Add(57 * time.Minute)
	if resp, body := b.post("/new-order", key, kid, labOrder); resp.StatusCode != http.StatusCreated {
		t.Errorf("order once the hour has passed: %d %s", resp.StatusCode, body)
	}
	resp, body = a.post("/new-order", key, kid, labOrder)
	wantRateLimited(t, "the next one", resp, body, 60)

	// The refusal is recorded, with the ACME error type.
	var recs []*audit.Record
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		recs, err = audit.List(tx, audit.Filter{EventName: "NewOrder"}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	failed := 0
	for _, r := range recs {
		if r.Outcome == audit.OutcomeFailure && r.ErrorCode == "rateLimited" {
			failed++
		}
	}
	if failed != 3 {
		t.Errorf("%d NewOrder records refused rateLimited, want 3", failed)
	}
}

// TestOrdersRateLimitConcurrent: two servers taking orders of one account
// at once never admit more than the limit between them.
func TestOrdersRateLimitConcurrent(t *testing.T) {
	testOrdersRateLimitConcurrent(t, newFixture(t, acmestate.ContactNotRequired))
}

// TestOrdersRateLimitConcurrentPostgres: the same on PostgreSQL, where
// the servers' transactions run at once (SERIALIZABLE) instead of in turn.
func TestOrdersRateLimitConcurrentPostgres(t *testing.T) {
	testOrdersRateLimitConcurrent(t, newFixtureOn(t, localstore.Options{StoreURL: pgtest.FreshSchema(t)}, acmestate.ContactNotRequired))
}

func testOrdersRateLimitConcurrent(t *testing.T, f *fixture) {
	lim := Limits{OrdersPerHour: 5}
	nodes := []*node{f.node(lim), f.node(lim)}
	key := newKey(t)
	resp, body := nodes[0].register(key)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register: %d %s", resp.StatusCode, body)
	}
	kid := resp.Header.Get("Location")
	const k = 14
	codes := make([]int, k)
	var wg sync.WaitGroup
	for i := range k {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, _ := nodes[i%2].post("/new-order", key, kid, labOrder)
			codes[i] = resp.StatusCode
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for _, c := range codes {
		count[c]++
	}
	if count[http.StatusCreated] != 5 || count[http.StatusTooManyRequests] != k-5 {
		t.Errorf("statuses %v, want 5 created and %d rate limited", count, k-5)
	}
}

// TestNewAccountsRateLimit: acme.new_accounts_per_hour counts the accounts
// of an endpoint across servers.
func TestNewAccountsRateLimit(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	lim := Limits{NewAccountsPerHour: 2}
	a, b := f.node(lim), f.node(lim)
	if resp, body := a.register(newKey(t)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("1st account: %d %s", resp.StatusCode, body)
	}
	f.clk.Add(10 * time.Second)
	if resp, body := b.register(newKey(t)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("2nd account: %d %s", resp.StatusCode, body)
	}
	resp, body := a.register(newKey(t))
	wantRateLimited(t, "3rd account", resp, body, 3600-10)
	// The refused registration spent no credential and bound nothing: one
	// account a credential, two in all.
	var n int
	if err := f.v.Store.View(context.Background(), func(tx localstore.Tx) error {
		as, err := acmestate.ListAccounts(tx, f.ep.ID)
		n = len(as)
		return err
	}); err != nil || n != 2 {
		t.Errorf("%d accounts (%v), want 2", n, err)
	}
	f.clk.Add(time.Hour)
	if resp, body := b.register(newKey(t)); resp.StatusCode != http.StatusCreated {
		t.Errorf("account after the hour: %d %s", resp.StatusCode, body)
	}
}

// TestOrdersRateLimitDefault: with no limit configured, the 301st order of
// an account in an hour is refused.
func TestOrdersRateLimitDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("300 orders")
	}
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	no := f.url("/new-order")
	nonce := f.nonce()
	for i := range DefaultOrdersPerHour + 1 {
		hdr := map[string]any{"alg": "ES256", "nonce": nonce, "url": no, "kid": kid}
		resp, body := f.rawPost(no, signES256(t, key, hdr, labOrder), "application/jose+json")
		nonce = resp.Header.Get("Replay-Nonce")
		if i < DefaultOrdersPerHour {
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("order %d: %d %s", i+1, resp.StatusCode, body)
			}
			continue
		}
		wantRateLimited(t, "301st order", resp, body, 3600)
	}
}

// TestSweep: the server sweeps orders and authorizations a day after they
// expired, by its clock, as one recorded change of the scheduler; a sweep
// with nothing to do records nothing.
func TestSweep(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	url, o := f.rawOrder(key, kid, "lab.test")
	ctx := context.Background()
	if n, err := f.srv.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep of a live order: %d, %v", n, err)
	}
	f.clk.Add(OrderLifetime + acmestate.SweepGrace + time.Minute)
	n, err := f.srv.Sweep(ctx)
	if err != nil || n != 4 { // the order, its authorization, the order and new-account windows
		t.Fatalf("sweep: %d, %v; want 4", n, err)
	}
	resp, body := f.signed(url, key, kid, nil, nil)
	wantProblem(t, "swept order", resp, body, errMalformed, http.StatusNotFound)
	resp, body = f.signed(o.Authorizations[0], key, kid, nil, nil)
	wantProblem(t, "swept authorization", resp, body, errMalformed, http.StatusNotFound)
	if n, err := f.srv.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second sweep: %d, %v", n, err)
	}
	var recs []*audit.Record
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		var err error
		recs, err = audit.List(tx, audit.Filter{EventName: "SweepAcmeResources"}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Actor.Type != audit.ActorScheduler || recs[0].Outcome != audit.OutcomeSuccess {
		t.Errorf("sweep records %+v, want one of the scheduler", recs)
	}
}

// TestRunSweeper: the periodic sweeper sweeps on its ticks and stops with
// its context.
func TestRunSweeper(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	key := newKey(t)
	kid := f.rawAccount(key)
	url, _ := f.rawOrder(key, kid, "lab.test")
	f.clk.Add(OrderLifetime + acmestate.SweepGrace + time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.srv.RunSweeper(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := f.signed(url, key, kid, nil, nil)
		if resp.StatusCode == http.StatusNotFound {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the sweeper did not sweep the expired order")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the sweeper did not stop")
	}
}
