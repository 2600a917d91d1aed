// Package pki holds process-level tests of certctl's private CA: the
// binary's certificates and CRLs linted by zlint, revocation answered over
// HTTP to openssl's OCSP client, and issuance from many processes at once.
// TestMain builds the certctl binary once; each test runs it as a child.
package pki

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
)

var harness *testbin.Harness

func TestMain(m *testing.M) { os.Exit(testbin.Main(m, "certctl-pki-test-", &harness)) }

// childEnv is the environment of certctl children.
func childEnv(extra ...string) []string { return harness.Env(extra...) }

// vault is a certctl vault directory with extra environment for children.
type vault struct{ *testbin.Vault }

func newVault(t *testing.T, env ...string) *vault { return &vault{harness.NewVault(t, env...)} }

// pemOf returns certificate and chain PEM of a certificate (describe --pem -o json).
func (v *vault) pemOf(t *testing.T, arn string) (cert, chain string) {
	t.Helper()
	out := v.OK(t, "describe", arn, "--pem", "-o", "json")
	var res struct{ Certificate, CertificateChain string }
	if err := json.Unmarshal(out, &res); err != nil || res.Certificate == "" {
		t.Fatalf("describe --pem -o json: %v\n%s", err, out)
	}
	return res.Certificate, res.CertificateChain
}
