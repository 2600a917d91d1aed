package acmeserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v3"
	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmestate"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fixture is a vault with one endpoint served over TLS on 127.0.0.1.
type fixture struct {
	t     *testing.T
	v     *localstore.Vault
	svc   *authority.Service
	clk   *clock
	core  *service.Core
	srv   *Server
	ts    *httptest.Server
	ep    *acmestate.Endpoint
	names inventory.Names
	roots *x509.CertPool
	http  *http.Client
}

func newFixture(t *testing.T, contact string, algs ...string) *fixture {
	t.Helper()
	return newFixtureOn(t, localstore.Options{}, contact, algs...)
}

// newFixtureOn is newFixture on the store opts names (PostgreSQL tests).
func newFixtureOn(t *testing.T, opts localstore.Options, contact string, algs ...string) *fixture {
	t.Helper()
	ctx := context.Background()
	v, err := localstore.Open(ctx, t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.Close() })
	clk := &clock{t: time.Now().UTC().Truncate(time.Second)}
	f := &fixture{t: t, v: v, clk: clk, names: inventory.Names{Region: "local", Account: "000000000000"}}
	f.svc = authority.New(v, clk.Now, "")
	var cert *tls.Certificate
	var bundle []byte
	if err := v.Store.Update(ctx, func(tx localstore.Tx) error {
		f.ep, err = acmestate.Create(tx, acmestate.CreateParams{AuthorizationBehavior: "PRE_APPROVED", Contact: contact,
			AllowedKeyAlgorithms: algs, CertificateTags: []localstore.Tag{{Key: "env", Value: "test"}}}, clk.Now())
		if err != nil {
			return err
		}
		if _, err := acmestate.AddDomain(tx, f.ep, "lab.test", acmestate.RandomRecord("zone.test"), true, clk.Now()); err != nil {
			return err
		}
		if _, err := acmestate.AddDomain(tx, f.ep, "pending.test", acmestate.RandomRecord("zone.test"), false, clk.Now()); err != nil {
			return err
		}
		if cert, err = ServingCertificate(tx, f.svc, []string{"127.0.0.1"}); err != nil {
			return err
		}
		bundle, err = f.svc.TrustBundle(tx)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	f.roots = x509.NewCertPool()
	if !f.roots.AppendCertsFromPEM(bundle) {
		t.Fatal("empty trust bundle")
	}
	f.core = &service.Core{Vault: v, Now: clk.Now, Names: f.names, Authority: f.svc, Actor: service.UserActor()}
	f.srv = New(Config{Core: f.core, Validity: 90 * 24 * time.Hour, MaxBody: 16 << 10})
	f.ts = httptest.NewUnstartedServer(f.srv)
	f.ts.TLS = &tls.Config{Certificates: []tls.Certificate{*cert}}
	f.ts.StartTLS()
	t.Cleanup(f.ts.Close)
	// The refusal limiter's timer stops with the test (review: armed, it
	// fired up to a minute later against a closed vault).
	t.Cleanup(f.srv.Close)
	f.http = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.roots}}}
	return f
}

func (f *fixture) dirURL() string { return f.ts.URL + "/" + f.ep.ID + "/directory" }

func (f *fixture) url(path string) string { return f.ts.URL + "/" + f.ep.ID + path }

// eab makes a credential of f's endpoint (or of ep when given).
func (f *fixture) eab(reusable bool, ep *acmestate.Endpoint) (string, []byte) {
	f.t.Helper()
	if ep == nil {
		ep = f.ep
	}
	sealer, err := f.v.Sealer()
	if err != nil {
		f.t.Fatal(err)
	}
	var b *acmestate.EAB
	var key []byte
	if err := f.v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		b, key, err = acmestate.CreateEAB(tx, sealer, ep, reusable, 0, f.clk.Now())
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	return b.KeyID, key
}

func newKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func (f *fixture) client(key crypto.Signer) *acme.Client {
	return &acme.Client{Key: key, DirectoryURL: f.dirURL(), HTTPClient: f.http, UserAgent: "certctl-test"}
}

// register makes an account with a fresh EAB credential.
func (f *fixture) register(key crypto.Signer, contact ...string) (*acme.Client, *acme.Account) {
	f.t.Helper()
	c := f.client(key)
	kid, mac := f.eab(false, nil)
	a, err := c.Register(context.Background(), &acme.Account{Contact: contact,
		ExternalAccountBinding: &acme.ExternalAccountBinding{KID: kid, Key: mac}}, acme.AcceptTOS)
	if err != nil {
		f.t.Fatalf("register: %v", err)
	}
	return c, a
}

func csrFor(t *testing.T, key crypto.Signer, names ...string) []byte {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: names}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// nonce fetches a fresh nonce with HEAD newNonce.
func (f *fixture) nonce() string {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodHead, f.url("/new-nonce"), nil)
	resp, err := f.http.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	resp.Body.Close()
	n := resp.Header.Get("Replay-Nonce")
	if n == "" {
		f.t.Fatal("no Replay-Nonce")
	}
	return n
}

// jwkOf is the public JWK of key as a JSON object.
func jwkOf(t *testing.T, key crypto.Signer) json.RawMessage {
	t.Helper()
	b, err := (&jose.JSONWebKey{Key: key.Public()}).MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// signES256 builds a flattened JWS signed with a P-256 key over the given
// protected header fields and payload.
func signES256(t *testing.T, key *ecdsa.PrivateKey, hdr map[string]any, payload []byte) []byte {
	t.Helper()
	ph, err := json.Marshal(hdr)
	if err != nil {
		t.Fatal(err)
	}
	p64 := base64.RawURLEncoding.EncodeToString(ph)
	b64 := base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(p64 + "." + b64))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	out, _ := json.Marshal(map[string]string{"protected": p64, "payload": b64, "signature": base64.RawURLEncoding.EncodeToString(sig)})
	return out
}

// rawPost sends body to url with the ACME content type.
func (f *fixture) rawPost(url string, body []byte, contentType string) (*http.Response, []byte) {
	f.t.Helper()
	resp, err := f.http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// signed posts payload to url signed by key, with a jwk (kid == "") or kid
// header; edit may change the header before signing.
func (f *fixture) signed(url string, key *ecdsa.PrivateKey, kid string, payload []byte, edit func(map[string]any)) (*http.Response, []byte) {
	f.t.Helper()
	hdr := map[string]any{"alg": "ES256", "nonce": f.nonce(), "url": url}
	if kid == "" {
		hdr["jwk"] = jwkOf(f.t, key)
	} else {
		hdr["kid"] = kid
	}
	if edit != nil {
		edit(hdr)
	}
	return f.rawPost(url, signES256(f.t, key, hdr, payload), "application/jose+json")
}

// problemType decodes a problem document's type.
func problemType(t *testing.T, resp *http.Response, body []byte) string {
	t.Helper()
	var p Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("status %d: not a problem document: %s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("problem Content-Type = %q", ct)
	}
	return p.Type
}

// eabJWS builds the externalAccountBinding of an account key.
func eabJWS(t *testing.T, kid string, mac []byte, url string, accountKey crypto.Signer) json.RawMessage {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: mac},
		&jose.SignerOptions{ExtraHeaders: map[jose.HeaderKey]any{"kid": kid, "url": url}})
	if err != nil {
		t.Fatal(err)
	}
	obj, err := s.Sign(jwkOf(t, accountKey))
	if err != nil {
		t.Fatal(err)
	}
	return json.RawMessage(obj.FullSerialize())
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
