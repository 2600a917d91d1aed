package pki

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testbin"
)

// startServe starts `certctl ca serve --listen 127.0.0.1:0` on v in the
// background and returns its base URL once it listens. The server is
// interrupted (and killed if need be) when the test ends.
func startServe(t *testing.T, v *vault) string {
	t.Helper()
	m := v.StartServe(t, regexp.MustCompile(`http://(\S+)`), "ca", "serve", "--listen", "127.0.0.1:0")
	return "http://" + m[1]
}

func firstPEM(t *testing.T, data string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(data))
	if b == nil {
		t.Fatalf("no PEM in %q", data)
	}
	return pem.EncodeToMemory(b)
}

func parseCert(t *testing.T, pemData []byte) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode(pemData)
	if b == nil {
		t.Fatal("no PEM certificate")
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOCSPAndCRLOverHTTP revokes one of two certificates and asks `ca
// serve` about both with openssl's OCSP client (revoked with its reason,
// good), then fetches the CRL at the URL the certificate carries, in DER,
// and finds the revoked serial with its reason (checked by openssl crl too).
// A user-made subordinate gets the same treatment, so the responder picks
// the right issuer among several.
func TestOCSPAndCRLOverHTTP(t *testing.T) {
	openssl := testbin.Tool(t, "openssl")
	dir := t.TempDir()
	v := newVault(t)
	base := startServe(t, v) // the vault is created by the server's open; CAs added later are served too
	v.Env = []string{"CERTCTL_CA_BASE_URL=" + base}

	root := v.ARN(t, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_secp384r1", "--subject", "CN=OCSP Root")
	sub := v.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--key-algorithm", "RSA_2048", "--subject", "CN=OCSP Sub", "--parent", root)
	roots := testbin.WriteFile(t, dir, "roots.pem", v.OK(t, "ca", "trust-bundle"))

	for _, ca := range []string{"default", sub} {
		t.Run(testbin.IDOf(ca), func(t *testing.T) {
			sub := filepath.Join(dir, testbin.IDOf(ca))
			if err := os.Mkdir(sub, 0o700); err != nil {
				t.Fatal(err)
			}
			bad := v.ARN(t, "request", "--domain-name", "bad.internal", "--certificate-authority-arn", ca)
			good := v.ARN(t, "request", "--domain-name", "good.internal", "--certificate-authority-arn", ca, "--key-algorithm", "EC_prime256v1")
			badPEM, chain := v.pemOf(t, bad)
			goodPEM, _ := v.pemOf(t, good)
			badFile := testbin.WriteFile(t, sub, "bad.pem", []byte(badPEM))
			goodFile := testbin.WriteFile(t, sub, "good.pem", []byte(goodPEM))
			issuing := testbin.WriteFile(t, sub, "issuing.pem", firstPEM(t, chain))
			v.OK(t, "revoke", bad, "--revocation-reason", "KEY_COMPROMISE")

			r := testbin.RunCmd(exec.Command(openssl, "ocsp", "-issuer", issuing, "-cert", badFile, "-cert", goodFile,
				"-url", base+"/ocsp", "-CAfile", roots), []string{"openssl", "ocsp"})
			if r.Code != 0 {
				t.Fatalf("%v", r)
			}
			out := string(r.Stdout)
			if !strings.Contains(out, badFile+": revoked") || !strings.Contains(out, "Reason: keyCompromise") {
				t.Errorf("openssl ocsp did not report %s revoked (keyCompromise):\n%s", badFile, out)
			}
			if !strings.Contains(out, goodFile+": good") {
				t.Errorf("openssl ocsp did not report %s good:\n%s", goodFile, out)
			}
			if !strings.Contains(string(r.Stderr), "Response verify OK") {
				t.Errorf("openssl did not verify the OCSP response:\n%s", r.Stderr)
			}

			// The CRL at the URL the certificate carries.
			leaf := parseCert(t, []byte(badPEM))
			want := base + "/crl/" + caID(t, v, ca) + ".crl"
			if len(leaf.CRLDistributionPoints) != 1 || leaf.CRLDistributionPoints[0] != want {
				t.Fatalf("CRL DP %v, want %s", leaf.CRLDistributionPoints, want)
			}
			if len(leaf.OCSPServer) != 1 || leaf.OCSPServer[0] != base+"/ocsp" {
				t.Fatalf("AIA OCSP %v", leaf.OCSPServer)
			}
			der := httpGet(t, want)
			crl, err := x509.ParseRevocationList(der)
			if err != nil {
				t.Fatalf("CRL from %s: %v", want, err)
			}
			if err := crl.CheckSignatureFrom(parseCert(t, firstPEM(t, chain))); err != nil {
				t.Fatalf("CRL signature: %v", err)
			}
			found := false
			for _, e := range crl.RevokedCertificateEntries {
				if e.SerialNumber.Cmp(leaf.SerialNumber) == 0 {
					found = e.ReasonCode == 1
				}
			}
			if !found {
				t.Fatalf("CRL from %s does not list %x as keyCompromise", want, leaf.SerialNumber)
			}
			crlFile := testbin.WriteFile(t, sub, "crl.der", der)
			r = testbin.RunCmd(exec.Command(openssl, "crl", "-inform", "DER", "-in", crlFile, "-noout", "-text"), []string{"openssl", "crl"})
			serialHex := strings.ToUpper(fmt.Sprintf("%X", leaf.SerialNumber))
			if r.Code != 0 || !strings.Contains(string(r.Stdout), serialHex) || !strings.Contains(string(r.Stdout), "Key Compromise") {
				t.Fatalf("openssl crl does not list %s: %v", serialHex, r)
			}
		})
	}
	// An unknown CA's CRL, and that of a CA still waiting for its
	// certificate, are 404 (not a server error).
	pending := v.ARN(t, "ca", "create", "--type", "SUBORDINATE", "--external", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Pending")
	for _, id := range []string{"00000000-0000-0000-0000-000000000000", testbin.IDOf(pending)} {
		resp, err := http.Get(base + "/crl/" + id + ".crl")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("CRL of CA %s: HTTP %d, want 404", id, resp.StatusCode)
		}
	}
}

// caID returns the UUID of the CA named by arg (e.g. "default").
func caID(t *testing.T, v *vault, arg string) string {
	t.Helper()
	var d struct{ CertificateAuthority struct{ Arn string } }
	if err := json.Unmarshal(v.OK(t, "ca", "describe", arg, "-o", "json"), &d); err != nil || d.CertificateAuthority.Arn == "" {
		t.Fatalf("ca describe %s: %v", arg, err)
	}
	return testbin.IDOf(d.CertificateAuthority.Arn)
}

func httpGet(t *testing.T, url string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pkix-crl" {
		t.Errorf("GET %s: Content-Type %q", url, ct)
	}
	return body
}
