package acme

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"golang.org/x/crypto/acme"
)

// TestRevokeAfterEndpointDeleted: an ACME certificate revokes through its
// endpoint — `certctl revoke` refuses it (exit 5) while the endpoint
// exists — but once the endpoint is deleted no ACME path is left (its URLs
// answer 404, another endpoint did not issue it), and `certctl revoke`
// revokes it (tester: a compromised key could never reach the CRL).
func TestRevokeAfterEndpointDeleted(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	cl, _ := s.acmeClient(t, s.kid, s.mac)
	o, err := cl.AuthorizeOrder(ctx, acme.DomainIDs("gone.lab.test"))
	if err != nil {
		t.Fatal(err)
	}
	ck, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	csr, _ := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{DNSNames: []string{"gone.lab.test"}}, ck)
	if _, _, err := cl.CreateOrderCert(ctx, o.FinalizeURL, csr, true); err != nil {
		t.Fatal(err)
	}
	var l struct {
		CertificateSummaryList []struct{ CertificateArn, DomainName string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "list", "--certificate-key-pair-origins", "ACME"), &l); err != nil || len(l.CertificateSummaryList) != 1 {
		t.Fatalf("ACME certificates: %+v, %v", l, err)
	}
	arn := l.CertificateSummaryList[0].CertificateArn
	revoke := func() (int, string) {
		cmd := exec.Command(harness.Bin, "revoke", arn, "--revocation-reason", "KEY_COMPROMISE")
		cmd.Env = childEnv("CERTCTL_VAULT="+s.vault, "HOME="+harness.Home, "XDG_CONFIG_HOME="+harness.Home)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, stderr.String()
	}
	if code, stderr := revoke(); code != 5 || !strings.Contains(stderr, "revoke it through the ACME endpoint") {
		t.Fatalf("revoke while its endpoint exists: exit %d, %s", code, stderr)
	}
	// Deleting it says the certificates it issued are still valid and
	// how they are revoked now.
	del := exec.Command(harness.Bin, "endpoint", "delete", s.id, "--yes")
	del.Env = childEnv("CERTCTL_VAULT="+s.vault, "HOME="+harness.Home, "XDG_CONFIG_HOME="+harness.Home)
	if out, err := del.CombinedOutput(); err != nil || !strings.Contains(string(out), "1 certificate(s) it issued are still valid") || !strings.Contains(string(out), "certctl revoke") {
		t.Fatalf("endpoint delete: %v\n%s", err, out)
	}
	if code, stderr := revoke(); code != 0 {
		t.Fatalf("revoke once its endpoint is deleted: exit %d, %s", code, stderr)
	}
	var d struct {
		Certificate struct{ Status, RevocationReason string }
	}
	if err := json.Unmarshal(s.certctl(t, "-o", "json", "describe", arn), &d); err != nil || d.Certificate.Status != "REVOKED" || d.Certificate.RevocationReason != "KEY_COMPROMISE" {
		t.Errorf("after revoke: %+v, %v", d, err)
	}
}
