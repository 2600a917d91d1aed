package request_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/errs"
)

// A --query that fails on request's output comes after the certificate was
// made: the command fails (1), not as a usage error (2, "nothing
// happened"), and the message names the new certificate, which is in the
// vault.
func TestRequestQueryFailingOnOutput(t *testing.T) {
	e := clitest.New(t)
	r := e.Run("request", "--domain-name", "q.example.test", "--certificate-authority-arn", "default",
		"-o", "json", "--query", "abs(CertificateArn)")
	if r.Code != errs.ExitFailure || r.Stdout != "" {
		t.Fatalf("%v\nwant exit 1 and nothing printed", r)
	}
	var list struct {
		CertificateSummaryList []struct{ CertificateArn string }
	}
	e.JSON(&list, "list")
	if len(list.CertificateSummaryList) != 1 {
		t.Fatalf("list: %+v, want the one certificate made", list)
	}
	if arn := list.CertificateSummaryList[0].CertificateArn; !strings.Contains(r.Stderr, "the command completed (CertificateArn "+arn+")") {
		t.Errorf("stderr %q, want it to say the command completed and name %s", r.Stderr, arn)
	}
	// An unknown function is refused before anything is made.
	if r := e.Run("request", "--domain-name", "u.example.test", "--certificate-authority-arn", "default",
		"--query", "nosuch(CertificateArn)"); r.Code != errs.ExitUsage {
		t.Errorf("%v\nwant exit 2", r)
	}
	e.JSON(&list, "list")
	if len(list.CertificateSummaryList) != 1 {
		t.Errorf("list after a refused query: %d certificates, want 1", len(list.CertificateSummaryList))
	}
}

// TestRequestOutboxUnwritable: with no SMTP server the validation mail
// goes to the vault's outbox; when it cannot be written there the request
// stands (exit 0) and the hint points at the outbox, not at smtp.*
// settings nobody made (tester).
func TestRequestOutboxUnwritable(t *testing.T) {
	e := clitest.New(t)
	e.MustRun("list") // the vault exists
	if err := os.WriteFile(filepath.Join(e.Vault, "outbox"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.MustRun("request", "--domain-name", "mail.example.test", "--validation-method", "EMAIL", "-o", "text")
	if !strings.Contains(r.Stderr, "the validation email could not be sent") ||
		!strings.Contains(r.Stderr, "hint: fix what kept it from the outbox ("+filepath.Join(e.Vault, "outbox")+")") ||
		strings.Contains(r.Stderr, "smtp") {
		t.Errorf("stderr:\n%s", r.Stderr)
	}
	// Sent again, it fails the same way: the outbox's failure (exit 1),
	// with the outbox named, not a vault unavailable (exit 6; verification
	// tester).
	arn := strings.TrimSpace(r.Stdout)
	r = e.Run("resend-validation-email", arn, "--domain", "mail.example.test", "--validation-domain", "mail.example.test")
	if r.Code != errs.ExitFailure || !strings.Contains(r.Stderr, "validation email not written to the outbox") ||
		!strings.Contains(r.Stderr, "hint: fix what keeps it from "+filepath.Join(e.Vault, "outbox")) {
		t.Errorf("resend: %v", r)
	}
}
