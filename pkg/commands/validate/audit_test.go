package validate_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

// auditLog returns the vault's audit records, oldest first.
func (e *env) auditLog() []*audit.Record {
	e.t.Helper()
	v, err := localstore.Open(context.Background(), e.vars["CERTCTL_VAULT"], localstore.Options{})
	if err != nil {
		e.t.Fatal(err)
	}
	defer v.Close()
	var recs []*audit.Record
	if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	}); err != nil {
		e.t.Fatal(err)
	}
	return recs
}

func eventNames(recs []*audit.Record) string {
	var s []string
	for _, r := range recs {
		s = append(s, r.EventName+"/"+r.Outcome)
	}
	return strings.Join(s, " ")
}

// outboxCodes returns the approval code of each .eml file in the outbox.
func (e *env) outboxCodes() map[string]string {
	e.t.Helper()
	files, _ := filepath.Glob(filepath.Join(e.vars["CERTCTL_VAULT"], "outbox", "*.eml"))
	out := map[string]string{}
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			e.t.Fatal(err)
		}
		if m := codeRe.FindStringSubmatch(string(b)); m != nil {
			out[p] = m[1]
		}
	}
	return out
}

// TestAuditValidation: a check that changes a name, an approval and a
// resend are recorded with the certificate's ARN; a check that changes
// nothing records nothing; a used code is a FAILURE; no approval code,
// used or not, is ever in the log.
func TestAuditValidation(t *testing.T) {
	e := newEnv(t)
	arn := e.request("--domain-name", "aud.example.test")
	n := len(e.auditLog())
	e.ok("validate", "check", arn) // no record yet: nothing changes
	if recs := e.auditLog(); len(recs) != n {
		t.Fatalf("a check that changed nothing recorded %s", eventNames(recs[n:]))
	}
	for _, rr := range e.bindRecords(arn) {
		e.dns.Add(t, rr.String())
	}
	e.ok("validate", "check", arn)
	recs := e.auditLog()
	got := recs[n:]
	// The certificate, then the public-style issuing CA and root that
	// issuing it made on first use.
	if eventNames(got) != "CheckDomainValidation/SUCCESS" || len(got[0].Resources) != 3 || got[0].Resources[0] != arn {
		t.Fatalf("a check that issued recorded %s, naming %v", eventNames(got), got[0].Resources)
	}
	for _, r := range got[0].Resources[1:] {
		if !strings.Contains(r, ":certificate-authority/") {
			t.Errorf("a check that issued names %s, want the CAs it made", r)
		}
	}

	mail := e.request("--domain-name", "mail.example.test", "--validation-method", "EMAIL")
	n = len(e.auditLog())
	e.ok("resend-validation-email", mail, "--domain", "mail.example.test", "--validation-domain", "example.test")
	codes := e.outboxCodes()
	var code string
	for p, c := range codes {
		b, _ := os.ReadFile(p)
		if strings.Contains(string(b), "To: admin@example.test") {
			code = c
		}
	}
	e.ok("validate", "approve", "--code", code)
	if r := e.run("validate", "approve", "--code", code); r.code != errs.ExitRefused {
		t.Fatalf("a used code: exit %d", r.code)
	}
	recs = e.auditLog()
	got = recs[n:]
	if eventNames(got) != "ResendValidationEmail/SUCCESS ApproveDomainValidation/SUCCESS ApproveDomainValidation/FAILURE" {
		t.Fatalf("recorded %s", eventNames(got))
	}
	for _, r := range got {
		if len(r.Resources) != 1 || r.Resources[0] != mail || r.RequestParameters["DomainName"] != "mail.example.test" {
			t.Fatalf("record %+v", r)
		}
	}
	if got[0].RequestParameters["ValidationDomain"] != "example.test" {
		t.Fatalf("resend parameters %v", got[0].RequestParameters)
	}
	b, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		if strings.Contains(string(b), c) {
			t.Fatal("an approval code reached the audit log")
		}
	}
}
