package certificates

import (
	"context"
	"encoding/json"
	"github.com/certctl/certctl/internal/coretest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/audit"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation"
)

// newService returns a certificates service over a fresh vault whose clock
// is *now, recording changes as a test user.
func newService(t *testing.T, now *time.Time) *Service {
	t.Helper()
	return newServiceOn(t, now, "")
}

// newServiceOn is newService over the store at storeURL ("": SQLite).
func newServiceOn(t *testing.T, now *time.Time, storeURL string) *Service {
	t.Helper()
	core := coretest.New(t, coretest.Config{Now: func() time.Time { return *now }, StoreURL: storeURL})
	dir := core.Vault.Dir
	vs := validations.New(core, validations.Settings{Validation: validation.Settings{
		Zone: "acm-validations.certctl.test", Resolvers: []string{"127.0.0.1:9"}, Validity: 90 * 24 * time.Hour,
	}})
	return New(core, Settings{CertificateValidity: 90 * 24 * time.Hour, Validations: vs, Outbox: validations.OutboxDir(dir)})
}

// auditLog returns every audit record of s's vault, oldest first.
func auditLog(t *testing.T, s *Service) []*audit.Record {
	t.Helper()
	var recs []*audit.Record
	err := s.core.Vault.Store.View(context.Background(), func(tx localstore.Tx) error {
		var err error
		recs, err = audit.List(tx, audit.Filter{}, 0, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

func TestRequestPrivateIsRecorded(t *testing.T) {
	now := t0
	s := newService(t, &now)
	ctx := context.Background()
	in := RequestInput{DomainName: "app.internal", SubjectAlternativeNames: []string{"www.app.internal"}, KeyAlgorithm: "EC_prime256v1",
		CertificateAuthority: "default", IdempotencyToken: "secret-token-value", Tags: []localstore.Tag{{Key: "env", Value: "prod"}}}
	res, err := s.Request(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != inventory.TypePrivate || !strings.HasSuffix(res.CertificateArn, "certificate/"+res.ID) {
		t.Fatalf("result %+v", res)
	}
	d, err := s.Describe(ctx, res.ID, false)
	if err != nil {
		t.Fatal(err)
	}
	caARN := d.Certificate.CertificateAuthorityArn
	if d.Certificate.Status != inventory.StatusIssued || caARN == "" || d.Certificate.Options.Export != "ENABLED" {
		t.Fatalf("described %+v", d.Certificate)
	}

	// The same token and arguments: the same certificate, recorded again.
	again, err := s.Request(ctx, in)
	if err != nil || again.ID != res.ID {
		t.Fatalf("idempotent repeat: %+v, %v", again, err)
	}
	recs := auditLog(t, s)
	var reqs []*audit.Record
	for _, r := range recs {
		if r.EventName == "RequestCertificate" {
			reqs = append(reqs, r)
		}
	}
	if len(reqs) != 2 {
		t.Fatalf("%d RequestCertificate records, want 2", len(reqs))
	}
	// The default hierarchy, made on first use, is named by the request
	// that made it: its root after the certificate and its CA.
	var rootARN string
	if err := s.core.Vault.Store.View(ctx, func(tx localstore.Tx) error {
		ca, err := authority.Get(tx, caARN[strings.LastIndex(caARN, "/")+1:])
		if err == nil {
			rootARN = s.core.Names.CAARN(ca.ParentID)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		if r.Outcome != audit.OutcomeSuccess || r.Actor.ID != "tester" {
			t.Errorf("record %+v", r)
		}
		want := res.CertificateArn + " " + caARN
		if i == 0 {
			want += " " + rootARN
		}
		if got := strings.Join(r.Resources, " "); got != want {
			t.Errorf("record %d: Resources %q, want %q (the certificate, its CA and the CAs made on first use)", i, got, want)
		}
		p := r.RequestParameters
		if p["DomainName"] != "app.internal" || p["KeyAlgorithm"] != "EC_prime256v1" || p["CertificateAuthorityArn"] != "default" ||
			p["IdempotencyTokenGiven"] != true {
			t.Errorf("RequestParameters %v", p)
		}
		raw, _ := json.Marshal(r)
		if strings.Contains(string(raw), "secret-token-value") {
			t.Errorf("the idempotency token is in the record: %s", raw)
		}
		if strings.Contains(string(raw), "PRIVATE KEY") {
			t.Errorf("a key is in the record: %s", raw)
		}
	}
	if sans, _ := reqs[0].RequestParameters["SubjectAlternativeNames"].([]any); len(sans) != 1 || sans[0] != "www.app.internal" {
		t.Errorf("SubjectAlternativeNames %v", reqs[0].RequestParameters["SubjectAlternativeNames"])
	}
}

func TestRequestRefusalIsRecorded(t *testing.T) {
	now := t0
	s := newService(t, &now)
	_, err := s.Request(context.Background(), RequestInput{DomainName: "not a name", CertificateAuthority: "default"})
	if errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Fatalf("bad name: %v, want exit 4", err)
	}
	recs := auditLog(t, s)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	r := recs[0]
	if r.EventName != "RequestCertificate" || r.Outcome != audit.OutcomeFailure || r.ErrorCode == "" || r.RequestParameters["DomainName"] != "not a name" {
		t.Errorf("record %+v", r)
	}
	// Nothing else was created: no CA, no certificate.
	page, err := s.List(context.Background(), ListInput{})
	if err != nil || len(page.Certificates) != 0 {
		t.Errorf("list after a refused request: %+v, %v", page, err)
	}
}

func TestRequestIssuedType(t *testing.T) {
	now := t0
	s := newService(t, &now)
	ctx := context.Background()
	res, err := s.Request(ctx, RequestInput{DomainName: "www.example.test", SubjectAlternativeNames: []string{"example.test"}, ValidationMethod: "EMAIL"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Type != inventory.TypeIssued || res.ValidationMethod != "EMAIL" || res.Messages == 0 || res.MailError != nil || res.Outbox == "" {
		t.Fatalf("result %+v", res)
	}
	mails, _ := filepath.Glob(filepath.Join(res.Outbox, "*.eml"))
	if len(mails) != res.Messages {
		t.Errorf("%d messages in the outbox, result says %d", len(mails), res.Messages)
	}
	d, err := s.Describe(ctx, res.CertificateArn, false)
	if err != nil || d.Certificate.Status != inventory.StatusPendingValidation || d.Certificate.Options.Export != "DISABLED" {
		t.Fatalf("described %+v, %v", d, err)
	}
	recs := auditLog(t, s)
	r := recs[len(recs)-1]
	if r.EventName != "RequestCertificate" || strings.Join(r.Resources, " ") != res.CertificateArn || r.RequestParameters["ValidationMethod"] != "EMAIL" ||
		r.RequestParameters["IdempotencyTokenGiven"] != false {
		t.Errorf("record %+v", r)
	}
	for _, m := range mails {
		b, _ := os.ReadFile(m)
		code := ""
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Approval code: "); ok {
				code = v
			}
		}
		raw, _ := json.Marshal(recs)
		if code == "" || strings.Contains(string(raw), code) {
			t.Errorf("approval code %q missing from the mail or present in the audit log", code)
		}
	}

	// Waiting times out (exit 8) while the names are not validated.
	if err := s.WaitIssued(ctx, res.ID, 50*time.Millisecond, nil); errs.ExitCodeOf(err) != errs.ExitTimeout {
		t.Errorf("WaitIssued: %v, want exit 8", err)
	}
}

// TestRequestRetryKeepsTheFirstAnswer: a retry with the idempotency token
// is answered as the first request was, not by what became of the
// certificate since: one that FAILED or timed out in validation after
// the request was requested successfully, and the retry is a SUCCESS
// (Repeated, with the certificate's status now); one refused at once is
// refused again. A token recorded before the first answer was kept
// refuses a FAILED certificate, as retries did then.
func TestRequestRetryKeepsTheFirstAnswer(t *testing.T) {
	now := t0
	s := newService(t, &now)
	ctx := context.Background()
	end := func(id, status, reason string) {
		t.Helper()
		if err := s.core.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
			c, err := tx.GetCertificate(id)
			if err != nil {
				return err
			}
			c.Status, c.FailureReason = status, reason
			return tx.PutCertificate(c)
		}); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct{ status, reason string }{
		{inventory.StatusFailed, "CAA_ERROR"},
		{inventory.StatusValidationTimedOut, ""},
	} {
		in := RequestInput{DomainName: "later-" + strings.ReplaceAll(strings.ToLower(tc.status), "_", "-") + ".example.test", IdempotencyToken: "tok-" + tc.status}
		first, err := s.Request(ctx, in)
		if err != nil || first.Failed != nil || first.Repeated {
			t.Fatalf("first request: %+v, %v", first, err)
		}
		end(first.ID, tc.status, tc.reason)
		again, err := s.Request(ctx, in)
		if err != nil || again.Failed != nil || again.ID != first.ID || !again.Repeated || again.Status != tc.status || again.FailureReason != tc.reason {
			t.Errorf("retry of a request whose certificate ended %s: %+v, %v", tc.status, again, err)
		}
		recs := auditLog(t, s)
		if last := recs[len(recs)-1]; last.EventName != "RequestCertificate" || last.Outcome != audit.OutcomeSuccess {
			t.Errorf("the retry's record: %s %s %s", last.EventName, last.Outcome, last.ErrorCode)
		}
	}

	in := RequestInput{DomainName: "www.co.uk", ValidationMethod: "EMAIL", IdempotencyToken: "tok-contacts"}
	first, err := s.Request(ctx, in)
	if err != nil || errs.ExitCodeOf(first.Failed) != errs.ExitRefused {
		t.Fatalf("first request: %+v, %v", first, err)
	}
	again, err := s.Request(ctx, in)
	if err != nil || again.ID != first.ID || errs.ExitCodeOf(again.Failed) != errs.ExitRefused ||
		!strings.Contains(again.Failed.Error(), "FAILED (NO_AVAILABLE_CONTACTS): requested before") {
		t.Errorf("retry of a request refused at once: %+v, %v", again, err)
	}

	// A record of the token written before the first answer was kept.
	in = RequestInput{DomainName: "old.example.test", IdempotencyToken: "tok-old"}
	first, err = s.Request(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	end(first.ID, inventory.StatusFailed, "CAA_ERROR")
	if err := s.core.Vault.Store.Update(ctx, func(tx localstore.Tx) error {
		objs, err := tx.ListObjects("idempotency")
		if err != nil {
			return err
		}
		for _, o := range objs {
			var r map[string]any
			if err := json.Unmarshal(o.Data, &r); err != nil {
				return err
			}
			delete(r, "refused")
			o.Data, _ = json.Marshal(r)
			if err := tx.PutObject(o); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if again, err := s.Request(ctx, in); err != nil || again.ID != first.ID || errs.ExitCodeOf(again.Failed) != errs.ExitRefused {
		t.Errorf("retry under a token recorded before: %+v, %v", again, err)
	}
}
