package acmeserver

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// challengeEnv is what a CHALLENGE endpoint's checks reach: a DNS server
// on loopback where the test's names resolve to 127.0.0.1, and the ports
// of the http-01 and tls-alpn-01 servers the test starts.
type challengeEnv struct {
	t       *testing.T
	dns     *validationtest.DNSServer
	checker *validation.ChallengeChecker
	// http01 maps token → body served at /.well-known/acme-challenge/.
	mu     sync.Mutex
	http01 map[string]string
	hits   atomic.Int64
}

func newChallengeEnv(t *testing.T, names ...string) *challengeEnv {
	t.Helper()
	d := validationtest.StartDNS(t)
	for _, n := range names {
		d.Add(t, n+". 60 IN A 127.0.0.1")
	}
	r, err := validation.NewResolver([]string{d.Addr})
	if err != nil {
		t.Fatal(err)
	}
	r.Timeout = 2 * time.Second
	e := &challengeEnv{t: t, dns: d, http01: map[string]string{},
		checker: &validation.ChallengeChecker{Resolver: r, CAAIdentities: []string{"certctl.local"}, Timeout: 5 * time.Second}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.hits.Add(1)
		e.mu.Lock()
		body, ok := e.http01[strings.TrimPrefix(r.URL.Path, "/.well-known/acme-challenge/")]
		e.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(body))
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	e.checker.HTTPPort = ln.Addr().(*net.TCPAddr).Port
	return e
}

func (e *challengeEnv) serveHTTP01(token, body string) {
	e.mu.Lock()
	e.http01[token] = body
	e.mu.Unlock()
}

// serveTLSALPN01 answers tls-alpn-01 on a loopback port with cert.
func (e *challengeEnv) serveTLSALPN01(cert tls.Certificate) {
	e.t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{validation.ALPNProto}})
	if err != nil {
		e.t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _ = c.(*tls.Conn).Handshake(); c.Close() }()
		}
	}()
	e.t.Cleanup(func() { ln.Close() })
	e.checker.TLSALPNPort = ln.Addr().(*net.TCPAddr).Port
}

// makeChallengeEndpoint turns f's endpoint into a CHALLENGE endpoint
// offering types (all when none) whose checks reach env.
func (f *fixture) makeChallengeEndpoint(env *challengeEnv, types ...string) {
	f.t.Helper()
	f.setAuthorization(acmestate.BehaviorChallenge, types...)
	f.srv.cfg.Challenges = env.checker
}

// newChallengeFixture is a fixture whose endpoint is a CHALLENGE endpoint
// offering every type, its checks reaching a new challengeEnv that serves
// hosts, with a registered client.
func newChallengeFixture(t *testing.T, hosts ...string) (*fixture, *challengeEnv, *acme.Client) {
	t.Helper()
	f := newFixture(t, acmestate.ContactNotRequired)
	env := newChallengeEnv(t, hosts...)
	f.makeChallengeEndpoint(env)
	c, _ := f.register(newKey(t))
	return f, env, c
}

// orderAuthz places an order for name with c and returns it with the
// authorization of name and its URL.
func orderAuthz(ctx context.Context, t *testing.T, c *acme.Client, name string) (*acme.Order, *acme.Authorization, string) {
	t.Helper()
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
	if err != nil {
		t.Fatal(err)
	}
	z, zurl := authzFor(t, c, o, name)
	return o, z, zurl
}

func challengeTypes(z *acme.Authorization) []string {
	var out []string
	for _, c := range z.Challenges {
		out = append(out, c.Type)
	}
	return out
}

func challengeOfType(t *testing.T, z *acme.Authorization, typ string) *acme.Challenge {
	t.Helper()
	for _, c := range z.Challenges {
		if c.Type == typ {
			return c
		}
	}
	t.Fatalf("authorization of %s has no %s challenge: %v", z.Identifier.Value, typ, challengeTypes(z))
	return nil
}

// authzFor returns the authorization of o for name.
func authzFor(t *testing.T, c *acme.Client, o *acme.Order, name string) (*acme.Authorization, string) {
	t.Helper()
	for _, u := range o.AuthzURLs {
		z, err := c.GetAuthorization(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		id := z.Identifier.Value
		if z.Wildcard {
			id = "*." + id
		}
		if id == name {
			return z, u
		}
	}
	t.Fatalf("order has no authorization for %s", name)
	return nil, ""
}

// TestChallengeHTTP01 obtains a certificate for a name that is not
// pre-approved with http-01, beside a pre-approved name whose
// authorization is valid with no challenge to answer.
func TestChallengeHTTP01(t *testing.T) {
	f, env, c := newChallengeFixture(t, "web.chal.test")
	ctx := context.Background()
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("web.chal.test", "www.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	if o.Status != acme.StatusPending {
		t.Fatalf("order status %s, want pending", o.Status)
	}
	pre, _ := authzFor(t, c, o, "www.lab.test")
	if pre.Status != acme.StatusValid {
		t.Errorf("pre-approved name: authorization %s, want valid", pre.Status)
	}
	for _, ch := range pre.Challenges {
		if ch.Status != acme.StatusValid {
			t.Errorf("pre-approved name has a %s challenge %s to answer", ch.Type, ch.Status)
		}
		// A token as any other (acmestate.NewToken: 256 bits, 43
		// base64url characters), not a UUID's 122 bits (RFC 8555 8.1).
		if b, err := base64.RawURLEncoding.DecodeString(ch.Token); err != nil || len(b) < 16 || len(ch.Token) != 43 {
			t.Errorf("pre-approved name's challenge token %q", ch.Token)
		}
	}
	z, zurl := authzFor(t, c, o, "web.chal.test")
	if z.Status != acme.StatusPending || !slices.Equal(challengeTypes(z), []string{"http-01", "dns-01", "tls-alpn-01"}) {
		t.Fatalf("authorization %s with challenges %v", z.Status, challengeTypes(z))
	}
	tokens := map[string]bool{}
	for _, ch := range z.Challenges {
		if ch.Status != acme.StatusPending || len(ch.Token) < 22 || tokens[ch.Token] {
			t.Errorf("challenge %s: status %s, token %q (each its own, ≥128 bits)", ch.Type, ch.Status, ch.Token)
		}
		tokens[ch.Token] = true
	}
	ch := challengeOfType(t, z, "http-01")
	body, _ := c.HTTP01ChallengeResponse(ch.Token)
	env.serveHTTP01(ch.Token, body)
	got, err := c.Accept(ctx, ch)
	if err != nil || got.Status != acme.StatusValid {
		t.Fatalf("accept: %+v, %v", got, err)
	}
	if z, err = c.WaitAuthorization(ctx, zurl); err != nil || z.Status != acme.StatusValid {
		t.Fatalf("authorization: %+v, %v", z, err)
	}
	if len(z.Challenges) != 1 || z.Challenges[0].Type != "http-01" || z.Challenges[0].Status != acme.StatusValid {
		t.Errorf("valid authorization lists %v, want the validated http-01 challenge", challengeTypes(z))
	}
	if o, err = c.WaitOrder(ctx, o.URI); err != nil || o.Status != acme.StatusReady {
		t.Fatalf("order: %+v, %v", o, err)
	}
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "web.chal.test", "www.lab.test"), true)
	if err != nil || len(ders) == 0 {
		t.Fatalf("finalize: %v", err)
	}
	// A second response to the valid challenge validates nothing again.
	hits := env.hits.Load()
	if got, err = c.Accept(ctx, ch); err != nil || got.Status != acme.StatusValid || env.hits.Load() != hits {
		t.Errorf("second accept: %+v, %v, %d fetches", got, err, env.hits.Load()-hits)
	}
	// Each step is recorded under its RFC 8555 name.
	var names []string
	if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
		recs, err := audit.List(tx, audit.Filter{}, 0, 1000)
		for _, r := range recs {
			if r.Outcome == audit.OutcomeSuccess {
				names = append(names, r.EventName)
			}
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"NewOrder", "RespondToChallenge", "ValidateChallenge", "FinalizeOrder"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s audit record in %v", want, names)
		}
		if !slices.Contains(audit.EventNames, want) {
			t.Errorf("%s is not in audit.EventNames", want)
		}
	}
}

// TestChallengeTLSALPN01 proves a name with tls-alpn-01 on the configured
// port, the certificate made by golang.org/x/crypto/acme.
func TestChallengeTLSALPN01(t *testing.T) {
	f := newFixture(t, acmestate.ContactNotRequired)
	env := newChallengeEnv(t, "tls.chal.test")
	f.makeChallengeEndpoint(env, "tls-alpn-01")
	ctx := context.Background()
	c, _ := f.register(newKey(t))
	o, z, zurl := orderAuthz(ctx, t, c, "tls.chal.test")
	if !slices.Equal(challengeTypes(z), []string{"tls-alpn-01"}) {
		t.Fatalf("challenges %v, want tls-alpn-01 only (--challenge-types)", challengeTypes(z))
	}
	ch := z.Challenges[0]
	cert, err := c.TLSALPN01ChallengeCert(ch.Token, "tls.chal.test")
	if err != nil {
		t.Fatal(err)
	}
	env.serveTLSALPN01(cert)
	if _, err := c.Accept(ctx, ch); err != nil {
		t.Fatal(err)
	}
	if z, err = c.WaitAuthorization(ctx, zurl); err != nil || z.Status != acme.StatusValid {
		t.Fatalf("authorization: %+v, %v", z, err)
	}
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "tls.chal.test"), true); err != nil {
		t.Fatalf("finalize: %v", err)
	}
}

// TestChallengeWildcardDNS01 gives a wildcard dns-01 only, proved by the
// TXT record at its base name; an endpoint without dns-01 refuses it.
func TestChallengeWildcardDNS01(t *testing.T) {
	f, env, c := newChallengeFixture(t)
	ctx := context.Background()
	o, z, zurl := orderAuthz(ctx, t, c, "*.wild.chal.test")
	var err error
	if !z.Wildcard || z.Identifier.Value != "wild.chal.test" || !slices.Equal(challengeTypes(z), []string{"dns-01"}) {
		t.Fatalf("wildcard authorization %+v with challenges %v, want dns-01 only", z.Identifier, challengeTypes(z))
	}
	rec, _ := c.DNS01ChallengeRecord(z.Challenges[0].Token)
	env.dns.Add(t, `_acme-challenge.wild.chal.test. 60 IN TXT "`+rec+`"`)
	if _, err := c.Accept(ctx, z.Challenges[0]); err != nil {
		t.Fatal(err)
	}
	if z, err = c.WaitAuthorization(ctx, zurl); err != nil || z.Status != acme.StatusValid {
		t.Fatalf("authorization: %+v, %v", z, err)
	}
	if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "*.wild.chal.test"), true); err != nil {
		t.Fatalf("finalize: %v", err)
	}

	f.makeChallengeEndpoint(env, "http-01", "tls-alpn-01")
	_, err = c.AuthorizeOrder(ctx, acme.DomainIDs("*.other.chal.test"))
	if !isProblem(err, errRejectedIdentifier) || !strings.Contains(err.Error(), "dns-01") {
		t.Errorf("wildcard without dns-01: %v, want rejectedIdentifier", err)
	}
}

// TestChallengeFailures: a wrong key authorization, a CAA record naming
// another CA, an unanswered port and a name that does not resolve (or
// whose DNS reply is broken) each leave the challenge, the
// authorization and the order invalid, with the problem in the
// challenge's error (and the order's).
func TestChallengeFailures(t *testing.T) {
	for _, tc := range []struct {
		name, host, problem string
		setup               func(env *challengeEnv, c *acme.Client, token string)
	}{
		{"wrong key authorization", "wrong.chal.test", "unauthorized", func(env *challengeEnv, c *acme.Client, token string) {
			env.serveHTTP01(token, token+".c29tZW9uZSBlbHNlJ3MgYWNjb3VudCBrZXkgdGh1bWJwcmludA")
		}},
		{"CAA naming another CA", "caa.chal.test", "caa", func(env *challengeEnv, c *acme.Client, token string) {
			body, _ := c.HTTP01ChallengeResponse(token)
			env.serveHTTP01(token, body)
			env.dns.Add(env.t, `chal.test. 60 IN CAA 0 issue "letsencrypt.org"`)
		}},
		{"unanswered port", "closed.chal.test", "connection", func(env *challengeEnv, c *acme.Client, token string) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				env.t.Fatal(err)
			}
			env.checker.HTTPPort = ln.Addr().(*net.TCPAddr).Port
			ln.Close()
		}},
		{"name that does not resolve", "nowhere.chal.test", "dns", func(env *challengeEnv, c *acme.Client, token string) {}},
		// The name is resolved in http.Transport's dial goroutine, where
		// the panic this reply once caused ended the server.
		{"address reply without a question", "noquestion.chal.test", "dns", func(env *challengeEnv, c *acme.Client, token string) {
			body, _ := c.HTTP01ChallengeResponse(token)
			env.serveHTTP01(token, body)
			env.dns.SetTamper(func(q dns.Question, m *dns.Msg) {
				if q.Qtype == dns.TypeA {
					m.Question, m.Answer = nil, nil
				}
			})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, acmestate.ContactNotRequired)
			hosts := []string{tc.host}
			if tc.host == "nowhere.chal.test" {
				hosts = nil
			}
			env := newChallengeEnv(t, hosts...)
			f.makeChallengeEndpoint(env)
			ctx := context.Background()
			c, _ := f.register(newKey(t))
			o, z, zurl := orderAuthz(ctx, t, c, tc.host)
			offered := z
			ch := challengeOfType(t, z, "http-01")
			tc.setup(env, c, ch.Token)
			got, err := c.Accept(ctx, ch)
			if err != nil {
				t.Fatal(err)
			}
			var ae *acme.Error
			if got.Status != acme.StatusInvalid || !errors.As(got.Error, &ae) || ae.ProblemType != errPrefix+tc.problem {
				t.Errorf("challenge %s, error %v; want invalid with %s", got.Status, got.Error, tc.problem)
			}
			if _, err := c.WaitAuthorization(ctx, zurl); err == nil {
				t.Error("WaitAuthorization succeeded")
			}
			z, err = c.GetAuthorization(ctx, zurl)
			if err != nil || z.Status != acme.StatusInvalid || len(z.Challenges) != 1 || z.Challenges[0].Type != "http-01" {
				t.Fatalf("authorization %+v, %v; want invalid listing the failed http-01", z, err)
			}
			if !errors.As(z.Challenges[0].Error, &ae) || ae.ProblemType != errPrefix+tc.problem {
				t.Errorf("authorization's challenge error %v, want %s", z.Challenges[0].Error, tc.problem)
			}
			o, err = c.GetOrder(ctx, o.URI)
			if err != nil || o.Status != acme.StatusInvalid || o.Error == nil || o.Error.ProblemType != errPrefix+tc.problem {
				t.Errorf("order %+v, %v; want invalid with %s", o, err, tc.problem)
			}
			if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), tc.host), true); !isProblem(err, errOrderNotReady) {
				t.Errorf("finalize of the invalid order: %v, want orderNotReady", err)
			}
			// Another challenge of the invalid authorization, still
			// pending, is refused: nothing would ever validate it. The
			// failed one is answered as it is.
			other := challengeOfType(t, offered, "dns-01")
			if _, err := c.Accept(ctx, other); !isProblem(err, errMalformed) || !strings.Contains(err.Error(), "authorization is invalid") {
				t.Errorf("answer to a pending challenge of the invalid authorization: %v, want malformed", err)
			}
			if got, err := c.Accept(ctx, ch); err != nil || got.Status != acme.StatusInvalid {
				t.Errorf("answer to the failed challenge again: %+v, %v; want it as it is (invalid)", got, err)
			}
			// The validation is recorded as the FAILURE it is, its
			// code the ACME error type (tester: SUCCESS).
			if err := f.v.Store.View(ctx, func(tx localstore.Tx) error {
				recs, err := audit.List(tx, audit.Filter{EventName: "ValidateChallenge"}, 0, 10)
				if err != nil {
					return err
				}
				if len(recs) != 1 || recs[0].Outcome != audit.OutcomeFailure || recs[0].ErrorCode != tc.problem || recs[0].ErrorMessage == "" {
					t.Errorf("ValidateChallenge records %+v, want one FAILURE with code %s", recs, tc.problem)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestChallengeAcrossServers: on a cluster of servers sharing a store,
// behind a round robin, a challenge answered at once through every
// server is validated exactly once, and the client sees the outcome
// whichever server it polls.
func TestChallengeAcrossServers(t *testing.T) {
	stores(t, func(t *testing.T, storeURL string) {
		cl := newCluster(t, storeURL, 3)
		env := newChallengeEnv(t, "multi.chal.test")
		v := cl.srvs[0].core.Vault
		if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
			ep, err := acmestate.Get(tx, cl.ep.ID)
			if err != nil {
				return err
			}
			if err := ep.SetAuthorization(acmestate.BehaviorChallenge, nil); err != nil {
				return err
			}
			return acmestate.Put(tx, ep)
		}); err != nil {
			t.Fatal(err)
		}
		for _, s := range cl.srvs {
			s.cfg.Challenges = env.checker
		}
		c, _, _ := cl.register(t)
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		o, z, zurl := orderAuthz(ctx, t, c, "multi.chal.test")
		var err error
		ch := challengeOfType(t, z, "http-01")
		body, _ := c.HTTP01ChallengeResponse(ch.Token)
		env.serveHTTP01(ch.Token, body)
		var wg sync.WaitGroup
		for range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.Accept(ctx, ch); err != nil {
					t.Errorf("accept: %v", err)
				}
			}()
		}
		wg.Wait()
		if z, err = c.WaitAuthorization(ctx, zurl); err != nil || z.Status != acme.StatusValid {
			t.Fatalf("authorization: %+v, %v", z, err)
		}
		if n := env.hits.Load(); n != 1 {
			t.Errorf("the challenge was fetched %d times, want once", n)
		}
		if _, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrFor(t, newKey(t), "multi.chal.test"), true); err != nil {
			t.Fatalf("finalize: %v", err)
		}
	})
}

// TestStaleValidationResumed: a challenge left processing by a server that
// stopped mid-validation is taken up again once its lease ran out, when
// the client polls its authorization.
func TestStaleValidationResumed(t *testing.T) {
	f, env, c := newChallengeFixture(t, "stale.chal.test")
	ctx := context.Background()
	_, z, zurl := orderAuthz(ctx, t, c, "stale.chal.test")
	var err error
	ch := challengeOfType(t, z, "http-01")
	body, _ := c.HTTP01ChallengeResponse(ch.Token)
	env.serveHTTP01(ch.Token, body)
	// Another server took the challenge up, then died.
	id := zurl[strings.LastIndexByte(zurl, '/')+1:]
	if err := f.v.Store.Update(ctx, func(tx localstore.Tx) error {
		_, err := acmestate.ClaimChallenge(tx, id, "http-01", f.clk.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := c.Accept(ctx, ch); err != nil || got.Status != acme.StatusProcessing || env.hits.Load() != 0 {
		t.Fatalf("accept within the lease: %+v, %v, %d fetches; want processing, none", got, err, env.hits.Load())
	}
	f.clk.Add(acmestate.ValidationLease)
	if z, err = c.GetAuthorization(ctx, zurl); err != nil || z.Status != acme.StatusValid || env.hits.Load() != 1 {
		t.Fatalf("poll after the lease: %+v, %v, %d fetches; want valid", z, err, env.hits.Load())
	}
}

// TestChallengeOfExpiredAuthorization: a pending challenge of an
// authorization past its expiry is refused (malformed), not left pending
// for a client to poll for ever.
func TestChallengeOfExpiredAuthorization(t *testing.T) {
	f, _, c := newChallengeFixture(t, "late.chal.test")
	ctx := context.Background()
	_, z, _ := orderAuthz(ctx, t, c, "late.chal.test")
	f.clk.Add(time.Until(z.Expires) + time.Minute)
	if _, err := c.Accept(ctx, challengeOfType(t, z, "http-01")); !isProblem(err, errMalformed) || !strings.Contains(err.Error(), "authorization is expired") {
		t.Errorf("answer to a challenge of an expired authorization: %v, want malformed", err)
	}
}
