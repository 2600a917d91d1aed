package revoke_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
)

// TestRevokeSaysTheCAIsDeleted: revoking a certificate whose issuing CA
// was permanently deleted revokes it and says, on stderr, that no CRL or
// OCSP answer will carry the revocation — for one certificate and in a
// selection's results (tester: a plain success); within the CA's restore
// window, when its CRL still carries the revocation, nothing is said
// (review).
func TestRevokeSaysTheCAIsDeleted(t *testing.T) {
	e := clitest.New(t)
	ca := strings.TrimSpace(e.MustRun("ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Gone Root", "-o", "text").Stdout)
	var arns []string
	for _, name := range []string{"one.internal", "two.internal", "three.internal", "four.internal"} {
		arn := strings.TrimSpace(e.MustRun("request", "--domain-name", name, "--certificate-authority-arn", ca, "--tags", "Key=gone,Value=yes", "-o", "text").Stdout)
		e.Export(arn)
		arns = append(arns, arn)
	}
	if r := e.MustRun("revoke", arns[0], "--revocation-reason", "SUPERSEDED"); strings.Contains(r.Stderr, "DELETED") {
		t.Errorf("revoke under an ACTIVE CA: stderr %q", r.Stderr)
	}
	e.MustRun("ca", "update", ca, "--status", "DISABLED")
	e.MustRun("ca", "delete", ca, "--permanent-deletion-time-in-days", "7", "--yes")
	if r := e.MustRun("revoke", arns[1], "--revocation-reason", "KEY_COMPROMISE"); strings.Contains(r.Stderr, "CRL") {
		t.Errorf("revoke under a DELETED CA within its restore window: stderr %q", r.Stderr)
	}
	e.Advance(8 * 24 * time.Hour)
	r := e.MustRun("revoke", arns[2], "--revocation-reason", "KEY_COMPROMISE")
	if want := arns[2] + ": its issuing certificate authority "; !strings.Contains(r.Stderr, want) || !strings.Contains(r.Stderr, "was permanently deleted: no CRL or OCSP answer will carry this revocation") {
		t.Fatalf("revoke under a permanently deleted CA: stderr %q, want %q and why", r.Stderr, want)
	}
	r = e.MustRun("revoke", "--query-terse", "tag:gone=yes", "--revocation-reason", "SUPERSEDED", "--yes", "-o", "json")
	var out struct {
		Results []struct{ CertificateArn, Outcome, Reason string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		t.Fatal(err)
	}
	var revoked int
	for _, res := range out.Results {
		if res.Outcome == "REVOKED" {
			revoked++
			if res.CertificateArn != arns[3] || !strings.Contains(res.Reason, "was permanently deleted: no CRL or OCSP answer will carry this revocation") {
				t.Errorf("a selection under a permanently deleted CA: %+v", res)
			}
		}
	}
	if revoked != 1 {
		t.Errorf("results %+v, want the one certificate not revoked before", out.Results)
	}
}
