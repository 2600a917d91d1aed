package acmeserver

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/internal/pgtest"
	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// clusterBase is the URL every server of a cluster emits, as behind a load
// balancer.
const clusterBase = "https://acme.test"

// cluster is n ACME servers, each over its own handle on one store (as n
// processes would be), behind clusterBase.
type cluster struct {
	t        *testing.T
	dir      string // the vault directory
	storeURL string
	ep       *acmestate.Endpoint
	cert     *tls.Certificate // the servers' serving certificate
	srvs     []*Server
	addrs    []string
	roots    *x509.CertPool
	log      *syncBuffer
}

// syncBuffer is a log shared by the servers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newCluster opens the vault in a fresh directory n times over storeURL
// ("" for SQLite) and serves one ACME server on each handle.
func newCluster(t *testing.T, storeURL string, n int) *cluster {
	t.Helper()
	c := &cluster{t: t, log: &syncBuffer{}, dir: t.TempDir(), storeURL: storeURL}
	for range n {
		c.add()
	}
	return c
}

// open opens the cluster's vault once more (as another process would).
func (c *cluster) open() *localstore.Vault {
	c.t.Helper()
	v, err := localstore.Open(context.Background(), c.dir, localstore.Options{StoreURL: c.storeURL})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { v.Close() })
	return v
}

// add serves one more ACME server, over a handle of its own; the first
// also makes the endpoint, its domain and the serving certificate.
func (c *cluster) add() {
	t := c.t
	t.Helper()
	v := c.open()
	auth := authority.New(v, time.Now, "")
	if c.srvs == nil {
		var bundle []byte
		if err := v.Store.Update(context.Background(), func(tx localstore.Tx) (err error) {
			c.ep, err = acmestate.Create(tx, acmestate.CreateParams{AuthorizationBehavior: "PRE_APPROVED",
				Contact: acmestate.ContactNotRequired}, time.Now())
			if err != nil {
				return err
			}
			if _, err := acmestate.AddDomain(tx, c.ep, "lab.test", acmestate.RandomRecord("zone.test"), true, time.Now()); err != nil {
				return err
			}
			if c.cert, err = ServingCertificate(tx, auth, []string{"acme.test"}); err != nil {
				return err
			}
			bundle, err = auth.TrustBundle(tx)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		c.roots = x509.NewCertPool()
		c.roots.AppendCertsFromPEM(bundle)
	}
	core := &service.Core{Vault: v, Now: time.Now, Names: clusterNames, Authority: auth, Actor: service.UserActor()}
	srv := New(Config{Core: core, BaseURL: clusterBase, Logger: log.New(c.log, "", 0)})
	ts := httptest.NewUnstartedServer(srv)
	ts.TLS = &tls.Config{Certificates: []tls.Certificate{*c.cert}}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	t.Cleanup(srv.Nonces().Wait)
	c.srvs = append(c.srvs, srv)
	c.addrs = append(c.addrs, ts.Listener.Addr().String())
}

// clusterNames are the ARN names of the cluster's servers.
var clusterNames = inventory.Names{Region: "local", Account: "000000000000"}

// client reaches clusterBase on a new connection per request, dialling the
// servers in turn (round robin per request), or only servers pick when given.
func (c *cluster) client(pick ...int) *http.Client {
	if len(pick) == 0 {
		for i := range c.addrs {
			pick = append(pick, i)
		}
	}
	var next atomic.Int64
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		TLSClientConfig:   &tls.Config{RootCAs: c.roots, ServerName: "acme.test"},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			i := pick[int(next.Add(1)-1)%len(pick)]
			return d.DialContext(ctx, network, c.addrs[i])
		},
	}}
}

func (c *cluster) url(path string) string { return clusterBase + "/" + c.ep.ID + path }

// register makes an account through the round-robin client.
func (c *cluster) register(t *testing.T) (*acme.Client, *acme.Account, *testKey) {
	t.Helper()
	key := newKey(t)
	var b *acmestate.EAB
	var mac []byte
	v := c.srvs[0].core.Vault
	sealer, err := v.Sealer()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		b, mac, err = acmestate.CreateEAB(tx, sealer, c.ep, false, 0, time.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	cl := &acme.Client{Key: key, DirectoryURL: c.url("/directory"), HTTPClient: c.client(), UserAgent: "certctl-test"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a, err := cl.Register(ctx, &acme.Account{
		ExternalAccountBinding: &acme.ExternalAccountBinding{KID: b.KeyID, Key: mac}}, acme.AcceptTOS)
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	return cl, a, key
}

// nonceFrom fetches a nonce from server i.
func (c *cluster) nonceFrom(t *testing.T, i int) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodHead, c.url("/new-nonce"), nil)
	resp, err := c.client(i).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	n := resp.Header.Get("Replay-Nonce")
	if n == "" {
		t.Fatal("no Replay-Nonce")
	}
	return n
}

// post sends a JWS body to server i and returns the status and problem
// type ("" on success).
func (c *cluster) post(t *testing.T, i int, url string, body []byte) (int, string) {
	resp, err := c.client(i).Post(url, "application/jose+json", bytes.NewReader(body))
	if err != nil {
		t.Errorf("post to server %d: %v", i, err)
		return 0, ""
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	if resp.StatusCode < 400 {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, strings.TrimPrefix(problemType(t, resp, buf.Bytes()), errPrefix)
}

type testKey = ecdsa.PrivateKey

// stores runs fn on SQLite and on a fresh PostgreSQL schema.
func stores(t *testing.T, fn func(t *testing.T, storeURL string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, "") })
	t.Run("postgres", func(t *testing.T) { fn(t, pgtest.FreshSchema(t)) })
}

// TestNonceAcrossServers: a nonce issued by server A is redeemed at server
// B, once; and of K concurrent redemptions at A and B exactly one wins.
func TestNonceAcrossServers(t *testing.T) {
	stores(t, func(t *testing.T, storeURL string) {
		c := newCluster(t, storeURL, 2)
		_, acct, key := c.register(t)
		acctURL := c.url("/acct/" + acct.URI[strings.LastIndex(acct.URI, "/")+1:])
		if acct.URI != acctURL {
			t.Fatalf("account URL %q, want %q (base_url)", acct.URI, acctURL)
		}
		sign := func(nonce string) []byte {
			return signES256(t, key, map[string]any{"alg": "ES256", "nonce": nonce, "url": acctURL, "kid": acctURL}, nil)
		}

		body := sign(c.nonceFrom(t, 0))
		if st, typ := c.post(t, 1, acctURL, body); st != http.StatusOK {
			t.Fatalf("A's nonce at B: %d %s, want 200", st, typ)
		}
		for i := range 2 {
			if st, typ := c.post(t, i, acctURL, body); typ != "badNonce" {
				t.Errorf("A's nonce again at server %d: %d %q, want badNonce", i, st, typ)
			}
		}
		// B's nonce at A.
		if st, typ := c.post(t, 0, acctURL, sign(c.nonceFrom(t, 1))); st != http.StatusOK {
			t.Fatalf("B's nonce at A: %d %s, want 200", st, typ)
		}
		// A forged or mangled nonce.
		n := []byte(c.nonceFrom(t, 0))
		n[len(n)-2] ^= 1
		if _, typ := c.post(t, 1, acctURL, sign(string(n))); typ != "badNonce" {
			t.Errorf("mangled nonce: %q, want badNonce", typ)
		}

		if logs := c.log.String(); !strings.Contains(logs, "status=400 problem=badNonce duration=") {
			t.Errorf("no request log line for badNonce:\n%s", logs)
		}

		const K = 16
		for round := range 3 {
			body := sign(c.nonceFrom(t, round%2))
			var ok, bad atomic.Int32
			var wg sync.WaitGroup
			for k := range K {
				wg.Add(1)
				go func() {
					defer wg.Done()
					switch st, typ := c.post(t, k%2, acctURL, body); {
					case st == http.StatusOK:
						ok.Add(1)
					case typ == "badNonce":
						bad.Add(1)
					default:
						t.Errorf("concurrent redemption: %d %q", st, typ)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != 1 || bad.Load() != K-1 {
				t.Fatalf("round %d: %d of %d concurrent redemptions succeeded (%d badNonce), want exactly 1",
					round, ok.Load(), K, bad.Load())
			}
		}
	})
}

// TestOrdersRoundRobin runs x/crypto/acme orders through a balancer that
// sends every request to the next of three servers: no request may answer
// badNonce (the client would hide it by retrying), and each is logged.
func TestOrdersRoundRobin(t *testing.T) {
	stores(t, func(t *testing.T, storeURL string) {
		c := newCluster(t, storeURL, 3)
		cl, _, _ := c.register(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		for i := range 4 {
			o, err := cl.AuthorizeOrder(ctx, acme.DomainIDs("lab.test"))
			if err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
			ders, _, err := cl.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "lab.test"), true)
			if err != nil || len(ders) == 0 {
				t.Fatalf("order %d: finalize: %v", i, err)
			}
		}
		logs := c.log.String()
		if n := strings.Count(logs, "problem=badNonce"); n != 0 {
			t.Errorf("%d badNonce answers through the round robin:\n%s", n, logs)
		}
		if !strings.Contains(logs, "acme: request method=POST path=/"+c.ep.ID+"/new-order status=201 problem=- duration=") {
			t.Errorf("no request log line for new-order:\n%s", logs)
		}
		// The client: its address and User-Agent (quoted), and the bytes
		// answered.
		if !regexp.MustCompile(`new-order status=201 problem=- duration=\S+ bytes=[1-9][0-9]* remote=127\.0\.0\.1:[0-9]+ ua="certctl-test golang.org/x/crypto/acme"`).MatchString(logs) {
			t.Errorf("the new-order line does not name the client:\n%s", logs)
		}
	})
}

// TestNonceBatches redeems 8 nonces 8 times each, all at once, through the
// batching of one server and of a second on the same store: each nonce
// exactly once, though duplicates share a batch; expired and foreign
// nonces never.
func TestNonceBatches(t *testing.T) {
	stores(t, func(t *testing.T, storeURL string) {
		c := newCluster(t, storeURL, 2)
		a, b := c.srvs[0].Nonces(), c.srvs[1].Nonces()
		var nonces []string
		for range 8 {
			n, err := a.Issue()
			if err != nil {
				t.Fatal(err)
			}
			nonces = append(nonces, n)
		}
		wins := make([]atomic.Int32, len(nonces))
		var wg sync.WaitGroup
		for k := range 8 {
			for i, n := range nonces {
				wg.Add(1)
				go func() {
					defer wg.Done()
					s := a
					if k%2 == 1 {
						s = b
					}
					switch err := s.RedeemContext(context.Background(), n); {
					case err == nil:
						wins[i].Add(1)
					case !errors.Is(err, ErrNonce):
						t.Errorf("redeem: %v", err)
					}
				}()
			}
		}
		wg.Wait()
		for i := range wins {
			if w := wins[i].Load(); w != 1 {
				t.Errorf("nonce %d redeemed %d times, want 1", i, w)
			}
		}
		// A nonce past its lifetime.
		old := NewNonceStore(c.srvs[0].core.Vault.Store, func() time.Time { return time.Now().Add(-2 * NonceLifetime) },
			NonceLifetime, c.srvs[0].loadNonceKey)
		n, _ := old.Issue()
		if err := a.RedeemContext(context.Background(), n); !errors.Is(err, ErrNonce) {
			t.Errorf("expired nonce: %v, want ErrNonce", err)
		}
		// A nonce under another key.
		other := NewNonceStore(c.srvs[0].core.Vault.Store, time.Now, NonceLifetime, func() ([]byte, error) { return make([]byte, 32), nil })
		n, _ = other.Issue()
		if err := a.RedeemContext(context.Background(), n); !errors.Is(err, ErrNonce) {
			t.Errorf("nonce of another key: %v, want ErrNonce", err)
		}
	})
}

// healthz is the status of server i's /healthz.
func (c *cluster) healthz(i int) int {
	c.t.Helper()
	resp, err := c.client(i).Get(clusterBase + "/healthz")
	if err != nil {
		c.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHealthz: 200 while the store answers, 503 once it does not.
func TestHealthz(t *testing.T) {
	stores(t, func(t *testing.T, storeURL string) {
		c := newCluster(t, storeURL, 2)
		get := c.healthz
		for i := range 2 {
			if st := get(i); st != http.StatusOK {
				t.Fatalf("server %d /healthz = %d, want 200", i, st)
			}
		}
		// Server 1 loses its store; server 0 does not.
		c.srvs[1].core.Vault.Store.Close()
		if st := get(1); st != http.StatusServiceUnavailable {
			t.Errorf("/healthz without a store = %d, want 503", st)
		}
		if st := get(0); st != http.StatusOK {
			t.Errorf("the other server's /healthz = %d, want 200", st)
		}
		if logs := c.log.String(); !strings.Contains(logs, "acme: request method=GET path=/healthz status=503 problem=- duration=") {
			t.Errorf("no request log line for the 503:\n%s", logs)
		}
	})
}

// TestHealthzKeyUnusable (tester): a server whose master key became
// unusable — another machine rotated it to a key this one cannot load —
// fails its health check, so that a load balancer drains it, while it
// still reaches its store: at the first probe after the rotation, not
// only once a request needed the key (team tester: 200 for minutes).
func TestHealthzKeyUnusable(t *testing.T) {
	c := newCluster(t, "", 2)
	get := c.healthz
	if _, err := c.srvs[1].core.Vault.Sealer(); err != nil {
		t.Fatal(err)
	}
	if st := get(1); st != http.StatusOK {
		t.Fatalf("/healthz before the rotation = %d", st)
	}
	if _, err := c.open().RotateKey(context.Background(), localstore.RotateHooks{}); err != nil {
		t.Fatal(err)
	}
	// The new key is not where this server looks for it.
	if err := os.Remove(filepath.Join(c.dir, localstore.MasterKeyFile)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the loaded key's trust (staleAfter)
	if st := get(1); st != http.StatusServiceUnavailable {
		t.Errorf("/healthz with an unusable key = %d, want 503", st)
	}
	if st := get(1); st != http.StatusServiceUnavailable {
		t.Errorf("/healthz asked again = %d, want 503", st)
	}
	if n := strings.Count(c.log.String(), "master key cannot be used"); n != 1 {
		t.Errorf("%d log lines saying why, want one for two probes:\n%s", n, c.log.String())
	}
}

// TestURLsUnderBaseURL: every URL the servers emit is under base_url,
// whichever address the request reached.
func TestURLsUnderBaseURL(t *testing.T) {
	c := newCluster(t, "", 2)
	resp, err := c.client(1).Get(c.url("/directory"))
	if err != nil {
		t.Fatal(err)
	}
	var dir map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&dir); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for k, v := range dir {
		if s, ok := v.(string); ok && !strings.HasPrefix(s, clusterBase+"/"+c.ep.ID+"/") {
			t.Errorf("directory %s = %q, not under %s", k, s, clusterBase)
		}
	}
	if l := resp.Header.Get("Link"); !strings.Contains(l, "<"+c.url("/directory")+">") {
		t.Errorf("Link %q", l)
	}
	cl, acct, _ := c.register(t)
	if !strings.HasPrefix(acct.URI, clusterBase+"/") {
		t.Errorf("account URL %q", acct.URI)
	}
	o, err := cl.AuthorizeOrder(context.Background(), acme.DomainIDs("lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range append([]string{o.URI, o.FinalizeURL}, o.AuthzURLs...) {
		if !strings.HasPrefix(u, clusterBase+"/"+c.ep.ID+"/") {
			t.Errorf("order URL %q is not under %s", u, clusterBase)
		}
	}
}

// TestNonceSweep: redeemed nonces are deleted once they expire, by the
// server that redeems after sweepEvery.
func TestNonceSweep(t *testing.T) {
	c := newCluster(t, "", 1)
	clk := &clock{t: time.Now()}
	st := c.srvs[0].core.Vault.Store
	ns := NewNonceStore(st, clk.Now, NonceLifetime, c.srvs[0].loadNonceKey)
	count := func() int {
		var n int
		if err := st.(*localstore.SQLite).DB().QueryRow(`SELECT count(*) FROM acme_nonces`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	base := count()
	for range 3 {
		n, _ := ns.Issue()
		if !ns.Redeem(n) {
			t.Fatal("fresh nonce refused")
		}
	}
	ns.Wait()
	if got := count(); got != base+3 {
		t.Fatalf("%d redeemed nonces stored, want %d", got, base+3)
	}
	clk.Add(NonceLifetime + sweepMargin + sweepEvery + time.Second)
	n, _ := ns.Issue()
	if !ns.Redeem(n) {
		t.Fatal("fresh nonce refused")
	}
	ns.Wait()
	if got := count(); got != base+1 {
		t.Errorf("%d redeemed nonces after the sweep, want %d (the last one)", got, base+1)
	}
}

// TestNoncesNotEvicted: a client's nonce survives any amount of other
// clients' traffic (the in-memory store dropped the oldest half of its
// nonces at 100,000).
func TestNoncesNotEvicted(t *testing.T) {
	c := newCluster(t, "", 2)
	a := c.srvs[0].Nonces()
	mine, err := a.Issue()
	if err != nil {
		t.Fatal(err)
	}
	for range 150_000 {
		if _, err := a.Issue(); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	for range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n, _ := a.Issue()
			if !a.Redeem(n) {
				t.Error("fresh nonce refused")
			}
		}()
	}
	wg.Wait()
	if !c.srvs[1].Nonces().Redeem(mine) {
		t.Error("a nonce issued before others' traffic was evicted")
	}
}
