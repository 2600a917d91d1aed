package bench

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/pkg/acmeserver"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service"
)

// cliOut runs certctl in-process against vault and returns its stdout.
func cliOut(b testing.TB, vault string, args ...string) []byte {
	b.Helper()
	var out bytes.Buffer
	cliTo(b, vault, &out, args...)
	return out.Bytes()
}

// BenchmarkACMEOrder is one complete order through pkg/acmeserver, as
// bench/acme runs it (an endpoint with pre-approved authorizations, a
// pre-validated domain, the stock golang.org/x/crypto/acme client): new
// order, authorization, finalize (issuance, committed to the vault) and
// certificate download, over plain HTTP on loopback so that the figures
// are the server's request handling (JWS verification, nonces, JSON, SQL,
// commits) and the client's, without TLS. allocs/op counts both sides;
// cpu-µs/order is this process's CPU time an order.
func BenchmarkACMEOrder(b *testing.B) {
	one := acmeOrderer(b)
	one(0) // directory, first nonce, connection
	b.ReportAllocs()
	cpu0 := cpuTime()
	i := 1
	for b.Loop() {
		one(i)
		i++
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(i-1), "cpu-µs/order")
}

// acmeOrderer sets up BenchmarkACMEOrder's server and client and returns
// what makes its order number i (a new account every 250th).
func acmeOrderer(b testing.TB) func(i int) {
	ctx := context.Background()
	dir := filepath.Join(b.TempDir(), "vault")
	arn := strings.TrimSpace(string(cliOut(b, dir, "endpoint", "create", "--authorization-behavior", "PRE_APPROVED",
		"--contact", "NOT_REQUIRED", "--name", "bench", "-o", "text")))
	id := arn[strings.LastIndexByte(arn, '/')+1:]
	var eab struct {
		ExternalAccountBinding struct{ KeyId, MacKey string }
	}
	if err := json.Unmarshal(cliOut(b, dir, "endpoint", "eab", "create", id, "--reusable", "-o", "json"), &eab); err != nil {
		b.Fatal(err)
	}
	mac, err := base64.RawURLEncoding.DecodeString(eab.ExternalAccountBinding.MacKey)
	if err != nil {
		b.Fatal(err)
	}
	cliOut(b, dir, "endpoint", "domain", "add", id, "bench.test", "--pre-validated")

	v, err := localstore.Open(ctx, dir, localstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { v.Close() })
	core := &service.Core{Vault: v, Authority: authority.New(v, time.Now, ""),
		Names: inventory.Names{Region: "local", Account: "000000000000"}, Now: time.Now, Actor: service.UserActor()}
	hs := httptest.NewUnstartedServer(nil)
	base := "http://" + hs.Listener.Addr().String()
	hs.Config.Handler = acmeserver.New(acmeserver.Config{Core: core, BaseURL: base, DomainsPerCertificate: 10})
	hs.Start()
	b.Cleanup(hs.Close)

	// An account orders at most 300 certificates an hour (the default
	// limit): a new account every 250 orders.
	var c *acme.Client
	newAccount := func() {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		c = &acme.Client{Key: key, DirectoryURL: base + "/" + id + "/directory", HTTPClient: hs.Client()}
		if _, err := c.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{
			KID: eab.ExternalAccountBinding.KeyId, Key: mac}}, acme.AcceptTOS); err != nil {
			b.Fatal(err)
		}
	}
	certKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	one := func(i int) {
		if i%250 == 0 {
			newAccount()
		}
		name := fmt.Sprintf("o%d.bench.test", i)
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
		if err != nil {
			b.Fatal(err)
		}
		for _, u := range o.AuthzURLs {
			z, err := c.GetAuthorization(ctx, u)
			if err != nil {
				b.Fatal(err)
			}
			if z.Status != acme.StatusValid {
				b.Fatalf("authorization %s, want valid (pre-approved)", z.Status)
			}
		}
		csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{name}}, certKey)
		if err != nil {
			b.Fatal(err)
		}
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csr, true)
		if err != nil {
			b.Fatal(err)
		}
		if len(ders) == 0 {
			b.Fatal("no certificate")
		}
	}
	return one
}
