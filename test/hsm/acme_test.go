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
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/acme"
)

// TestTokenACME: an ACME endpoint that issues from a subordinate whose key
// is in the token (endpoint create --certificate-authority-arn, SPEC
// "endpoint — challenges…") serves an order of golang.org/x/crypto/acme;
// the certificate verifies with openssl up to the token root.
func TestTokenACME(t *testing.T) {
	tok := newToken(t, "certctl acme")
	v := newVault(t, tok.env()...)
	if help := v.ok(t, "endpoint", "create", "--help"); !strings.Contains(string(help), "--certificate-authority-arn") {
		// ACME issuance from a CA of the vault is issue 12; until it is
		// merged ACME orders are signed by the built-in hierarchy, whose
		// keys are sealed in the vault.
		t.Skip("endpoint create has no --certificate-authority-arn in this tree")
	}
	dir := t.TempDir()
	root := v.arn(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_secp384r1", "--subject", "CN=Token ACME Root", "--key-storage", "PKCS11")
	sub := v.arn(t, "ca", "create", "--type", "SUBORDINATE", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Token ACME Issuing CA",
		"--parent", root, "--key-storage", "PKCS11")
	var created struct{ AcmeEndpointArn string }
	if err := json.Unmarshal(v.ok(t, "endpoint", "create", "--authorization-behavior", "PRE_APPROVED", "--contact", "NOT_REQUIRED",
		"--certificate-authority-arn", sub, "-o", "json"), &created); err != nil {
		t.Fatal(err)
	}
	ep := idOf(created.AcmeEndpointArn)
	v.ok(t, "endpoint", "domain", "add", ep, "lab.test", "--pre-validated")
	var eab struct {
		ExternalAccountBinding struct{ KeyId, MacKey string }
	}
	if err := json.Unmarshal(v.ok(t, "endpoint", "eab", "create", ep, "-o", "json"), &eab); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(v.ok(t, "ca", "trust-bundle"))

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	v.startServe(t, regexp.MustCompile(`^Serving ACME endpoints`), "endpoint", "serve", "--listen", addr)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	akey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := &acme.Client{Key: akey, DirectoryURL: "https://" + addr + "/" + ep + "/directory",
		HTTPClient: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}}
	mac, err := base64.RawURLEncoding.DecodeString(eab.ExternalAccountBinding.MacKey)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx, &acme.Account{ExternalAccountBinding: &acme.ExternalAccountBinding{KID: eab.ExternalAccountBinding.KeyId, Key: mac}}, acme.AcceptTOS); err != nil {
		t.Fatalf("register: %v", err)
	}
	o, err := c.AuthorizeOrder(ctx, acme.DomainIDs("web.lab.test"))
	if err != nil {
		t.Fatalf("new order: %v", err)
	}
	if o.Status != acme.StatusReady {
		t.Fatalf("order %s, want ready (pre-approved)", o.Status)
	}
	lkey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "web.lab.test"}, DNSNames: []string{"web.lab.test"}}, lkey)
	if err != nil {
		t.Fatal(err)
	}
	ders, _, err := c.CreateOrderCert(ctx, o.FinalizeURL, csrDER, true)
	if err != nil {
		t.Fatalf("finalize: %v", err)
	}
	var chain []byte
	for _, d := range ders[1:] {
		chain = append(chain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	lf := leaf{name: "acme", cert: writeFile(t, dir, "acme.pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ders[0]})),
		chain: writeFile(t, dir, "acme-chain.pem", chain)}
	verify(t, v.caCert(t, dir, "root.pem", root), lf)
	// Issued by the token subordinate, not the built-in hierarchy.
	cert, _ := x509.ParseCertificate(ders[0])
	if cert.Issuer.CommonName != "Token ACME Issuing CA" {
		t.Errorf("issuer %s", cert.Issuer)
	}
}
