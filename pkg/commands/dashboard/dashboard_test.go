package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
)

const day = 24 * time.Hour

type dashboard struct {
	Counts struct {
		Total                int
		ByStatus             map[string]int
		ByType               map[string]int
		ByKeyPairOrigin      map[string]int
		ByRenewalEligibility map[string]int
	}
	ExpirationTimeline []struct {
		WeekStart, WeekEnd time.Time
		Count              int
	}
	NeedsAction []struct {
		CertificateArn, DomainName, Reason, Detail, Status string
	}
}

// importCert imports a certificate for name valid until notAfter.
func importCert(t *testing.T, e *clitest.Env, name string, notAfter time.Time) string {
	t.Helper()
	root := testpki.NewRoot("Dashboard Test Root", e.Now())
	leaf, key := root.Leaf(testpki.LeafOptions{Names: []string{name}, NotBefore: e.Now().Add(-time.Hour), NotAfter: notAfter})
	dir := t.TempDir()
	files := map[string][]byte{"c.pem": testpki.CertPEM(leaf), "k.pem": testpki.KeyPEM(key), "ch.pem": testpki.CertPEM(root.Cert)}
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var out struct{ CertificateArn string }
	e.JSON(&out, "import", "--certificate", filepath.Join(dir, "c.pem"), "--private-key", filepath.Join(dir, "k.pem"),
		"--certificate-chain", filepath.Join(dir, "ch.pem"))
	return out.CertificateArn
}

// addACME stores an ACME-origin certificate record directly (the ACME
// server is not part of this test) and returns its ARN.
func addACME(t *testing.T, e *clitest.Env, id, name string, notAfter time.Time) string {
	t.Helper()
	v := e.OpenVault()
	defer v.Close()
	now := e.Now()
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutCertificate(&localstore.Certificate{ID: id, DomainName: name, SubjectAlternativeNames: []string{name},
			Status: "ISSUED", Type: "ISSUED", KeyPairOrigin: "ACME", KeyAlgorithm: "EC_prime256v1", NotBefore: now.Add(-time.Hour),
			NotAfter: notAfter, CreatedAt: now, IssuedAt: now, RenewalEligibility: "INELIGIBLE", Version: 1})
	})
	if err != nil {
		t.Fatal(err)
	}
	return "arn:certctl:acm:local:000000000000:certificate/" + id
}

// listCount counts what list reports with filters, every origin included.
func listCount(t *testing.T, e *clitest.Env, args ...string) int {
	t.Helper()
	var out struct{ CertificateSummaryList []json.RawMessage }
	e.JSON(&out, append([]string{"list", "--certificate-key-pair-origins", "VAULT,IMPORTED,ACME"}, args...)...)
	return len(out.CertificateSummaryList)
}

// fixture builds a vault with a certificate in each interesting state and
// returns the ARNs by role. The clock ends 6 days after the start.
func fixture(t *testing.T) (*clitest.Env, map[string]string) {
	e := clitest.New(t)
	// Noon of today: the clock steps a second a command, and the
	// timeline's weeks start at a day's midnight — a run begun just before
	// midnight crossed it between the dashboard and the check of its weeks.
	e.SetNow(e.Now().Truncate(day).Add(12 * time.Hour))
	start := e.Now()
	arns := map[string]string{}
	arns["eligible"] = e.RequestPrivate("eligible.internal")
	e.Export(arns["eligible"])
	arns["plain"] = e.RequestPrivate("plain.internal")
	arns["imported"] = importCert(t, e, "imported.example.test", start.Add(20*day))
	arns["revoked"] = e.RequestPrivate("revoked.internal")
	e.MustRun("revoke", arns["revoked"], "--revocation-reason", "KEY_COMPROMISE")
	arns["timedout"] = strings.TrimSpace(e.MustRun("request", "--domain-name", "late.example.test", "-o", "text").Stdout)
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "5d"
	arns["expired"] = e.RequestPrivate("expired.internal")
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "30d"
	arns["failing"] = e.RequestPrivate("failing.internal")
	e.Export(arns["failing"])
	delete(e.Vars, "CERTCTL_CERTIFICATE_VALIDITY")
	arns["acme"] = addACME(t, e, "0a1b2c3d-0000-4000-8000-00000000ac3e", "acme.example.test", start.Add(50*day))

	// Renewal of "failing" fails: its CA is disabled.
	ca := e.Describe(arns["failing"]).CertificateAuthorityArn
	e.SetNow(start.Add(6 * day))
	e.MustRun("ca", "update", ca, "--status", "DISABLED")
	if code, res, r := e.Renew("--due", "--within", "25d"); code != errs.ExitPartial || res[arns["failing"]].Outcome != "FAILED" {
		t.Fatalf("renewal with a disabled CA: %v", r)
	}
	e.MustRun("ca", "update", ca, "--status", "ACTIVE")
	arns["pending"] = strings.TrimSpace(e.MustRun("request", "--domain-name", "pending.example.test", "-o", "text").Stdout)
	return e, arns
}

func TestDashboardMatchesList(t *testing.T) {
	e, arns := fixture(t)
	var d dashboard
	e.JSON(&d, "dashboard")

	want := map[string]int{"ISSUED": 5, "PENDING_VALIDATION": 1, "VALIDATION_TIMED_OUT": 1, "REVOKED": 1, "EXPIRED": 1}
	for status, n := range d.Counts.ByStatus {
		if n != want[status] {
			t.Errorf("ByStatus[%s] = %d, want %d", status, n, want[status])
		}
		if l := listCount(t, e, "--certificate-statuses", status); l != n {
			t.Errorf("ByStatus[%s] = %d, list shows %d", status, n, l)
		}
	}
	if len(d.Counts.ByStatus) != 7 {
		t.Errorf("ByStatus has %d statuses, want all 7: %v", len(d.Counts.ByStatus), d.Counts.ByStatus)
	}
	wantType := map[string]int{"PRIVATE": 5, "IMPORTED": 1, "ISSUED": 3}
	for typ, n := range d.Counts.ByType {
		if n != wantType[typ] {
			t.Errorf("ByType[%s] = %d, want %d", typ, n, wantType[typ])
		}
		if l := listCount(t, e, "--type", typ); l != n {
			t.Errorf("ByType[%s] = %d, list shows %d", typ, n, l)
		}
	}
	wantElig := map[string]int{"ELIGIBLE": 2, "INELIGIBLE": 7}
	for el, n := range d.Counts.ByRenewalEligibility {
		if n != wantElig[el] {
			t.Errorf("ByRenewalEligibility[%s] = %d, want %d", el, n, wantElig[el])
		}
		if l := listCount(t, e, "--renewal-eligibility", el); l != n {
			t.Errorf("ByRenewalEligibility[%s] = %d, list shows %d", el, n, l)
		}
	}
	if d.Counts.ByKeyPairOrigin["ACME"] != 1 || d.Counts.ByKeyPairOrigin["IMPORTED"] != 1 || d.Counts.ByKeyPairOrigin["VAULT"] != 7 {
		t.Errorf("ByKeyPairOrigin %v", d.Counts.ByKeyPairOrigin)
	}
	if d.Counts.Total != 9 || listCount(t, e) != 9 {
		t.Errorf("Total %d, want 9", d.Counts.Total)
	}

	reasons := map[string]string{}
	for _, a := range d.NeedsAction {
		if _, dup := reasons[a.CertificateArn]; dup {
			t.Errorf("%s listed twice in NeedsAction", a.CertificateArn)
		}
		reasons[a.CertificateArn] = a.Reason
		if a.Detail == "" || a.DomainName == "" {
			t.Errorf("action without detail or domain: %+v", a)
		}
	}
	wantReasons := map[string]string{
		"expired":  "EXPIRED",
		"failing":  "RENEWAL_FAILED",
		"imported": "EXPIRING_INELIGIBLE",
		"pending":  "PENDING_VALIDATION",
		"timedout": "VALIDATION_TIMED_OUT",
		"revoked":  "REVOKED_RECENTLY",
	}
	for role, arn := range arns {
		if reasons[arn] != wantReasons[role] {
			t.Errorf("%s: NeedsAction reason %q, want %q", role, reasons[arn], wantReasons[role])
		}
	}
	if len(d.NeedsAction) != len(wantReasons) || d.NeedsAction[0].Reason != "EXPIRED" || d.NeedsAction[1].Reason != "RENEWAL_FAILED" {
		t.Errorf("NeedsAction order: %+v", d.NeedsAction)
	}

	// Timeline: 13 weeks from today; the ISSUED certificates by NotAfter.
	if len(d.ExpirationTimeline) != 13 {
		t.Fatalf("%d weeks", len(d.ExpirationTimeline))
	}
	day0 := e.Now().Truncate(day)
	expect := make([]int, 13)
	for _, role := range []string{"eligible", "plain", "imported", "failing", "acme"} {
		var na time.Time
		if role == "acme" {
			var out struct{ Certificate struct{ NotAfter time.Time } }
			e.JSON(&out, "describe", arns[role])
			na = out.Certificate.NotAfter
		} else {
			na = e.Describe(arns[role]).NotAfter
		}
		if w := int(na.Sub(day0) / (7 * day)); w < 13 {
			expect[w]++
		}
	}
	total := 0
	for i, w := range d.ExpirationTimeline {
		if !w.WeekStart.Equal(day0.Add(time.Duration(i)*7*day)) || w.WeekEnd.Sub(w.WeekStart) != 7*day {
			t.Errorf("week %d: %v – %v", i, w.WeekStart, w.WeekEnd)
		}
		if w.Count != expect[i] {
			t.Errorf("week %d: count %d, want %d", i, w.Count, expect[i])
		}
		total += w.Count
	}
	if total != 3 { // imported (14 days left), failing (24), acme (44)
		t.Errorf("%d certificates on the timeline, want 3", total)
	}

	// After renew --due has recorded the expiry, the figures are the same.
	e.Renew("--due")
	var d2 dashboard
	e.JSON(&d2, "dashboard")
	if fmt.Sprint(d2.Counts) != fmt.Sprint(d.Counts) {
		t.Errorf("counts changed when the expiry was recorded:\n%v\n%v", d.Counts, d2.Counts)
	}
}

// TestDashboardTextMatchesJSON: -o text holds the same figures as -o json.
func TestDashboardTextMatchesJSON(t *testing.T) {
	e, _ := fixture(t)
	e.Step = 0
	var d dashboard
	e.JSON(&d, "dashboard")
	text := e.MustRun("dashboard", "-o", "text").Stdout
	maps := map[string]map[string]int{"status": d.Counts.ByStatus, "type": d.Counts.ByType,
		"origin": d.Counts.ByKeyPairOrigin, "eligibility": d.Counts.ByRenewalEligibility}
	seen := map[string]int{}
	weeks, actions := 0, 0
	for _, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		f := strings.Split(line, "\t")
		seen[f[0]]++
		switch f[0] {
		case "total":
			if f[1] != strconv.Itoa(d.Counts.Total) {
				t.Errorf("text %q, json total %d", line, d.Counts.Total)
			}
		case "status", "type", "origin", "eligibility":
			if n, ok := maps[f[0]][f[1]]; !ok || strconv.Itoa(n) != f[2] {
				t.Errorf("text %q, json %d", line, n)
			}
		case "week":
			w := d.ExpirationTimeline[weeks]
			if f[1] != w.WeekStart.Format(time.RFC3339) || f[2] != w.WeekEnd.Format(time.RFC3339) || f[3] != strconv.Itoa(w.Count) {
				t.Errorf("text %q, json %+v", line, w)
			}
			weeks++
		case "action":
			a := d.NeedsAction[actions]
			if f[1] != a.CertificateArn || f[2] != a.DomainName || f[3] != a.Reason || f[4] != a.Detail {
				t.Errorf("text %q, json %+v", line, a)
			}
			actions++
		default:
			t.Errorf("unexpected record %q", line)
		}
	}
	if seen["total"] != 1 || seen["status"] != len(d.Counts.ByStatus) || seen["type"] != len(d.Counts.ByType) ||
		seen["eligibility"] != len(d.Counts.ByRenewalEligibility) || weeks != 13 || actions != len(d.NeedsAction) {
		t.Errorf("records %v, weeks %d, actions %d", seen, weeks, actions)
	}

	// On a terminal: the same counts, a bar per week and the actions.
	e.TTY = true
	out := e.MustRun("dashboard").Stdout
	if !strings.Contains(out, "Certificates: 9") {
		t.Errorf("no total in:\n%s", out)
	}
	var bars []string
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " – ") {
			bars = append(bars, line)
		}
	}
	if len(bars) != 13 {
		t.Fatalf("%d timeline rows, want 13:\n%s", len(bars), out)
	}
	for i, w := range d.ExpirationTimeline {
		fields := strings.Fields(bars[i])
		if fields[len(fields)-1] != strconv.Itoa(w.Count) && fields[len(fields)-2] != strconv.Itoa(w.Count) {
			t.Errorf("row %q, count %d", bars[i], w.Count)
		}
		if (w.Count > 0) != strings.Contains(bars[i], "█") {
			t.Errorf("row %q: bar does not match count %d", bars[i], w.Count)
		}
	}
	// The table of actions fits the terminal (80 columns) as the boxes
	// do: the certificates' IDs are cut to their first eight digits.
	for _, a := range d.NeedsAction {
		id := a.CertificateArn[strings.LastIndexByte(a.CertificateArn, '/')+1:][:8]
		if !strings.Contains(out, " "+id+" ") || !strings.Contains(out, a.Reason) {
			t.Errorf("action %s %s missing from:\n%s", id, a.Reason, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if w := utf8.RuneCountInString(line); w > 80 {
			t.Errorf("line %d characters wide on an 80-column terminal: %q", w, line)
		}
	}
	for status, n := range d.Counts.ByStatus {
		if !strings.Contains(out, fmt.Sprintf("%s  ", status)) || n < 0 {
			t.Errorf("status %s missing from the boxes", status)
		}
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour escape with colour off")
	}
}

// TestDashboardEmpty: a new vault has zero counts and nothing to act on.
func TestDashboardEmpty(t *testing.T) {
	e := clitest.New(t)
	var d dashboard
	e.JSON(&d, "dashboard")
	if d.Counts.Total != 0 || d.Counts.ByStatus["ISSUED"] != 0 || len(d.ExpirationTimeline) != 13 || d.NeedsAction == nil || len(d.NeedsAction) != 0 {
		t.Fatalf("%+v", d)
	}
	r := e.MustRun("dashboard", "-o", "json")
	if !strings.Contains(r.Stdout, `"NeedsAction": []`) {
		t.Fatalf("NeedsAction is not an empty list:\n%s", r.Stdout)
	}
}

// TestDashboardRenewalPendingValidation: an ISSUED certificate whose
// managed renewal waits for domain validation (the event says action is
// required) needs action, days before it would be RENEWAL_OVERDUE.
func TestDashboardRenewalPendingValidation(t *testing.T) {
	e := clitest.New(t)
	now := e.Now()
	v := e.OpenVault()
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutCertificate(&localstore.Certificate{ID: "0a1b2c3d-0000-4000-8000-00000000beef", DomainName: "mail.example.test",
			SubjectAlternativeNames: []string{"mail.example.test"}, Status: "ISSUED", Type: "ISSUED", KeyPairOrigin: "VAULT",
			KeyAlgorithm: "EC_prime256v1", NotBefore: now.Add(-300 * day), NotAfter: now.Add(50 * day), CreatedAt: now.Add(-300 * day),
			IssuedAt: now.Add(-300 * day), RenewalEligibility: "ELIGIBLE", Version: 1, Exported: true,
			Renewal: &localstore.RenewalSummary{Status: "PENDING_VALIDATION", Reason: "PENDING_DOMAIN_VALIDATION", UpdatedAt: now}})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	e.JSON(&d, "dashboard")
	if len(d.NeedsAction) != 1 || d.NeedsAction[0].Reason != "RENEWAL_PENDING_VALIDATION" || !strings.Contains(d.NeedsAction[0].Detail, "domain validation") {
		t.Errorf("NeedsAction %+v", d.NeedsAction)
	}
}
