package request_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// TestRetryAnswersAsTheFirstRequest: a request retried with its
// --idempotency-token prints the same ARN and exits as the first request
// did, whatever became of its certificate since (review: a retry of a
// request whose certificate ended FAILED in validation exited 5, one
// that ended VALIDATION_TIMED_OUT exited 0, though both first requests
// had exited 0). A certificate that moved on is told on stderr, without
// the advice for a validation no longer pending; a request refused at
// once (its certificate FAILED there, exit 5) is refused again.
func TestRetryAnswersAsTheFirstRequest(t *testing.T) {
	e := clitest.New(t)
	d := validationtest.StartDNS(t)
	e.Vars["CERTCTL_VALIDATION_RESOLVERS"] = d.Addr
	e.Vars["CERTCTL_VALIDATION_DNS_ZONE"] = "acm-validations.certctl.test"
	e.Vars["CERTCTL_VALIDATION_CAA_IDENTITIES"] = "certctl.local"
	status := func(arn string) string {
		var out struct {
			Certificate struct{ Status, FailureReason string }
		}
		e.JSON(&out, "describe", arn)
		return out.Certificate.Status + " " + out.Certificate.FailureReason
	}
	retry := func(first clitest.Result, want errs.ExitCode, stderr string) {
		t.Helper()
		again := e.Run(first.Args...)
		if again.Code != want || again.Stdout != first.Stdout || !strings.Contains(again.Stderr, stderr) {
			t.Errorf("retry: want exit %d, the first request's stdout and %q on stderr\nfirst: %v\nretry: %v", want, stderr, first, again)
		}
		if strings.Contains(again.Stderr, "create the CNAME records") {
			t.Errorf("retry of a certificate no longer pending advises creating its records:\n%v", again)
		}
	}

	// FAILED in validation (a CAA record forbids issuance), after a
	// request that succeeded.
	d.Add(t, `example.test. 300 IN CAA 0 issue ";"`)
	for _, format := range []string{"json", "text"} {
		first := e.Run("request", "--domain-name", "caa-"+format+".example.test", "--idempotency-token", "caa-"+format, "-o", format)
		if first.Code != 0 {
			t.Fatalf("%v", first)
		}
		arn := strings.TrimSpace(first.Stdout)
		if format == "json" {
			var out struct{ CertificateArn string }
			if err := json.Unmarshal([]byte(first.Stdout), &out); err != nil {
				t.Fatal(err)
			}
			arn = out.CertificateArn
		}
		zp := dns.NewZoneParser(strings.NewReader(e.MustRun("describe", arn, "--validation-records", "bind").Stdout), "", "")
		for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
			d.Add(t, rr.String())
		}
		e.Run("validate", "check", arn)
		if s := status(arn); s != "FAILED CAA_ERROR" {
			t.Fatalf("after validate check: %s", s)
		}
		retry(first, 0, "it is now FAILED (CAA_ERROR)")
	}

	// VALIDATION_TIMED_OUT: seen within the hour with the clock put back
	// (it takes 72 hours), as a retry would see it.
	start := e.Now()
	first := e.Run("request", "--domain-name", "slow.example.test", "--idempotency-token", "slow", "-o", "text")
	if first.Code != 0 {
		t.Fatalf("%v", first)
	}
	arn := strings.TrimSpace(first.Stdout)
	e.SetNow(start.Add(73 * time.Hour))
	e.Run("validate", "check", arn)
	if s := status(arn); s != "VALIDATION_TIMED_OUT " {
		t.Fatalf("after 73 hours: %s", s)
	}
	e.SetNow(start.Add(30 * time.Minute))
	retry(first, 0, "it is now VALIDATION_TIMED_OUT")

	// Refused at once (no address can receive validation email): the
	// retry is refused again.
	first = e.Run("request", "--domain-name", "www.co.uk", "--validation-method", "EMAIL", "--idempotency-token", "contacts", "-o", "text")
	if first.Code != errs.ExitRefused {
		t.Fatalf("%v", first)
	}
	retry(first, errs.ExitRefused, "FAILED (NO_AVAILABLE_CONTACTS): requested before with this idempotency token")
}
