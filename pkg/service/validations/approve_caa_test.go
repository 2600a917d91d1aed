package validations_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/coretest"
	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/certificates"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

// TestApprovalForbiddenByCAAIsAFailure: the approval of the last name of
// an EMAIL request whose CAA records forbid certctl commits the
// certificate FAILED (CAA_ERROR) and is refused (exit 5); its
// ApproveDomainValidation record says so — a FAILURE with CAA_ERROR, the
// name and status as parameters — not a SUCCESS (tester: a change that
// did not do what was asked was recorded as one that did).
func TestApprovalForbiddenByCAAIsAFailure(t *testing.T) {
	ctx := context.Background()
	const name = "mail.example.test"
	core := coretest.New(t, coretest.Config{Actor: audit.Actor{Type: audit.ActorUser, ID: "t", Host: "h1"}})
	d := validationtest.StartDNS(t)
	d.Add(t, name+". 300 IN A 127.0.0.1")
	smtpd := validationtest.StartSMTP(t)
	vs := validations.New(core, validations.Settings{Validation: validation.Settings{Resolvers: []string{d.Addr},
		CAAIdentities: []string{"certctl.local"}, Validity: 90 * 24 * time.Hour},
		Mail: validations.MailSettings{Addr: smtpd.Addr, From: "certctl@vault.test"}})
	req, err := certificates.New(core, certificates.Settings{CertificateValidity: 90 * 24 * time.Hour, Validations: vs}).
		Request(ctx, certificates.RequestInput{DomainName: name, ValidationMethod: validation.MethodEmail, KeyAlgorithm: "EC_prime256v1"})
	if err != nil {
		t.Fatal(err)
	}
	mails := smtpd.Messages()
	if len(mails) == 0 {
		t.Fatal("no approval mail sent")
	}
	code := regexp.MustCompile(`Approval code: (\S+)`).FindStringSubmatch(mails[0].Data)
	if code == nil {
		t.Fatalf("no approval code in %q", mails[0].Data)
	}
	d.Add(t, name+`. 300 IN CAA 0 issue "ca.elsewhere.test"`)
	if _, err := vs.Approve(ctx, code[1]); errs.ExitCodeOf(err) != errs.ExitRefused || !strings.Contains(err.Error(), "CAA_ERROR") {
		t.Fatalf("approval forbidden by CAA: %v, want refused for CAA_ERROR", err)
	}
	var recs []*audit.Record
	var c *localstore.Certificate
	if err := core.Read(ctx, func(tx localstore.Tx) (err error) {
		if c, err = tx.GetCertificate(req.ID); err != nil {
			return err
		}
		recs, err = audit.List(tx, audit.Filter{EventName: "ApproveDomainValidation"}, 0, 0)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if c.Status != inventory.StatusFailed || c.FailureReason != validation.ReasonCAA {
		t.Fatalf("certificate %s (%s), want FAILED (CAA_ERROR)", c.Status, c.FailureReason)
	}
	if len(recs) != 1 || recs[0].Outcome != audit.OutcomeFailure || recs[0].ErrorCode != validation.ReasonCAA ||
		!strings.Contains(recs[0].ErrorMessage, name) || recs[0].RequestParameters["DomainName"] != name ||
		recs[0].RequestParameters["Status"] != inventory.StatusFailed || recs[0].RequestParameters["FailureReason"] != validation.ReasonCAA {
		for _, r := range recs {
			t.Logf("%+v", *r)
		}
		t.Fatalf("ApproveDomainValidation records: want one FAILURE CAA_ERROR")
	}
	for _, r := range recs {
		for k, v := range r.RequestParameters {
			if s, ok := v.(string); ok && strings.Contains(s, code[1]) {
				t.Errorf("the approval code in parameter %s", k)
			}
		}
		if strings.Contains(r.ErrorMessage, code[1]) {
			t.Error("the approval code in the error message")
		}
	}
}
