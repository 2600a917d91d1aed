//go:build pkcs11

package hsm

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/acme"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/internal/zlinttest"
)

// TestTokenACME: ACME endpoints that issue from a root and from a
// subordinate whose keys are in the token (endpoint create
// --certificate-authority-arn, SPEC "endpoint — challenges…") serve orders
// of golang.org/x/crypto/acme, finalized concurrently on one endpoint
// serve (its token session shared by every signer); each certificate
// verifies with openssl up to the token root, was signed by the endpoint's
// token CA, and zlint finds nothing.
func TestTokenACME(t *testing.T) {
	tok := newToken(t, "certctl acme")
	linter, err := zlinttest.New(testbin.Tool(t, "zlint"))
	if err != nil {
		t.Fatal(err)
	}
	v := newVault(t, tok.env()...)
	dir := t.TempDir()
	root := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_secp384r1", "--subject", "CN=Token ACME Root", "--key-storage", "PKCS11")
	sub := v.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--key-algorithm", "RSA_2048", "--subject", "CN=Token ACME Issuing CA",
		"--parent", root, "--key-storage", "PKCS11")
	rootPEM := v.caCert(t, dir, "root.pem", root)

	type endpoint struct{ id, caName, kid, mac string }
	var eps []endpoint
	for _, ca := range []struct{ arn, name string }{{root, "Token ACME Root"}, {sub, "Token ACME Issuing CA"}} {
		var created struct{ AcmeEndpointArn string }
		if err := json.Unmarshal(v.OK(t, "endpoint", "create", "--authorization-behavior", "PRE_APPROVED", "--contact", "NOT_REQUIRED",
			"--certificate-authority-arn", ca.arn, "-o", "json"), &created); err != nil {
			t.Fatal(err)
		}
		ep := testbin.IDOf(created.AcmeEndpointArn)
		v.OK(t, "endpoint", "domain", "add", ep, "lab.test", "--pre-validated")
		var eab struct {
			ExternalAccountBinding struct{ KeyId, MacKey string }
		}
		if err := json.Unmarshal(v.OK(t, "endpoint", "eab", "create", ep, "--reusable", "-o", "json"), &eab); err != nil {
			t.Fatal(err)
		}
		eps = append(eps, endpoint{ep, ca.name, eab.ExternalAccountBinding.KeyId, eab.ExternalAccountBinding.MacKey})
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(v.OK(t, "ca", "trust-bundle"))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, serveLog := v.Serve(t, nil, regexp.MustCompile(`^Serving ACME endpoints`), "endpoint", "serve", "--listen", addr)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// order registers an account on ep and gets a certificate for name.
	order := func(ctx context.Context, ep endpoint, name string) ([][]byte, error) {
		akey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		c := &acme.Client{Key: akey, DirectoryURL: "https://" + addr + "/" + ep.id + "/directory",
			HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
		mac, err := base64.RawURLEncoding.DecodeString(ep.mac)
		if err != nil {
			return nil, err
		}
		if _, err := c.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: ep.kid, Key: mac}}, acme.AcceptTOS); err != nil {
			return nil, fmt.Errorf("register: %w", err)
		}
		o, err := c.AuthorizeOrder(ctx, acme.DomainIDs(name))
		if err != nil {
			return nil, fmt.Errorf("new order: %w", err)
		}
		if o.Status != acme.StatusReady {
			return nil, fmt.Errorf("order %s, want ready (pre-approved)", o.Status)
		}
		lkey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: name}, DNSNames: []string{name}}, lkey)
		if err != nil {
			return nil, err
		}
		ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrDER, true)
		if err != nil {
			return nil, fmt.Errorf("finalize: %w", err)
		}
		return ders, nil
	}

	const perEndpoint = 4
	type got struct {
		ep   endpoint
		name string
		ders [][]byte
		err  error
	}
	results := make([]got, 0, perEndpoint*len(eps))
	for _, ep := range eps {
		for i := 0; i < perEndpoint; i++ {
			results = append(results, got{ep: ep, name: fmt.Sprintf("web%d.%s.lab.test", i, ep.id[:8])})
		}
	}
	var wg sync.WaitGroup
	for i := range results {
		wg.Add(1)
		go func(r *got) {
			defer wg.Done()
			r.ders, r.err = order(ctx, r.ep, r.name)
		}(&results[i])
	}
	wg.Wait()
	for _, r := range results {
		if r.err != nil {
			t.Errorf("%s on the endpoint of %s: %v", r.name, r.ep.caName, r.err)
			continue
		}
		var chain []byte
		for _, d := range r.ders[1:] {
			chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
		}
		lf := leaf{name: r.name, cert: testbin.WriteFile(t, dir, r.name+".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: r.ders[0]})),
			chain: testbin.WriteFile(t, dir, r.name+"-chain.pem", chain)}
		verify(t, rootPEM, lf)
		// Issued by the endpoint's token CA, not the built-in hierarchy.
		if cert, err := x509.ParseCertificate(r.ders[0]); err != nil || cert.Issuer.CommonName != r.ep.caName {
			t.Errorf("%s: issuer %v (%v), want %s", r.name, cert.Issuer, err, r.ep.caName)
		}
		findings, passed, err := linter.Lint(lf.cert)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range findings {
			t.Errorf("%s: %s = %s %s", filepath.Base(lf.cert), f.Lint, f.Result, f.Details)
		}
		if passed == 0 {
			t.Errorf("%s: no lint passed", filepath.Base(lf.cert))
		}
	}

	// The token is removed under the running server: an order's finalize
	// fails, and leaves no certificate and no event behind; the server's
	// log names the token's setting.
	count := func(args ...string) int {
		var out map[string][]json.RawMessage
		if err := json.Unmarshal(v.OK(t, append(args, "-o", "json")...), &out); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range out {
			n += len(l)
		}
		return n
	}
	certs, events := count("list"), count("events")
	tok.remove(t)
	// (The client retries a finalize that failed with 500 until its
	// context ends.)
	lateCtx, lateCancel := context.WithTimeout(ctx, 5*time.Second)
	defer lateCancel()
	if ders, err := order(lateCtx, eps[1], "late.lab.test"); err == nil {
		t.Errorf("an order finalized with the token removed: %d certificates", len(ders))
	}
	if n := count("list"); n != certs {
		t.Errorf("%d certificates after a failed finalize, want %d", n, certs)
	}
	if n := count("events"); n != events {
		t.Errorf("%d events after a failed finalize, want %d", n, events)
	}
	if l := serveLog(); !strings.Contains(l, "pkcs11.token_label") || strings.Contains(l, tok.PIN) {
		t.Errorf("endpoint serve logged:\n%s", l)
	}
}
