package renew_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/output"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

const day = 24 * time.Hour

const (
	evApproaching = "Certificate Approaching Expiration"
	evExpired     = "Certificate Expired"
	evAvailable   = "Certificate Available"
)

// outcome runs renew --due (plus args) and returns arn's outcome.
func outcome(t *testing.T, e *clitest.Env, arn string, args ...string) clitest.RenewResult {
	t.Helper()
	code, res, r := e.Renew(append([]string{"--due"}, args...)...)
	if code != 0 {
		t.Fatalf("renew --due exited %d\n%v", code, r)
	}
	got, ok := res[arn]
	if !ok {
		t.Fatalf("renew --due did not report %s\n%v", arn, r)
	}
	return got
}

// TestWindowBoundary: an exported PRIVATE certificate (395 days) is renewed
// at exactly 60 days before NotAfter, not at 61 days nor one second before
// the window opens; the renewal keeps the ARN and the old version, and
// changes serial and key.
func TestWindowBoundary(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("web.internal")
	e.Export(arn)
	before := e.Describe(arn)
	if before.RenewalEligibility != "ELIGIBLE" || !before.Exported {
		t.Fatalf("after export: eligibility %s, exported %v", before.RenewalEligibility, before.Exported)
	}
	if life := before.NotAfter.Sub(before.NotBefore); life < 395*day || life > 396*day {
		t.Fatalf("lifetime %v, want 395 days", life)
	}
	oldLeaf := e.Leaf(arn)

	for _, at := range []time.Duration{61 * day, 60*day + time.Second} {
		e.SetNow(before.NotAfter.Add(-at))
		if got := outcome(t, e, arn); got.Outcome != "NOT_DUE" {
			t.Fatalf("%v before NotAfter: outcome %s (%s), want NOT_DUE", at, got.Outcome, got.Reason)
		}
	}
	if n := len(e.Describe(arn).Versions); n != 1 {
		t.Fatalf("%d versions before the window opened", n)
	}

	renewedAt := before.NotAfter.Add(-60 * day)
	e.SetNow(renewedAt)
	if got := outcome(t, e, arn); got.Outcome != "RENEWED" {
		t.Fatalf("at 60 days before NotAfter: outcome %s (%s), want RENEWED", got.Outcome, got.Reason)
	}

	after := e.Describe(arn)
	if after.CertificateArn != arn {
		t.Fatalf("ARN changed: %s", after.CertificateArn)
	}
	if after.Serial == before.Serial {
		t.Fatalf("serial unchanged: %s", after.Serial)
	}
	newLeaf := e.Leaf(arn)
	if bytes.Equal(newLeaf.RawSubjectPublicKeyInfo, oldLeaf.RawSubjectPublicKeyInfo) {
		t.Fatal("the renewed certificate has the old public key")
	}
	if newLeaf.SerialNumber.Cmp(oldLeaf.SerialNumber) == 0 {
		t.Fatal("the renewed certificate has the old serial")
	}
	if d := after.NotAfter.Sub(renewedAt); d < 395*day-time.Minute || d > 395*day+time.Minute {
		t.Fatalf("renewed NotAfter %v is %v after the renewal, want 395 days", after.NotAfter, d)
	}
	if after.Exported {
		t.Fatal("Exported not reset by the renewal")
	}
	if after.Status != "ISSUED" || after.RenewalSummary == nil || after.RenewalSummary.RenewalStatus != "SUCCESS" {
		t.Fatalf("after renewal: status %s, renewal summary %+v", after.Status, after.RenewalSummary)
	}
	if len(after.Versions) != 2 {
		t.Fatalf("versions %+v, want 2", after.Versions)
	}
	v1, v2 := after.Versions[0], after.Versions[1]
	if v1.VersionNumber != 1 || v1.Current || v1.Serial != before.Serial || !v1.NotAfter.Equal(before.NotAfter) {
		t.Fatalf("previous version %+v, want number 1, not current, serial %s", v1, before.Serial)
	}
	if v2.VersionNumber != 2 || !v2.Current || v2.Serial != after.Serial {
		t.Fatalf("current version %+v", v2)
	}

	var renewal []clitest.Event
	for _, ev := range e.Events(evAvailable, arn) {
		if ev.Detail["Action"] == "RENEWAL" {
			renewal = append(renewal, ev)
		}
	}
	if len(renewal) != 1 {
		t.Fatalf("%d Certificate Available RENEWAL events, want 1", len(renewal))
	}
	if ex, ok := renewal[0].Detail["Exported"].(bool); !ok || ex {
		t.Fatalf("RENEWAL event Exported = %v, want false", renewal[0].Detail["Exported"])
	}
	if renewal[0].Time != renewedAt.Format(time.RFC3339) {
		t.Fatalf("RENEWAL event time %s, want %s", renewal[0].Time, renewedAt.Format(time.RFC3339))
	}

	// Exported was reset and the certificate is not deployed: a later
	// run inside the window leaves it alone.
	e.SetNow(renewedAt.Add(time.Hour))
	if got := outcome(t, e, arn, "--within", "400d"); got.Outcome != "INELIGIBLE" {
		t.Fatalf("after renewal: outcome %s, want INELIGIBLE", got.Outcome)
	}
}

// TestNotExportedIsUntouched: inside the window, a certificate that was
// never exported nor deployed is INELIGIBLE and the vault does not change.
func TestNotExportedIsUntouched(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("quiet.internal")
	d := e.Describe(arn)
	e.SetNow(d.NotAfter.Add(-59 * day))
	before := clitest.Dump(t, e.Vault)
	got := outcome(t, e, arn)
	if got.Outcome != "INELIGIBLE" || !strings.Contains(got.Reason, "exported") {
		t.Fatalf("outcome %s (%s), want INELIGIBLE because not exported", got.Outcome, got.Reason)
	}
	if after := clitest.Dump(t, e.Vault); after != before {
		t.Fatalf("renew --due changed the vault:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// TestImportedApproachingExpiry: an IMPORTED certificate is never renewed;
// once 45 whole days are left before NotAfter (the DaysToExpiry its event
// reports) it gets one Approaching Expiration event a day, however often
// renew --due runs.
func TestImportedApproachingExpiry(t *testing.T) {
	e := clitest.New(t)
	now := e.Now()
	root := testpki.NewRoot("Test Import Root", now)
	// NotAfter at 06:00 UTC, so that 45 days before is early in a day.
	notAfter := now.Add(90 * day).Truncate(day).Add(6 * time.Hour)
	leaf, key := root.Leaf(testpki.LeafOptions{Names: []string{"imported.example.test"}, NotBefore: now.Add(-time.Hour), NotAfter: notAfter})
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var imp struct{ CertificateArn string }
	e.JSON(&imp, "import", "--certificate", write("c.pem", testpki.CertPEM(leaf)),
		"--private-key", write("k.pem", testpki.KeyPEM(key)), "--certificate-chain", write("chain.pem", testpki.CertPEM(root.Cert)))
	arn := imp.CertificateArn

	count := func() int { return len(e.Events(evApproaching, arn)) }
	start := notAfter.Add(-46 * day).Add(time.Second)
	steps := []struct {
		at   time.Time
		want int
	}{
		{start.Add(-time.Second), 0},      // 46 days before: nothing yet
		{start, 1},                        // a second later 45 whole days are left
		{start.Add(6 * time.Hour), 1},     // same day: no second event
		{start.Add(17 * time.Hour), 1},    // still the same day (23:00)
		{start.Add(day + time.Hour), 2},   // next day
		{start.Add(day + 2*time.Hour), 2}, // same day again
		{start.Add(10 * day), 3},          // ten days later: one more, not nine
	}
	for _, s := range steps {
		e.SetNow(s.at)
		got := outcome(t, e, arn, "--within", "400d")
		if got.Outcome != "INELIGIBLE" || !strings.Contains(got.Reason, "imported") {
			t.Fatalf("at %v: outcome %s (%s), want INELIGIBLE (imported)", s.at, got.Outcome, got.Reason)
		}
		if n := count(); n != s.want {
			t.Fatalf("at %v: %d Approaching Expiration events, want %d", s.at, n, s.want)
		}
	}
	evs := e.Events(evApproaching, arn)
	if evs[0].Detail["DaysToExpiry"] != float64(45) || evs[0].Detail["CommonName"] != "imported.example.test" {
		t.Fatalf("first event detail %v, want DaysToExpiry 45, CommonName imported.example.test", evs[0].Detail)
	}
	if evs[0].Detail["RenewalEligibility"] != "INELIGIBLE" {
		t.Fatalf("first event detail %v, want RenewalEligibility INELIGIBLE (imported)", evs[0].Detail)
	}
	if evs[2].Detail["DaysToExpiry"] != float64(35) {
		t.Fatalf("third event detail %v, want DaysToExpiry 35", evs[2].Detail)
	}
	d := e.Describe(arn)
	if len(d.Versions) != 1 || d.Status != "ISSUED" || d.RenewalEligibility != "INELIGIBLE" {
		t.Fatalf("imported certificate after the runs: %d versions, %s, %s", len(d.Versions), d.Status, d.RenewalEligibility)
	}
	for _, ev := range e.Events("", arn) {
		if ev.DetailType != evApproaching && !(ev.DetailType == evAvailable && ev.Detail["Action"] == "IMPORT") {
			t.Fatalf("unexpected event for the imported certificate: %s %v", ev.DetailType, ev.Detail)
		}
	}
	// Each event is a change on the record, made by the scheduler.
	notices := 0
	for _, r := range auditLog(t, e) {
		if r.EventName == "NotifyApproachingExpiration" {
			notices++
			if r.Actor.Type != "SCHEDULER" || len(r.Resources) != 1 || r.Resources[0] != arn {
				t.Fatalf("notice recorded as %+v", r)
			}
		}
	}
	if notices != 3 {
		t.Fatalf("%d NotifyApproachingExpiration records, want 3 (one per event)", notices)
	}
}

// TestExpired: a certificate past its NotAfter — even an exported one — is
// moved to EXPIRED with one Expired event, and is not renewed.
func TestExpired(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("old.internal")
	e.Export(arn)
	d := e.Describe(arn)

	e.SetNow(d.NotAfter.Add(-time.Second))
	outcome(t, e, arn)
	if got := e.Describe(arn); got.Status != "ISSUED" || len(got.Versions) != 2 {
		// One second before NotAfter it is still valid (and due: renewed).
		t.Fatalf("before NotAfter: %s with %d versions", got.Status, len(got.Versions))
	}

	e2 := clitest.New(t)
	arn2 := e2.RequestPrivate("old.internal")
	e2.Export(arn2)
	d2 := e2.Describe(arn2)
	e2.SetNow(d2.NotAfter.Add(time.Second))
	// Exported for certctl to renew, it expired before a pass did: the
	// pass that finds it expired fails (exit 7) — once; the passes after
	// it report it INELIGIBLE (on-call tester: it exited 0).
	code, res, r := e2.Renew("--due", "-q")
	if got := res[arn2]; code != 7 || got.Outcome != "FAILED" || !strings.Contains(got.Reason, "expired before it was renewed: request a new certificate") {
		t.Fatalf("the pass that expires it: %v", r)
	}
	got := outcome(t, e2, arn2)
	if got.Outcome != "INELIGIBLE" || !strings.Contains(got.Reason, "expired") {
		t.Fatalf("outcome %s (%s), want INELIGIBLE (expired)", got.Outcome, got.Reason)
	}
	after := e2.Describe(arn2)
	if after.Status != "EXPIRED" || after.RenewalEligibility != "INELIGIBLE" || len(after.Versions) != 1 {
		t.Fatalf("after renew --due: status %s, eligibility %s, %d versions", after.Status, after.RenewalEligibility, len(after.Versions))
	}
	if n := len(e2.Events(evExpired, arn2)); n != 1 {
		t.Fatalf("%d Expired events, want 1", n)
	}
	e2.Advance(day)
	outcome(t, e2, arn2)
	if n := len(e2.Events(evExpired, arn2)); n != 1 {
		t.Fatalf("a second run made %d Expired events, want still 1", n)
	}
	var listed struct {
		CertificateSummaryList []struct{ CertificateArn string }
	}
	e2.JSON(&listed, "list", "--certificate-statuses", "EXPIRED")
	if len(listed.CertificateSummaryList) != 1 || listed.CertificateSummaryList[0].CertificateArn != arn2 {
		t.Fatalf("list --certificate-statuses EXPIRED: %+v", listed)
	}
}

// newMail returns the outbox messages not in seen, and adds them to it.
func newMail(e *clitest.Env, seen map[string]bool) []clitest.Mail {
	var out []clitest.Mail
	for _, m := range e.Outbox() {
		if !seen[m.Path] {
			seen[m.Path] = true
			out = append(out, m)
		}
	}
	return out
}

// codesByName checks that msgs are five messages per name of names, all of
// a name carrying one code, and returns the code of each name.
func codesByName(t *testing.T, msgs []clitest.Mail, names ...string) map[string]string {
	t.Helper()
	if len(msgs) != 5*len(names) {
		t.Fatalf("%d messages, want 5 for each of %v: %+v", len(msgs), names, msgs)
	}
	codes := map[string]string{}
	count := map[string]int{}
	for _, m := range msgs {
		if c, ok := codes[m.DomainName]; ok && c != m.Code {
			t.Fatalf("two codes for %s", m.DomainName)
		}
		codes[m.DomainName] = m.Code
		count[m.DomainName]++
	}
	for _, n := range names {
		if count[n] != 5 || codes[n] == "" {
			t.Fatalf("%d messages for %s, want 5: %+v", count[n], n, msgs)
		}
	}
	return codes
}

type validationView struct {
	Certificate struct {
		Status                  string
		DomainValidationOptions []struct{ DomainName, ValidationStatus string }
		RenewalSummary          *struct {
			RenewalStatus           string
			DomainValidationOptions []struct{ DomainName, ValidationStatus string }
		}
	}
}

// TestEmailValidation: an EMAIL-validated, exported ISSUED certificate is
// NOT_DUE 46 days before NotAfter; at 45 days renew --due mails new codes
// (five messages per name) and reports PENDING_VALIDATION while the
// certificate stays ISSUED; later passes send nothing; a used code of the
// first issuance is refused; once every name is approved with the new
// codes the next pass renews (same ARN, two versions, SUCCESS).
func TestEmailValidation(t *testing.T) {
	e := clitest.New(t)
	names := []string{"mail.example.test", "api.example.test"}
	var req struct{ CertificateArn string }
	e.JSON(&req, "request", "--domain-name", names[0], "--subject-alternative-names", names[1],
		"--validation-method", "EMAIL", "--options", "Export=ENABLED")
	arn := req.CertificateArn
	seen := map[string]bool{}
	first := codesByName(t, newMail(e, seen), names...)
	for _, n := range names {
		e.MustRun("validate", "approve", "--code", first[n])
	}
	e.Export(arn)
	before := e.Describe(arn)
	if before.Status != "ISSUED" || before.RenewalEligibility != "ELIGIBLE" {
		t.Fatalf("after approval and export: %s, %s", before.Status, before.RenewalEligibility)
	}

	e.SetNow(before.NotAfter.Add(-46 * day))
	if got := outcome(t, e, arn); got.Outcome != "NOT_DUE" {
		t.Fatalf("46 days before NotAfter: %s (%s), want NOT_DUE", got.Outcome, got.Reason)
	}
	if m := newMail(e, seen); len(m) != 0 {
		t.Fatalf("NOT_DUE pass sent %d messages", len(m))
	}

	e.SetNow(before.NotAfter.Add(-45 * day))
	if got := outcome(t, e, arn, "--dry-run"); got.Outcome != "PENDING_VALIDATION" || !strings.Contains(got.Reason, "dry run") {
		t.Fatalf("dry run at 45 days: %s (%s), want PENDING_VALIDATION (dry run)", got.Outcome, got.Reason)
	}
	if m := newMail(e, seen); len(m) != 0 {
		t.Fatalf("the dry run sent %d messages", len(m))
	}
	e.SetNow(before.NotAfter.Add(-45 * day))
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" {
		t.Fatalf("45 days before NotAfter: %s (%s), want PENDING_VALIDATION", got.Outcome, got.Reason)
	}
	renewalCodes := codesByName(t, newMail(e, seen), names...)
	var v validationView
	e.JSON(&v, "describe", arn)
	c := v.Certificate
	if c.Status != "ISSUED" || c.RenewalSummary == nil || c.RenewalSummary.RenewalStatus != "PENDING_VALIDATION" {
		t.Fatalf("while the renewal is pending: %+v", c)
	}
	for _, dv := range c.DomainValidationOptions {
		if dv.ValidationStatus != "PENDING_VALIDATION" {
			t.Fatalf("name %s is %s during the renewal validation", dv.DomainName, dv.ValidationStatus)
		}
	}
	if len(c.DomainValidationOptions) != 2 || len(c.RenewalSummary.DomainValidationOptions) != 2 {
		t.Fatalf("domain validation options %+v", c)
	}
	action := e.Events("Certificate Renewal Action Required", arn)
	if len(action) != 1 || action[0].Detail["RenewalStatus"] != "PENDING_VALIDATION" {
		t.Fatalf("Renewal Action Required events %+v, want one with RenewalStatus PENDING_VALIDATION", action)
	}
	// The current version still serves: it can be exported.
	e.Export(arn)

	e.Advance(time.Hour)
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" || !strings.Contains(got.Reason, names[0]) {
		t.Fatalf("second pass: %s (%s), want PENDING_VALIDATION naming %s", got.Outcome, got.Reason, names[0])
	}
	if m := newMail(e, seen); len(m) != 0 {
		t.Fatalf("the second pass sent %d messages, want none", len(m))
	}
	if n := len(e.Events("Certificate Renewal Action Required", arn)); n != 1 {
		t.Fatalf("%d Renewal Action Required events after the second pass, want 1", n)
	}

	if r := e.Run("validate", "approve", "--code", first[names[0]]); r.Code != errs.ExitRefused {
		t.Fatalf("a code used at issuance: %v", r)
	}
	e.MustRun("validate", "approve", "--code", renewalCodes[names[0]])
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" || !strings.Contains(got.Reason, names[1]) || strings.Contains(got.Reason, names[0]) {
		t.Fatalf("one name approved: %s (%s), want PENDING_VALIDATION for %s only", got.Outcome, got.Reason, names[1])
	}
	if n := len(e.Describe(arn).Versions); n != 1 {
		t.Fatalf("%d versions before every name is approved", n)
	}

	// resend-validation-email replaces the code of a pending name.
	e.MustRun("resend-validation-email", arn, "--domain", names[1], "--validation-domain", names[1], "-o", "json")
	resent := codesByName(t, newMail(e, seen), names[1])
	if r := e.Run("validate", "approve", "--code", renewalCodes[names[1]]); r.Code != errs.ExitRefused {
		t.Fatalf("a replaced code: %v", r)
	}
	e.MustRun("validate", "approve", "--code", resent[names[1]])

	if got := outcome(t, e, arn); got.Outcome != "RENEWED" {
		t.Fatalf("every name approved: %s (%s), want RENEWED", got.Outcome, got.Reason)
	}
	after := e.Describe(arn)
	if after.CertificateArn != arn || after.Serial == before.Serial || len(after.Versions) != 2 ||
		after.RenewalSummary == nil || after.RenewalSummary.RenewalStatus != "SUCCESS" || after.Status != "ISSUED" {
		t.Fatalf("after the renewal: %+v", after)
	}
	var renewals int
	for _, ev := range e.Events(evAvailable, arn) {
		if ev.Detail["Action"] == "RENEWAL" {
			renewals++
		}
	}
	if renewals != 1 {
		t.Fatalf("%d RENEWAL events, want 1", renewals)
	}
	if r := e.Run("validate", "approve", "--code", renewalCodes[names[0]]); r.Code != errs.ExitRefused {
		t.Fatalf("a renewal code used twice: %v", r)
	}
	if m := newMail(e, seen); len(m) != 0 {
		t.Fatalf("the renewal sent %d messages", len(m))
	}
}

// TestStartedRenewalIsDue: a renewal started early by `renew ARN` (an
// EMAIL-validated certificate, PENDING_VALIDATION until its names are
// approved again) is finished by the next `renew --due` once they are,
// though the certificate is not yet in its renewal window (tester: NOT_DUE,
// its RenewalSummary PENDING_VALIDATION until it fell due).
func TestStartedRenewalIsDue(t *testing.T) {
	e := clitest.New(t)
	name := "early.example.test"
	var req struct{ CertificateArn string }
	e.JSON(&req, "request", "--domain-name", name, "--validation-method", "EMAIL", "--options", "Export=ENABLED")
	arn := req.CertificateArn
	seen := map[string]bool{}
	e.MustRun("validate", "approve", "--code", codesByName(t, newMail(e, seen), name)[name])
	e.Export(arn)
	before := e.Describe(arn)

	e.MustRun("renew", arn)
	code := codesByName(t, newMail(e, seen), name)[name]
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" {
		t.Fatalf("before the approval: %s (%s), want PENDING_VALIDATION", got.Outcome, got.Reason)
	}
	// validate check says what finishes it (tester: only "is ISSUED").
	if r := e.Run("validate", "check", arn); r.Code != 0 || !strings.Contains(r.Stderr, "its renewal waits for domain validation") ||
		!strings.Contains(r.Stderr, "validate approve") {
		t.Errorf("validate check of the pending renewal: %v", r)
	}
	e.MustRun("validate", "approve", "--code", code)
	// Approved: what check says agrees with approve (tester: it asked for
	// the approval just given).
	if r := e.Run("validate", "check", arn); r.Code != 0 || !strings.Contains(r.Stderr, "every name of its renewal is approved") {
		t.Errorf("validate check after the approval: %v", r)
	}
	if got := outcome(t, e, arn); got.Outcome != "RENEWED" {
		t.Fatalf("approved, not yet in the renewal window: %s (%s), want RENEWED", got.Outcome, got.Reason)
	}
	after := e.Describe(arn)
	if len(after.Versions) != 2 || after.Serial == before.Serial || after.RenewalSummary == nil || after.RenewalSummary.RenewalStatus != "SUCCESS" {
		t.Fatalf("after the pass: %+v", after)
	}
	e.Export(arn)
	if got := outcome(t, e, arn); got.Outcome != "NOT_DUE" {
		t.Fatalf("renewed and exported: %s (%s), want NOT_DUE", got.Outcome, got.Reason)
	}
}

// TestDryRunChangesNothing: --dry-run reports the renewal and the expiry it
// would do, and leaves every table of the vault as it was; the same run
// without --dry-run does change it.
func TestDryRunChangesNothing(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	due := e.RequestPrivate("due.internal")
	e.Export(due)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "10d"
	expiring := e.RequestPrivate("short.internal")
	e.Export(expiring)
	e.Advance(15 * day) // short.internal has expired; due.internal has 15 days left

	before := clitest.Dump(t, e.Vault)
	code, res, r := e.Renew("--due", "--dry-run", "--within", "20d")
	if code != 7 {
		t.Fatalf("%v", r)
	}
	if res[due].Outcome != "RENEWED" || !strings.Contains(res[due].Reason, "dry run") {
		t.Fatalf("dry run: due certificate %+v, want RENEWED (dry run)", res[due])
	}
	// Exported, it expired before a pass renewed it: the pass fails.
	if res[expiring].Outcome != "FAILED" || !strings.Contains(res[expiring].Reason, "dry run: would fail: expired before it was renewed") {
		t.Fatalf("dry run: expired certificate %+v, want FAILED (expired before it was renewed)", res[expiring])
	}
	if !strings.HasPrefix(r.Stderr, "dry run: 1 would be renewed, ") {
		t.Fatalf("dry run summary: %q", r.Stderr)
	}
	if after := clitest.Dump(t, e.Vault); after != before {
		t.Fatalf("--dry-run changed the vault:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	code, res, r = e.Renew("--due", "--within", "20d")
	if code != 7 || res[due].Outcome != "RENEWED" || res[due].Reason != "" || res[expiring].Outcome != "FAILED" {
		t.Fatalf("real run: %v", r)
	}
	if after := clitest.Dump(t, e.Vault); after == before {
		t.Fatal("the real run left the vault dump unchanged: the comparison proves nothing")
	}
	if got := e.Describe(expiring); got.Status != "EXPIRED" {
		t.Fatalf("the real run left the expired certificate %s", got.Status)
	}
}

// TestDryRunReportsRefusal: a dry run asks the CA that would sign as the
// renewal does — a DISABLED CA, or one that ends before the renewal's
// validity would — and reports the failure the run meets (exit 7), for
// the due certificates and for a selection; the vault is unchanged. It
// said "would renew" and exited 0 (tester).
func TestDryRunReportsRefusal(t *testing.T) {
	e := clitest.New(t)
	arn, caArn := dueUnderDisabledCA(t, e, "dry.internal")

	before := clitest.Dump(t, e.Vault)
	code, res, r := e.Renew("--due", "--dry-run", "--within", "20d")
	if code != errs.ExitPartial || res[arn].Outcome != "FAILED" || !strings.Contains(res[arn].Reason, "DISABLED") {
		t.Fatalf("dry run over a DISABLED CA: exit %d, %+v\n%v", code, res[arn], r)
	}
	if !strings.Contains(r.Stderr, "0 pending validation, 1 would fail\n") || !strings.Contains(r.Stderr, "certctl: some renewals or deployments would fail (see the results)") {
		t.Errorf("dry run summary: %q", r.Stderr)
	}
	code, res, r = e.Renew("--query-terse", "cn:dry.internal", "--dry-run")
	if code != errs.ExitPartial || res[arn].Outcome != "INELIGIBLE" || !strings.Contains(res[arn].Reason, "DISABLED") ||
		!strings.Contains(r.Stderr, "some certificates are ineligible or would fail to renew") {
		t.Fatalf("dry run of a selection over a DISABLED CA: exit %d, %+v\n%v", code, res[arn], r)
	}
	if after := clitest.Dump(t, e.Vault); after != before {
		t.Fatalf("--dry-run changed the vault:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	code, res, r = e.Renew("--due", "--within", "20d")
	if code != errs.ExitPartial || res[arn].Outcome != "FAILED" || !strings.Contains(res[arn].Reason, "DISABLED") {
		t.Fatalf("the run itself: exit %d, %+v\n%v", code, res[arn], r)
	}

	// Enabled again, the CA ends within the renewal's 395 days.
	e.MustRun("ca", "update", caArn, "--status", "ACTIVE")
	delete(e.Vars, "CERTCTL_CERTIFICATE_VALIDITY")
	code, res, r = e.Renew("--due", "--dry-run", "--within", "20d")
	if code != errs.ExitPartial || res[arn].Outcome != "FAILED" || !strings.Contains(res[arn].Reason, "after the issuing CA's") {
		t.Fatalf("dry run past the CA's end: exit %d, %+v\n%v", code, res[arn], r)
	}
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	if code, res, r = e.Renew("--due", "--dry-run", "--within", "20d"); code != 0 || res[arn].Outcome != "RENEWED" {
		t.Fatalf("dry run that would renew: exit %d, %+v\n%v", code, res[arn], r)
	}
}

// TestRenewOneIneligible: renew ARN refuses an ineligible certificate with
// exit 5 and renews an eligible one at once, whatever its window.
func TestRenewOneIneligible(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("one.internal")
	if r := e.Run("renew", arn); r.Code != errs.ExitRefused {
		t.Fatalf("renew of a never exported certificate: %v", r)
	}
	e.Export(arn)
	code, res, r := e.Renew(arn)
	if code != 0 || res[arn].Outcome != "RENEWED" {
		t.Fatalf("renew ARN: %v", r)
	}
	if n := len(e.Describe(arn).Versions); n != 2 {
		t.Fatalf("%d versions after renew ARN", n)
	}
	if r := e.Run("renew", "--due", arn); r.Code != errs.ExitUsage {
		t.Fatalf("renew --due ARN: exit %d, want 2", r.Code)
	}
	if r := e.Run("renew", "--due", "--within", "soon"); r.Code != errs.ExitUsage {
		t.Fatalf("renew --within soon: exit %d, want 2", r.Code)
	}
}

// TestDNSRevalidation: a DNS-validated, exported ISSUED certificate is
// renewed only while its validation record is in place: without it the
// renewal is PENDING_VALIDATION (the certificate stays ISSUED, one Renewal
// Action Required event however many passes), and the first pass that
// finds the record again renews.
func TestDNSRevalidation(t *testing.T) {
	e := clitest.New(t)
	d := validationtest.StartDNS(t)
	arn, record := exportedDNSCert(t, e, d, "dns.example.test")
	var desc struct {
		Certificate struct {
			DomainValidationOptions []struct{ ValidationStatus string }
		}
	}
	before := e.Describe(arn)
	if before.Status != "ISSUED" || before.RenewalEligibility != "ELIGIBLE" {
		t.Fatalf("after validation and export: %s %s", before.Status, before.RenewalEligibility)
	}

	d.Clear()
	e.SetNow(before.NotAfter.Add(-60 * day))
	// A dry run checks the record as the pass would, and changes nothing
	// (review: it said "would renew").
	if got := outcome(t, e, arn, "--dry-run"); got.Outcome != "PENDING_VALIDATION" ||
		!strings.HasPrefix(got.Reason, "dry run: would wait: ") || !strings.Contains(got.Reason, "no CNAME record") {
		t.Fatalf("dry run without the record: %s (%s), want PENDING_VALIDATION", got.Outcome, got.Reason)
	}
	if c := e.Describe(arn); c.RenewalSummary != nil && c.RenewalSummary.RenewalStatus == "PENDING_VALIDATION" {
		t.Fatalf("the dry run changed the renewal summary: %+v", c.RenewalSummary)
	}
	if n := len(e.Events("Certificate Renewal Action Required", arn)); n != 0 {
		t.Fatalf("the dry run emitted %d Renewal Action Required events", n)
	}
	for pass := 1; pass <= 2; pass++ {
		got := outcome(t, e, arn)
		if got.Outcome != "PENDING_VALIDATION" || !strings.Contains(got.Reason, "no CNAME record") {
			t.Fatalf("pass %d without the record: %s (%s), want PENDING_VALIDATION", pass, got.Outcome, got.Reason)
		}
		c := e.Describe(arn)
		if c.Status != "ISSUED" || len(c.Versions) != 1 || c.RenewalSummary == nil || c.RenewalSummary.RenewalStatus != "PENDING_VALIDATION" ||
			c.RenewalSummary.RenewalStatusReason != "PENDING_DOMAIN_VALIDATION" {
			t.Fatalf("pass %d without the record: %+v", pass, c)
		}
		if n := len(e.Events("Certificate Renewal Action Required", arn)); n != 1 {
			t.Fatalf("pass %d: %d Renewal Action Required events, want 1", pass, n)
		}
		e.Advance(time.Hour)
	}
	e.JSON(&desc, "describe", arn)
	if s := desc.Certificate.DomainValidationOptions[0].ValidationStatus; s != "PENDING_VALIDATION" {
		t.Fatalf("name without its record: %s", s)
	}

	d.Add(t, record)
	if got := outcome(t, e, arn, "--dry-run"); got.Outcome != "RENEWED" || got.Reason != "dry run: would renew" {
		t.Fatalf("dry run, record back: %s (%s), want RENEWED", got.Outcome, got.Reason)
	}
	if got := outcome(t, e, arn); got.Outcome != "RENEWED" {
		t.Fatalf("record back: %s (%s), want RENEWED", got.Outcome, got.Reason)
	}
	after := e.Describe(arn)
	if after.CertificateArn != arn || len(after.Versions) != 2 || after.RenewalSummary == nil || after.RenewalSummary.RenewalStatus != "SUCCESS" {
		t.Fatalf("after the renewal: %+v", after)
	}
	e.JSON(&desc, "describe", arn)
	if s := desc.Certificate.DomainValidationOptions[0].ValidationStatus; s != "SUCCESS" {
		t.Fatalf("name after the renewal: %s", s)
	}
}

// exportedEmailCert requests an EMAIL-validated certificate for name,
// approves it with the mailed code and exports it (which makes it
// eligible); seen holds the outbox messages read so far.
func exportedEmailCert(t *testing.T, e *clitest.Env, name string) (string, map[string]bool) {
	t.Helper()
	var req struct{ CertificateArn string }
	e.JSON(&req, "request", "--domain-name", name, "--validation-method", "EMAIL", "--options", "Export=ENABLED")
	seen := map[string]bool{}
	e.MustRun("validate", "approve", "--code", codesByName(t, newMail(e, seen), name)[name])
	e.Export(req.CertificateArn)
	return req.CertificateArn, seen
}

// TestRenewOneEmail: renew ARN on an EMAIL-validated certificate starts the
// re-approval (PENDING_VALIDATION, mail once), and renews once every name
// is approved.
func TestRenewOneEmail(t *testing.T) {
	e := clitest.New(t)
	arn, seen := exportedEmailCert(t, e, "one.example.test")
	var codes map[string]string
	for pass := 1; pass <= 2; pass++ {
		code, res, r := e.Renew(arn)
		if code != 0 || res[arn].Outcome != "PENDING_VALIDATION" {
			t.Fatalf("renew ARN pass %d: %v", pass, r)
		}
		msgs := newMail(e, seen)
		if pass == 1 {
			codes = codesByName(t, msgs, "one.example.test")
		} else if len(msgs) != 0 {
			t.Fatalf("pass %d sent %d messages", pass, len(msgs))
		}
	}
	e.MustRun("validate", "approve", "--code", codes["one.example.test"])
	code, res, r := e.Renew(arn)
	if code != 0 || res[arn].Outcome != "RENEWED" {
		t.Fatalf("renew ARN: %v", r)
	}
	if n := len(e.Describe(arn).Versions); n != 2 {
		t.Fatalf("%d versions after renew ARN", n)
	}
}

// TestQuietPrintsOnlyWhatHappened (issue 9): with -q, renew --due prints
// only the certificates renewed, failed or pending validation — in every
// format — and nothing at all when there are none, so that a cron job
// mails its operator only when something happened. Without -q the full
// report stays.
func TestQuietPrintsOnlyWhatHappened(t *testing.T) {
	e := clitest.New(t)
	due := e.RequestPrivate("due.internal")
	e.Export(due)
	idle := e.RequestPrivate("idle.internal") // never exported: INELIGIBLE
	e.SetNow(e.Describe(due).NotAfter.Add(-60 * day))

	// The pass the shipped systemd unit runs (its journal gets these
	// lines, not the report of every certificate: tester).
	unit, err := os.ReadFile("../../../contrib/systemd/certctl-renew.service")
	if err != nil {
		t.Fatal(err)
	}
	var pass []string
	for _, l := range strings.Split(string(unit), "\n") {
		if rest, ok := strings.CutPrefix(l, "ExecStart=/usr/local/bin/certctl "); ok {
			pass = strings.Fields(rest)
		}
	}
	if strings.Join(pass, " ") != "renew --due -q -o text" {
		t.Fatalf("the unit runs %q", pass)
	}
	r := e.Run(pass...)
	if r.Code != 0 || r.Stderr != "" {
		t.Fatalf("renew --due -q: %v", r)
	}
	lines := strings.Split(strings.TrimSpace(r.Stdout), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], due+"\t") || !strings.Contains(lines[0], "\tRENEWED") {
		t.Fatalf("-q -o text printed %q, want only the renewal of %s", r.Stdout, due)
	}
	if strings.Contains(r.Stdout, idle) {
		t.Fatalf("-q printed the ineligible certificate: %q", r.Stdout)
	}

	// Nothing happened: nothing printed, whatever the format (cron's
	// stdout is not a terminal, so its default is JSON).
	for _, args := range [][]string{{"-o", "text"}, {"-o", "json"}, {}} {
		r := e.Run(append([]string{"renew", "--due", "-q"}, args...)...)
		if r.Code != 0 || r.Stdout != "" || r.Stderr != "" {
			t.Fatalf("renew --due -q %v with nothing to do printed:\n%v", args, r)
		}
	}

	// A selection's INELIGIBLE certificate is refused (exit 7): -q tells
	// which, also in a dry run (tester: it exited 7 "see the results"
	// and printed none).
	for _, dry := range []string{"", "--dry-run"} {
		args := []string{"renew", "--query-terse", "san:idle.internal", "-q", "-o", "text"}
		if dry != "" {
			args = append(args, dry)
		}
		r := e.Run(args...)
		if r.Code != 7 || !strings.Contains(r.Stdout, idle+"\t") || !strings.Contains(r.Stdout, "INELIGIBLE") {
			t.Fatalf("%v: %v, want exit 7 naming %s", args, r, idle)
		}
	}

	// Without -q: every certificate, and the summary.
	r = e.Run("renew", "--due", "-o", "text")
	if r.Code != 0 || !strings.Contains(r.Stdout, due) || !strings.Contains(r.Stdout, idle) || !strings.Contains(r.Stderr, "0 renewed") {
		t.Fatalf("renew --due without -q: %v", r)
	}
	code, res, r := e.Renew("--due")
	if code != 0 || len(res) != 2 {
		t.Fatalf("renew --due -o json without -q: %v", r)
	}
}

// TestRenewalStatusReasonPending (issue 9): while the renewal of an EMAIL
// certificate waits for re-approval, RenewalSummary.RenewalStatusReason is
// ACM's PENDING_DOMAIN_VALIDATION.
func TestRenewalStatusReasonPending(t *testing.T) {
	e := clitest.New(t)
	arn, _ := exportedEmailCert(t, e, "reason.example.test")
	e.SetNow(e.Describe(arn).NotAfter.Add(-45 * day))
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" {
		t.Fatalf("outcome %s (%s), want PENDING_VALIDATION", got.Outcome, got.Reason)
	}
	s := e.Describe(arn).RenewalSummary
	if s == nil || s.RenewalStatus != "PENDING_VALIDATION" || s.RenewalStatusReason != "PENDING_DOMAIN_VALIDATION" {
		t.Fatalf("RenewalSummary %+v, want PENDING_VALIDATION / PENDING_DOMAIN_VALIDATION", s)
	}
	action := e.Events("Certificate Renewal Action Required", arn)
	if len(action) != 1 || action[0].Detail["RenewalStatusReason"] != "PENDING_DOMAIN_VALIDATION" {
		t.Fatalf("Renewal Action Required events %+v", action)
	}
}

// TestDuePurgesPermanentlyDeletedCA: once a deleted CA's restore window
// has ended, the next renew --due destroys the key the vault seals for it
// and records the permanent deletion; the vault verifies, the CA stays
// unrestorable, and a later pass records nothing more (tester: a
// permanently deleted CA kept its key in the vault for ever).
func TestDuePurgesPermanentlyDeletedCA(t *testing.T) {
	e := clitest.New(t)
	var created struct{ CertificateAuthorityArn string }
	e.JSON(&created, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Doomed")
	arn := created.CertificateAuthorityArn
	e.MustRun("ca", "update", arn, "--status", "DISABLED")
	e.MustRun("ca", "delete", arn, "--permanent-deletion-time-in-days", "7", "--yes")
	keyRef := func() string {
		v := e.OpenVault()
		defer v.Close()
		var ref string
		if err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
			all, err := authority.List(tx)
			for _, r := range all {
				ref = r.KeyRef
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return ref
	}
	sealed := keyRef()
	e.MustRun("renew", "--due", "-o", "json")
	if keyRef() != sealed || sealed == "" {
		t.Fatal("the key was purged within the restore window")
	}
	e.Advance(8 * 24 * time.Hour)
	e.MustRun("renew", "--due", "-o", "json")
	if ref := keyRef(); ref != "" {
		t.Fatalf("the key reference %q stayed after the restore window", ref)
	}
	v := e.OpenVault()
	err := v.Store.View(context.Background(), func(tx localstore.Tx) error {
		_, err := tx.GetSecret(sealed)
		return err
	})
	v.Close()
	if !errors.Is(err, localstore.ErrNotFound) {
		t.Fatalf("the sealed key is still in the vault: %v", err)
	}
	e.MustRun("vault", "verify")
	if r := e.Run("ca", "restore", arn); r.Code != errs.ExitRefused {
		t.Fatalf("ca restore of a permanently deleted CA: %v", r)
	}
	e.MustRun("renew", "--due", "-o", "json")
	var audit struct {
		AuditEvents []struct {
			Outcome           string
			RequestParameters map[string]any
		}
	}
	e.JSON(&audit, "audit", "list", "--event-name", "DeleteCertificateAuthority")
	if len(audit.AuditEvents) != 2 || audit.AuditEvents[1].RequestParameters["PermanentDeletion"] != true {
		t.Fatalf("DeleteCertificateAuthority records %+v, want the deletion then one permanent deletion", audit.AuditEvents)
	}
}

// TestQuietLeavesOutWaiting: renew --due -q reports a renewal that starts
// waiting for approval once, on the pass that sent the approval email, and
// neither it nor a new request waiting for its DNS validation on the
// passes after, when nothing changed: cron would mail them every 15
// minutes for 72 hours (tester). Without -q they stay in the report.
func TestQuietLeavesOutWaiting(t *testing.T) {
	e := clitest.New(t)
	arn, _ := exportedEmailCert(t, e, "quiet.example.test")
	e.SetNow(e.Describe(arn).NotAfter.Add(-45 * day))
	// Requested now, so that it is still waiting (not timed out) in the
	// passes below.
	var req struct{ CertificateArn string }
	e.JSON(&req, "request", "--domain-name", "waiting.example.test")

	r := e.Run("renew", "--due", "-q", "-o", "text")
	if r.Code != 0 || !strings.Contains(r.Stdout, arn+"\t") || !strings.Contains(r.Stdout, "PENDING_VALIDATION") {
		t.Fatalf("the pass that sent the approval email: %v", r)
	}
	if strings.Contains(r.Stdout, req.CertificateArn) {
		t.Fatalf("-q reported the request still waiting for validation: %q", r.Stdout)
	}
	e.Advance(15 * time.Minute)
	// The dry runs too, of the pass and of a selection (tester: they
	// listed the renewal waiting for its approval).
	for _, args := range [][]string{{"-o", "text"}, {"-o", "json"}, {"--dry-run", "-o", "json"}} {
		r := e.Run(append([]string{"renew", "--due", "-q"}, args...)...)
		if r.Code != 0 || r.Stdout != "" {
			t.Fatalf("renew --due -q %v with both still waiting printed:\n%v", args, r)
		}
	}
	for _, dry := range []string{"--dry-run", ""} {
		args := []string{"renew", "--query-terse", "san:quiet.example.test", "-q", "-o", "json"}
		if dry != "" {
			args = append(args, dry)
		}
		if r := e.Run(args...); r.Code != 0 || r.Stdout != "" {
			t.Fatalf("%v with the renewal still waiting printed:\n%v", args, r)
		}
	}
	r = e.Run("renew", "--due", "-o", "text")
	if !strings.Contains(r.Stdout, arn) || !strings.Contains(r.Stdout, req.CertificateArn) {
		t.Fatalf("without -q the waiting certificates are left out: %v", r)
	}
}

// failingStore is a store whose write transactions fail, as a store that
// became unavailable does, after the first after of them.
type failingStore struct {
	localstore.Store
	after, n int
}

func (s *failingStore) Update(ctx context.Context, fn func(localstore.Tx) error) error {
	if s.n++; s.n > s.after {
		return localstore.ErrConnectionLost
	}
	return s.Store.Update(ctx, fn)
}

// TestDueReportsWhatItDidBeforeTheStoreFailed: a due pass that the store
// stops (the database gone) exits 6 and still reports, in its Results,
// the certificates it renewed before, and every other one as not done —
// the user is not left with only the error while renewals were committed
// (tester).
func TestDueReportsWhatItDidBeforeTheStoreFailed(t *testing.T) {
	for after := 1; after <= 30; after++ {
		e := clitest.New(t)
		var arns []string
		for _, name := range []string{"a.internal", "b.internal", "c.internal"} {
			arn := e.RequestPrivate(name)
			e.Export(arn)
			arns = append(arns, arn)
		}
		e.SetNow(e.Describe(arns[0]).NotAfter.Add(-20 * day))
		f, out, errOut := e.Factory()
		v, err := f.Vault(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		v.Store = &failingStore{Store: v.Store, after: after}
		code := app.Run(context.Background(), f, []string{"renew", "--due", "-o", "json"})
		v.Close()
		if code == 0 {
			t.Fatalf("after %d writes: the pass never met the failure (stdout %s)", after, out)
		}
		if code != errs.ExitVaultUnavailable {
			t.Fatalf("after %d writes: exit %d, want 6 (stderr %s)", after, code, errOut)
		}
		var rep struct {
			Results []struct{ CertificateArn, Outcome, Reason string }
		}
		if out.Len() == 0 {
			continue // the store failed before any certificate was reached
		}
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("after %d writes: stdout %q: %v", after, out, err)
		}
		renewed, notDone := 0, 0
		for _, r := range rep.Results {
			switch {
			case r.Outcome == "RENEWED":
				renewed++
			case r.Outcome == "FAILED" && strings.HasPrefix(r.Reason, "not done"):
				notDone++
			}
		}
		if renewed+notDone != len(rep.Results) || len(rep.Results) != 3 {
			t.Fatalf("after %d writes: results %+v, want the 3 certificates, each renewed or not done", after, rep.Results)
		}
		if renewed > 0 && notDone > 0 {
			if want := fmt.Sprintf("the pass stopped on an error: %d renewed before it", renewed); !strings.Contains(errOut.String(), want) {
				t.Fatalf("after %d writes: stderr %q lacks %q", after, errOut, want)
			}
			return // a pass stopped half way told both
		}
	}
	t.Fatal("no pass stopped between two renewals")
}

// TestPrivateFromPublicStyleNotRenewed: a PRIVATE certificate that an
// earlier release issued from the public-style hierarchy (tester: it let
// --certificate-authority-arn name it) is not renewed from it: renew ARN
// is refused (exit 5) and nothing is issued.
func TestPrivateFromPublicStyleNotRenewed(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("legacy.internal")
	e.Export(arn)
	e.MustRun("ca", "trust-bundle") // makes the public-style hierarchy
	v := e.OpenVault()
	if err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		all, err := authority.List(tx)
		if err != nil {
			return err
		}
		var public string
		for _, r := range all {
			if r.PublicStyle() {
				public = r.ID
			}
		}
		if public == "" {
			t.Fatal("no public-style CA")
		}
		c, err := tx.GetCertificate(arn[strings.LastIndex(arn, "/")+1:])
		if err != nil {
			return err
		}
		c.CertificateAuthorityID = public // as an earlier release left it
		return tx.PutCertificate(c)
	}); err != nil {
		t.Fatal(err)
	}
	v.Close()
	before := len(e.Describe(arn).Versions)
	if r := e.Run("renew", arn); r.Code != errs.ExitRefused || !strings.Contains(r.Stderr, "signs only domain-validated certificates") {
		t.Fatalf("renew of a PRIVATE certificate of the public-style hierarchy: %v", r)
	}
	if after := len(e.Describe(arn).Versions); after != before {
		t.Fatalf("versions %d → %d", before, after)
	}
}

// TestDryRunHooksOff: with deploy hooks off on this host, a dry run says
// that a renewed certificate's deploy command would not run — as the run
// reports it (HOOK_SKIPPED, exit 7) — instead of only "would renew", for
// the due certificates and a selection (verification tester).
func TestDryRunHooksOff(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("hooked.internal")
	e.Export(arn)
	dir := t.TempDir()
	e.MustRun("deploy", arn, "--cert-file", filepath.Join(dir, "c.pem"), "--key-file", filepath.Join(dir, "k.pem"), "--exec", "true")
	// A target recorded without a host (before targets had hosts) is this
	// host's in a vault of its own: the run installs it, and the dry run
	// says so too (review: it judged ownership by the host ID alone).
	unbound := e.RequestPrivate("unbound.hooked.internal")
	e.Export(unbound)
	v := e.OpenVault()
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		data, _ := json.Marshal([]map[string]any{{"certFile": filepath.Join(dir, "u.crt"), "keyFile": filepath.Join(dir, "u.key"), "exec": "true"}})
		return tx.PutObject(&localstore.Object{Kind: deploy.ObjectKind, ID: unbound[strings.LastIndexByte(unbound, '/')+1:], Data: data})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	e.Advance(20 * day)
	e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "false"
	for _, args := range [][]string{{"--due", "--within", "20d", "--dry-run"}, {"--query-terse", "cn:*hooked.internal", "--dry-run"}} {
		code, res, r := e.Renew(args...)
		for _, a := range []string{arn, unbound} {
			got := res[a]
			if code != errs.ExitPartial || got.Outcome != "RENEWED" || len(got.Targets) != 1 || got.Targets[0].Outcome != "HOOK_SKIPPED" ||
				!strings.Contains(got.Reason, "deployment would fail") || !strings.Contains(r.Stderr, "would fail") {
				t.Errorf("%v, %s: exit %d, %+v\n%s", args, a, code, got, r.Stderr)
			}
		}
	}
	if n := len(e.Describe(arn).Versions); n != 1 {
		t.Fatalf("the dry runs renewed: %d versions", n)
	}
	code, res, r := e.Renew("--due", "--within", "20d")
	for _, a := range []string{arn, unbound} {
		if got := res[a]; code != errs.ExitPartial || got.Outcome != "RENEWED" || len(got.Targets) != 1 || got.Targets[0].Outcome != "HOOK_SKIPPED" {
			t.Errorf("the run, %s: exit %d, %+v\n%s", a, code, got, r.Stderr)
		}
	}
	// With hooks on, the dry run says nothing of a renewal's command; the
	// skipped command of the target the pass does not renew again
	// (unbound, no longer exported) stands failed, to be tried again.
	e.Vars["CERTCTL_HOOKS_ALLOW_EXEC"] = "true"
	e.Advance(20 * day)
	code, res, r = e.Renew("--due", "--within", "20d", "--dry-run")
	if code != errs.ExitPartial || res[arn].Outcome != "RENEWED" || len(res[arn].Targets) != 0 ||
		len(res[unbound].Targets) != 1 || res[unbound].Targets[0].Outcome != "FAILED" || !strings.Contains(res[unbound].Reason, "would be tried again") {
		t.Errorf("hooks on: exit %d, %+v, %+v\n%s", code, res[arn], res[unbound], r.Stderr)
	}
	// The pass runs it, and the dry run after says nothing of either.
	if code, _, r := e.Renew("--due", "--within", "20d"); code != 0 {
		t.Fatalf("the pass with hooks on: %v", r)
	}
	if code, res, r := e.Renew("--due", "--within", "20d", "--dry-run"); code != 0 || len(res[arn].Targets) != 0 || len(res[unbound].Targets) != 0 {
		t.Errorf("the dry run after: exit %d\n%v", code, r)
	}
}

// TestRenewCompletesRenewable (tester; review): renew's completion offers
// the certificates it can renew — ISSUED, with the key in the vault — and
// neither a revoked one nor an ACME one.
func TestRenewCompletesRenewable(t *testing.T) {
	e := clitest.New(t)
	e.RequestPrivate("renewable.internal")
	revoked := e.RequestPrivate("revoked.internal")
	e.MustRun("revoke", revoked, "--revocation-reason", "SUPERSEDED")
	v := e.OpenVault()
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutCertificate(&localstore.Certificate{ID: "acacacac-0000-4000-8000-000000000001", DomainName: "acme.example.test",
			Status: "ISSUED", Type: "PRIVATE", KeyPairOrigin: "ACME", NotBefore: e.Now(), NotAfter: e.Now().Add(90 * 24 * time.Hour), CreatedAt: e.Now(), Version: 1})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := e.MustRun("__complete", "renew", "").Stdout
	if !strings.Contains(out, "renewable.internal") || strings.Contains(out, "revoked.internal") || strings.Contains(out, "acme.example.test") {
		t.Errorf("renew completes:\n%s", out)
	}
}

// TestFailureToldOnce: a renewal that fails for the same reason at every
// pass emits its Certificate Renewal Action Required event once, at the
// first (tester: every pass of a 15-minute cron emitted it again); a
// failure for another reason is told again.
func TestFailureToldOnce(t *testing.T) {
	e := clitest.New(t)
	arn, caArn := dueUnderDisabledCA(t, e, "once.internal")
	failingPasses(t, e, arn, 1)
	// Enabled again, but the CA now ends before the renewal would: another
	// reason, told.
	e.MustRun("ca", "update", caArn, "--status", "ACTIVE")
	delete(e.Vars, "CERTCTL_CERTIFICATE_VALIDITY")
	if code, res, r := e.Renew("--due"); code != errs.ExitPartial || res[arn].Outcome != "FAILED" {
		t.Fatalf("other failure: exit %d, %+v\n%v", code, res[arn], r)
	}
	if n := len(e.Events("Certificate Renewal Action Required", arn)); n != 2 {
		t.Fatalf("%d Renewal Action Required events after a failure of another reason, want 2", n)
	}
}

// TestPendingRenewalFailsAtExpiry: a renewal still waiting for domain
// validation when its certificate expires is FAILED (as in ACM), and
// validate check no longer says the next renew --due renews it (tester:
// it stayed PENDING_VALIDATION, and renew refused the expired certificate).
func TestPendingRenewalFailsAtExpiry(t *testing.T) {
	e := clitest.New(t)
	d := validationtest.StartDNS(t)
	arn, record := exportedDNSCert(t, e, d, "late.example.test")
	before := e.Describe(arn)
	d.Clear()
	e.SetNow(before.NotAfter.Add(-30 * day))
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" {
		t.Fatalf("without the record: %s (%s)", got.Outcome, got.Reason)
	}
	e.SetNow(before.NotAfter.Add(time.Hour))
	e.Renew("--due")
	c := e.Describe(arn)
	if c.Status != "EXPIRED" || c.RenewalSummary == nil || c.RenewalSummary.RenewalStatus != "FAILED" {
		t.Fatalf("after expiry: %s, %+v; want EXPIRED with its renewal FAILED", c.Status, c.RenewalSummary)
	}
	d.Add(t, record)
	if r := e.Run("validate", "check", arn); strings.Contains(r.Stderr+r.Stdout, "renew --due") {
		t.Errorf("validate check of the expired certificate promises a renewal: %v", r)
	}
}

// TestEmailSendFailureToldOnce: an EMAIL renewal whose mail cannot be sent
// goes pending then fails at every pass; each state is told once (two
// events in all), not at every pass (review: two events a pass).
func TestEmailSendFailureToldOnce(t *testing.T) {
	e := clitest.New(t)
	arn, _ := exportedEmailCert(t, e, "mailfail.example.test")
	e.Advance(380 * day)
	outbox := filepath.Join(e.Vault, "outbox")
	if err := os.RemoveAll(outbox); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(outbox, []byte("x"), 0o600); err != nil { // no mail goes there
		t.Fatal(err)
	}
	failingPasses(t, e, arn, 2) // pending, then failed
}

// exportedDNSCert requests a DNS-validated certificate for name, with d as
// the resolver, puts its validation record in d, validates and exports it
// (which makes it eligible), and returns its ARN and the record.
func exportedDNSCert(t *testing.T, e *clitest.Env, d *validationtest.DNSServer, name string) (arn, record string) {
	t.Helper()
	e.Vars["CERTCTL_VALIDATION_RESOLVERS"] = d.Addr
	e.Vars["CERTCTL_VALIDATION_DNS_ZONE"] = "acm-validations.certctl.test"
	var req struct{ CertificateArn string }
	e.JSON(&req, "request", "--domain-name", name, "--validation-method", "DNS", "--options", "Export=ENABLED")
	var desc struct {
		Certificate struct {
			DomainValidationOptions []struct{ ResourceRecord struct{ Name, Value string } }
		}
	}
	e.JSON(&desc, "describe", req.CertificateArn)
	rr := desc.Certificate.DomainValidationOptions[0].ResourceRecord
	record = rr.Name + " 300 IN CNAME " + rr.Value
	d.Add(t, record)
	e.MustRun("validate", "check", req.CertificateArn, "--wait", "--timeout", "30s")
	e.Export(req.CertificateArn)
	return req.CertificateArn, record
}

// dueUnderDisabledCA makes a certificate of 30 days (CERTCTL_CERTIFICATE_
// VALIDITY stays 30d) from a new root of a year, exports it, moves 20 days
// on (its renewal is due) and disables the root: its renewal fails. It
// returns the certificate's and the root's ARNs.
func dueUnderDisabledCA(t *testing.T, e *clitest.Env, name string) (arn, caArn string) {
	t.Helper()
	var ca struct{ CertificateAuthorityArn string }
	e.JSON(&ca, "ca", "create", "--type", "ROOT", "--key-algorithm", "EC_prime256v1", "--subject", "CN=Root of "+name, "--validity", "1y")
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn = e.RequestPrivate(name, "--certificate-authority-arn", ca.CertificateAuthorityArn)
	e.Export(arn)
	e.Advance(20 * day)
	e.MustRun("ca", "update", ca.CertificateAuthorityArn, "--status", "DISABLED")
	return arn, ca.CertificateAuthorityArn
}

// TestEmailRenewalHonoursCAA: an EMAIL certificate's renewal, every name
// approved again, reads the names' CAA records before it is issued: one
// that forbids this CA keeps it PENDING_VALIDATION with CAA_ERROR, and once
// it allows, the renewal is made (tester: it renewed against the record).
// The first issue is refused so too (FAILED, CAA_ERROR, exit 5).
func TestEmailRenewalHonoursCAA(t *testing.T) {
	e := clitest.New(t)
	d := validationtest.StartDNS(t)
	e.Vars["CERTCTL_VALIDATION_RESOLVERS"] = d.Addr
	name := "caae.example.test"
	arn, seen := exportedEmailCert(t, e, name)
	e.MustRun("renew", arn)
	code := codesByName(t, newMail(e, seen), name)[name]
	e.MustRun("validate", "approve", "--code", code)
	d.Add(t, `example.test. 60 IN CAA 0 issue "other-ca.example"`)
	if got := outcome(t, e, arn); got.Outcome != "PENDING_VALIDATION" || !strings.Contains(got.Reason, "CAA records of "+name+" forbid it") {
		t.Fatalf("CAA forbidding: %s (%s), want PENDING_VALIDATION", got.Outcome, got.Reason)
	}
	if c := e.Describe(arn); c.RenewalSummary == nil || c.RenewalSummary.RenewalStatusReason != "CAA_ERROR" {
		t.Fatalf("renewal summary %+v, want CAA_ERROR", c.RenewalSummary)
	}
	d.Clear()
	if got := outcome(t, e, arn); got.Outcome != "RENEWED" {
		t.Fatalf("CAA allowing: %s (%s), want RENEWED", got.Outcome, got.Reason)
	}

	d.Add(t, `example.test. 60 IN CAA 0 issue "other-ca.example"`)
	other := "caae2.example.test"
	var req struct{ CertificateArn string }
	e.JSON(&req, "request", "--domain-name", other, "--validation-method", "EMAIL")
	r := e.Run("validate", "approve", "--code", codesByName(t, newMail(e, seen), other)[other])
	if r.Code != errs.ExitRefused || !strings.Contains(r.Stderr, "FAILED (CAA_ERROR)") {
		t.Fatalf("first issue under a forbidding CAA: %v", r)
	}
	var desc struct {
		Certificate struct{ Status, FailureReason string }
	}
	e.JSON(&desc, "describe", req.CertificateArn)
	if desc.Certificate.Status != "FAILED" || desc.Certificate.FailureReason != "CAA_ERROR" {
		t.Fatalf("certificate %+v, want FAILED CAA_ERROR", desc.Certificate)
	}
}

// failingPasses runs three renew --due passes 15 minutes apart, each of
// which fails arn's renewal (exit 7), and checks that arn has had exactly
// events Renewal Action Required events after each: a state is told once.
func failingPasses(t *testing.T, e *clitest.Env, arn string, events int) {
	t.Helper()
	for pass := 1; pass <= 3; pass++ {
		if code, res, r := e.Renew("--due"); code != errs.ExitPartial || res[arn].Outcome != "FAILED" {
			t.Fatalf("pass %d: exit %d, %+v\n%v", pass, code, res[arn], r)
		}
		if n := len(e.Events("Certificate Renewal Action Required", arn)); n != events {
			t.Fatalf("pass %d: %d Renewal Action Required events, want %d", pass, n, events)
		}
		e.Advance(15 * time.Minute)
	}
}

// linesByARN maps each line of -o text output to its first field.
func linesByARN(stdout string) map[string]string {
	lines := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(stdout), "\n") {
		lines[strings.SplitN(l, "\t", 2)[0]] = l
	}
	return lines
}

// TestQuietReportsEndedRequests: renew --due -q reports a request that was
// waiting for its DNS validation when the pass ends it — issued, failed
// (CAA forbids the CA) or timed out — once, in the pass that ended it;
// cron mailed nothing while the README promised a mail when something
// happened (tester). The request still waiting stays out. A request the
// pass fails or times out is FAILED, and the pass exits 7 (on-call tester:
// it exited 0).
func TestQuietReportsEndedRequests(t *testing.T) {
	e := clitest.New(t)
	d := validationtest.StartDNS(t)
	e.Vars["CERTCTL_VALIDATION_RESOLVERS"] = d.Addr
	e.Vars["CERTCTL_VALIDATION_DNS_ZONE"] = "acm-validations.certctl.test"
	request := func(name string) (arn, record string) {
		var req struct{ CertificateArn string }
		e.JSON(&req, "request", "--domain-name", name, "--validation-method", "DNS", "--idempotency-token", name)
		var desc struct {
			Certificate struct {
				DomainValidationOptions []struct{ ResourceRecord struct{ Name, Value string } }
			}
		}
		e.JSON(&desc, "describe", req.CertificateArn)
		rr := desc.Certificate.DomainValidationOptions[0].ResourceRecord
		return req.CertificateArn, rr.Name + " 300 IN CNAME " + rr.Value
	}
	issued, rec := request("issued.example.test")
	d.Add(t, rec)
	refused, rec := request("refused.other.test")
	d.Add(t, rec, `other.test. 60 IN CAA 0 issue "other-ca.example"`)
	late, _ := request("late.example.test")

	// The dry run leaves out what is waiting as the pass does (review),
	// and tells what the pass will end, having checked as it will
	// (tester: it said "waiting" for both), changing nothing; then the
	// pass, which says it without the dry run's words.
	for _, pass := range []struct{ flag, prefix, status string }{
		{"--dry-run", "dry run: would end its request: ", "PENDING_VALIDATION"},
		{"", "", "ISSUED"},
	} {
		args := []string{"renew", "--due", "-q", "-o", "text"}
		if pass.flag != "" {
			args = append(args, pass.flag)
		}
		r := e.Run(args...)
		lines := linesByARN(r.Stdout)
		if _, ok := lines[late]; r.Code != 7 || ok || len(lines) != 2 {
			t.Fatalf("%v: want only the two requests it ends:\n%v", args, r)
		}
		if l := lines[issued]; !strings.Contains(l, pass.prefix+"issued: domain validation succeeded; the certificate is neither exported") {
			t.Fatalf("%v left out (or misreported) the request the pass issues: %q in\n%v", args, l, r)
		}
		if l := lines[refused]; !strings.Contains(l, "\tFAILED\t"+pass.prefix+"request FAILED: CAA_ERROR") {
			t.Fatalf("%v left out (or misreported) the request the pass fails: %q in\n%v", args, l, r)
		}
		if got := e.Describe(issued).Status; got != pass.status {
			t.Fatalf("after %v the request is %s, want %s", args, got, pass.status)
		}
	}
	// The failed request asked again with its idempotency token: the
	// same certificate, answered as the first request was (exit 0: it
	// failed later, in validation), its status now told on stderr.
	if r := e.Run("request", "--domain-name", "refused.other.test", "--validation-method", "DNS", "--idempotency-token", "refused.other.test", "-o", "text"); r.Code != 0 ||
		strings.TrimSpace(r.Stdout) != refused || !strings.Contains(r.Stderr, "it is now FAILED (CAA_ERROR)") {
		t.Fatalf("the failed request asked again: %v", r)
	}

	e.Advance(73 * time.Hour)
	if r := e.Run("renew", "--due", "--dry-run", "-q", "-o", "text"); r.Code != 7 || !strings.Contains(r.Stdout, late) || !strings.Contains(r.Stdout, "would time out") {
		t.Fatalf("the dry run with -q left out the timeout the pass would make:\n%v", r)
	}
	r := e.Run("renew", "--due", "-q", "-o", "json")
	var out struct {
		Results []struct{ CertificateArn, Outcome, Reason string }
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil || r.Code != 7 {
		t.Fatalf("the pass after 73 hours: %v (%v)", r, err)
	}
	if len(out.Results) != 1 || out.Results[0].CertificateArn != late || out.Results[0].Outcome != "FAILED" || !strings.Contains(out.Results[0].Reason, "request timed out") {
		t.Fatalf("-q after the timeout: %+v, want only %s timed out", out.Results, late)
	}
	if r := e.Run("renew", "--due", "-q", "-o", "text"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("the pass after printed again:\n%v", r)
	}
}

// TestApproachingSaysEligible: a certificate certctl renews, whose renewal
// window (a third of a 30-day life) begins after the events start, raises
// them with RenewalEligibility ELIGIBLE, so that an alert can tell it from
// one nothing will renew (tester: a healthy 30-day certificate paged daily).
func TestApproachingSaysEligible(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("short.internal")
	e.Export(arn)
	if code, res, r := e.Renew("--due"); code != 0 || res[arn].Outcome != "NOT_DUE" {
		t.Fatalf("the pass: %v", r)
	}
	evs := e.Events(evApproaching, arn)
	if len(evs) != 1 || evs[0].Detail["RenewalEligibility"] != "ELIGIBLE" || evs[0].Detail["DaysToExpiry"] != float64(29) {
		t.Fatalf("Approaching Expiration events %+v, want one, ELIGIBLE, 29 days", evs)
	}
}

// TestTableShowsFailedDeployment: on a terminal, the report of a pass
// whose deployment failed for a certificate not due has a DEPLOY column
// saying FAILED, not only the end of a REASON the terminal cuts (tester:
// the row read NOT_DUE); a pass that met no target has no such column.
func TestTableShowsFailedDeployment(t *testing.T) {
	e := clitest.New(t)
	arn, _ := deployedFailing(t, e, "table.internal", "exit 3")
	plain := e.RequestPrivate("plain.internal")
	e.TTY = true
	r := e.Run("renew", "--due", "-o", "table")
	if r.Code != errs.ExitPartial {
		t.Fatalf("the pass: %v", r)
	}
	lines := strings.Split(r.Stdout, "\n")
	if !strings.Contains(lines[0], "DEPLOY") {
		t.Fatalf("no DEPLOY column:\n%s", r.Stdout)
	}
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, output.ShortID(arn)) && !strings.Contains(l, "NOT_DUE") || strings.HasPrefix(l, output.ShortID(arn)) && !strings.Contains(l, "FAILED"):
			t.Fatalf("the deployed certificate's row %q, want NOT_DUE and FAILED", l)
		case strings.HasPrefix(l, output.ShortID(plain)) && strings.Contains(l, "FAILED"):
			t.Fatalf("the other certificate's row %q", l)
		}
	}
	e.TTY = false
	if r := e.Run("renew", "--due", "-o", "text"); strings.Contains(r.Stdout, "\tFAILED\t") {
		t.Fatalf("-o text changed its columns:\n%s", r.Stdout)
	}
}

// TestExpiredWhileDeployed: a deployed certificate whose renewal failed (its
// CA disabled) and that expires fails every pass while it is deployed —
// the pass that expires it and each one after, with -q printing it and
// the reason saying how to stop it — until its target is removed (on-call
// tester: from the pass that expired it on, every pass printed nothing and
// exited 0 while the server served an expired certificate).
func TestExpiredWhileDeployed(t *testing.T) {
	e := clitest.New(t)
	arn, _ := dueUnderDisabledCA(t, e, "lapse.internal")
	dir := t.TempDir()
	cert := filepath.Join(dir, "c.pem")
	e.MustRun("deploy", arn, "--cert-file", cert, "--key-file", filepath.Join(dir, "k.pem"))
	if code, res, r := e.Renew("--due", "-q"); code != 7 || res[arn].Outcome != "FAILED" {
		t.Fatalf("the renewal under the disabled CA: %v", r)
	}
	e.SetNow(e.Describe(arn).NotAfter.Add(time.Minute))
	for pass := 0; pass < 2; pass++ {
		r := e.Run("renew", "--due", "-q", "-o", "text")
		line := linesByARN(r.Stdout)[arn]
		if r.Code != 7 || !strings.Contains(line, "\tFAILED\texpired after its renewal failed (PCA_INVALID_STATE), and still deployed to file:"+cert) ||
			!strings.Contains(line, "certctl deploy "+arn[strings.LastIndexByte(arn, '/')+1:]+" --remove --cert-file PATH") {
			t.Fatalf("pass %d after the expiry: %v", pass, r)
		}
		e.Advance(time.Hour)
	}
	if got := e.Describe(arn).Status; got != "EXPIRED" {
		t.Fatalf("status %s", got)
	}
	e.MustRun("deploy", arn, "--remove", "--cert-file", cert)
	if r := e.Run("renew", "--due", "-q", "-o", "text"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("the pass once the target is removed: %v", r)
	}
}

// TestDryRunReportsFailedDeployment: a dry run tells of a deployment that
// failed, which the pass tries again — FAILED in the certificate's
// Targets, printed with -q, exit 7 — as the pass after it does (on-call
// tester: the dry run said NOT_DUE and exited 0, the pass ran the failing
// command again and exited 7). The command's output is not quoted.
func TestDryRunReportsFailedDeployment(t *testing.T) {
	e := clitest.New(t)
	arn, dir := deployedFailing(t, e, "retry.internal", "echo secret-output; exit 3")
	code, res, r := e.Renew("--due", "--dry-run", "-q")
	got := res[arn]
	if code != errs.ExitPartial || got.Outcome != "NOT_DUE" || len(got.Targets) != 1 || got.Targets[0].Outcome != "FAILED" ||
		!strings.Contains(got.Reason, "failed and would be tried again") || strings.Contains(r.Stdout, "secret-output") {
		t.Fatalf("the dry run: %v", r)
	}
	if code, res, r := e.Renew("--due", "-q"); code != errs.ExitPartial || len(res[arn].Targets) != 1 || res[arn].Targets[0].Outcome != "FAILED" {
		t.Fatalf("the pass: %v", r)
	}
	// Fixed: the pass installs it, and the dry run after says nothing.
	e.MustRun("deploy", arn, "--cert-file", filepath.Join(dir, "c.pem"), "--key-file", filepath.Join(dir, "k.pem"), "--exec", "true")
	if r := e.Run("renew", "--due", "--dry-run", "-q", "-o", "json"); r.Code != 0 || r.Stdout != "" {
		t.Fatalf("the dry run once it succeeded: %v", r)
	}
}

// TestWithinLifetimeSaid: --within as long as a certificate's life renews
// it at every pass (its renewal is inside the window from its issue); the
// pass says so on stderr, and not for a window shorter than the life
// (team tester: two passes in a row renewed the same certificate twice).
func TestWithinLifetimeSaid(t *testing.T) {
	e := clitest.New(t)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arn := e.RequestPrivate("window.internal")
	e.Export(arn)
	e.Advance(11 * day)
	code, res, r := e.Renew("--due", "--within", "20d")
	if code != 0 || res[arn].Outcome != "RENEWED" || strings.Contains(r.Stderr, "as long as the life") {
		t.Fatalf("--within shorter than the life: %v", r)
	}
	e.Export(arn)
	code, res, r = e.Renew("--due", "--within", "30d")
	if code != 0 || res[arn].Outcome != "RENEWED" || !strings.Contains(r.Stderr, "--within 30d is as long as the life of 1 certificate(s) renewed") {
		t.Fatalf("--within as long as the life: %v", r)
	}
	// The life of the version the renewal issued counts, not the one it
	// replaced (review).
	e.Export(arn)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "90d"
	code, res, r = e.Renew("--due", "--within", "30d")
	if code != 0 || res[arn].Outcome != "RENEWED" || strings.Contains(r.Stderr, "as long as the life") {
		t.Fatalf("renewed to a life longer than --within: %v", r)
	}
}

// TestDryRunNoRetryOfRevoked: the failed deployment of a certificate the
// pass does not install again — revoked — is not told as a retry by the
// dry run, which agrees with the pass: exit 0 both (review: the dry run
// said "would be tried again", exit 7; the pass did nothing, exit 0).
func TestDryRunNoRetryOfRevoked(t *testing.T) {
	e := clitest.New(t)
	arn, _ := deployedFailing(t, e, "revoked-retry.internal", "exit 3")
	e.MustRun("revoke", arn, "--revocation-reason", "SUPERSEDED")
	for _, args := range [][]string{{"--due", "--dry-run"}, {"--due"}} {
		if code, res, r := e.Renew(args...); code != 0 || len(res[arn].Targets) != 0 {
			t.Fatalf("%v: %v", args, r)
		}
	}
}

// deployedFailing requests a private certificate for name and deploys it
// to a target in a directory of its own (returned) whose command exec
// fails: the deploy exits 1, the target recorded as failed.
func deployedFailing(t *testing.T, e *clitest.Env, name, exec string) (arn, dir string) {
	t.Helper()
	arn = e.RequestPrivate(name)
	dir = t.TempDir()
	if r := e.Run("deploy", arn, "--cert-file", filepath.Join(dir, "c.pem"), "--key-file", filepath.Join(dir, "k.pem"), "--exec", exec); r.Code != errs.ExitFailure {
		t.Fatalf("deploy with a failing command: %v", r)
	}
	return arn, dir
}

// TestExpiredImportedWhileDeployed: an imported certificate that expires
// while deployed fails every pass too, told to reimport its renewed
// certificate (which keeps the ARN and the targets) rather than to
// remove its target (review).
func TestExpiredImportedWhileDeployed(t *testing.T) {
	e := clitest.New(t)
	now := e.Now()
	arn := e.ImportLeaf(testpki.LeafOptions{Names: []string{"imported-lapse.example.test"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(2 * day)})
	dir := t.TempDir()
	e.MustRun("deploy", arn, "--cert-file", filepath.Join(dir, "c.pem"), "--key-file", filepath.Join(dir, "k.pem"))
	e.SetNow(now.Add(3 * day))
	for pass := 0; pass < 2; pass++ {
		code, res, r := e.Renew("--due", "-q")
		if got := res[arn]; code != 7 || got.Outcome != "FAILED" || !strings.Contains(got.Reason, "reimport its renewed certificate (certctl reimport ") {
			t.Fatalf("pass %d: %v", pass, r)
		}
	}
}
