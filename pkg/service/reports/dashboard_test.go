package reports

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/deploy"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/renewal"
)

// FailedDeployments lists the failing targets of known certificates, most
// recent failure first and those without a time last; a target that last
// succeeded, or whose certificate is gone, is left out; a target recorded
// before the summary was kept shows a generic reason, never LastError
// (which quotes the command and its output).
func TestFailedDeployments(t *testing.T) {
	n := inventory.Names{Region: "local", Account: "000000000000"}
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { x := t0.Add(d); return &x }
	certs := []*localstore.Certificate{
		{ID: "aaaaaaaa-0000-0000-0000-000000000001", DomainName: "a.internal"},
		{ID: "bbbbbbbb-0000-0000-0000-000000000002", DomainName: "b.internal"},
	}
	targets := map[string][]deploy.Target{
		certs[0].ID: {
			{CertFile: "/a/ok.pem", Version: 1},
			{CertFile: "/a/old.pem", LastError: `deploy hook "curl -H 'Authorization: hunter2'" failed: exit status 1: denied`},
			{CertFile: "/a/early.pem", LastError: "x", Failure: "deploy hook failed: exit status 1", FailedAt: at(0)},
		},
		certs[1].ID: {
			{CertFile: "/b/late.pem", LastError: "y", Failure: "deploy hook timed out after 2m0s", FailedAt: at(time.Hour)},
		},
		"cccccccc-0000-0000-0000-000000000003": {
			{CertFile: "/c/gone.pem", LastError: "z", Failure: "deploy hook failed", FailedAt: at(2 * time.Hour)},
		},
	}
	got := FailedDeployments(n, certs, targets)
	var summary []string
	for _, f := range got {
		when := "null"
		if f.FailedAt != nil {
			when = f.FailedAt.String()
		}
		summary = append(summary, f.DomainName+" "+f.Target+" "+when+" "+f.Reason)
	}
	want := []string{
		"b.internal file:/b/late.pem 2030-01-02T04:04:05Z deploy hook timed out after 2m0s",
		"a.internal file:/a/early.pem 2030-01-02T03:04:05Z deploy hook failed: exit status 1",
		"a.internal file:/a/old.pem null " + ReasonUnrecorded,
	}
	if strings.Join(summary, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(summary, "\n"), strings.Join(want, "\n"))
	}
	if got[0].CertificateArn != n.CertificateARN(certs[1].ID) {
		t.Errorf("ARN %s", got[0].CertificateArn)
	}
	b, _ := json.Marshal(got)
	if strings.Contains(string(b), "hunter2") {
		t.Errorf("JSON quotes LastError: %s", b)
	}
	if b, _ := json.Marshal(FailedDeployments(n, certs, nil)); string(b) != "[]" {
		t.Errorf("none: %s", b)
	}
}

// TestFailedDeploymentsLabels: two failing targets at one path of two
// hosts of one name (a host and its rebuilt self) are named as InUseBy
// names them, apart.
func TestFailedDeploymentsLabels(t *testing.T) {
	n := inventory.Names{Region: "local", Account: "000000000000"}
	c := &localstore.Certificate{ID: "aaaaaaaa-0000-0000-0000-000000000001", DomainName: "a.internal"}
	ts := []deploy.Target{
		{CertFile: "/a.pem", HostID: "11111111-0000-4000-8000-000000000000", Host: "web1", LastError: "x", Failure: "f"},
		{CertFile: "/a.pem", HostID: "22222222-0000-4000-8000-000000000000", Host: "web1", LastError: "x", Failure: "f"},
	}
	got := FailedDeployments(n, []*localstore.Certificate{c}, map[string][]deploy.Target{c.ID: ts})
	if len(got) != 2 || got[0].Target != "file:/a.pem (host web1 11111111)" || got[1].Target != "file:/a.pem (host web1 22222222)" {
		t.Fatalf("%+v", got)
	}
}

// TestNeedsActionFar: the dashboard's reasons count the days of a
// certificate valid until 9999 on the calendar, not the 106,751 days
// time.Duration stops at (tester).
func TestNeedsActionFar(t *testing.T) {
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	c := &localstore.Certificate{Status: inventory.StatusIssued, NotBefore: now.Add(-time.Hour),
		NotAfter: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		Renewal:  &localstore.RenewalSummary{Status: renewal.StatusFailed, Reason: "CA_DISABLED"}}
	reason, detail := needsAction(c, inventory.StatusIssued, renewal.Policy{}, now)
	if reason != ReasonRenewalFailed || !strings.Contains(detail, "expires in 2912103 days") {
		t.Errorf("%s: %s", reason, detail)
	}
	if got := ago(time.Date(1, 1, 2, 0, 0, 0, 0, time.UTC), now); got != "739954 days ago" {
		t.Errorf("ago: %q", got)
	}
}

// TestFailureMetrics: certctl_renewal_failed is 1 for a certificate whose
// last managed renewal failed and 0 for the others, and
// certctl_renewal_pending_validation 1 for one whose renewal waits for
// validation, the info series carrying both statuses; certctl_deploy_failed
// is 1 for each target whose last attempt failed and 0 for each other,
// named by its label — never by the error, which may quote the command.
func TestFailureMetrics(t *testing.T) {
	n := inventory.Names{Region: "local", Account: "000000000000"}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	certs := []*localstore.Certificate{
		{ID: "aaaaaaaa-0000-0000-0000-000000000001", DomainName: "a.internal", NotAfter: now.AddDate(0, 1, 0),
			Renewal: &localstore.RenewalSummary{Status: renewal.StatusFailed, Reason: "PCA_INVALID_STATE"}},
		{ID: "bbbbbbbb-0000-0000-0000-000000000002", DomainName: "b.internal", NotAfter: now.AddDate(0, 1, 0),
			Renewal: &localstore.RenewalSummary{Status: renewal.StatusSuccess}},
		{ID: "cccccccc-0000-0000-0000-000000000003", DomainName: "c.internal", NotAfter: now.AddDate(0, 1, 0),
			Renewal: &localstore.RenewalSummary{Status: renewal.StatusPendingValidation, Reason: "CAA_ERROR"}},
	}
	targets := map[string][]deploy.Target{
		certs[1].ID: {
			{CertFile: "/b/ok.pem", Version: 1},
			{CertFile: "/b/bad.pem", LastError: `deploy hook "curl -H 'Authorization: hunter2'" failed`, Failure: "deploy hook failed: exit status 1"},
		},
	}
	got := map[string]float64{}
	for _, f := range Families(n, certs, targets, now) {
		for _, s := range f.Samples {
			key := f.Name
			for _, l := range s.Labels {
				if l.Name == "domain" || l.Name == "target" {
					key += " " + l.Value
				}
				if f.Name == "certctl_certificate_info" && strings.HasPrefix(l.Name, "renewal_status") {
					key += " " + l.Name + "=" + l.Value
				}
				if strings.Contains(l.Value, "hunter2") {
					t.Errorf("%s: a label holds the command: %v", f.Name, s.Labels)
				}
			}
			got[key] = s.Value
		}
	}
	for key, want := range map[string]float64{
		"certctl_renewal_failed a.internal": 1,
		"certctl_renewal_failed b.internal": 0,
		"certctl_renewal_failed c.internal": 0,
		// A renewal held back, not failed, is a series too (tester:
		// renewal_failed stayed 0, and nothing carried the status).
		"certctl_renewal_pending_validation a.internal":                                                         0,
		"certctl_renewal_pending_validation b.internal":                                                         0,
		"certctl_renewal_pending_validation c.internal":                                                         1,
		"certctl_certificate_info c.internal renewal_status=PENDING_VALIDATION renewal_status_reason=CAA_ERROR": 1,
		"certctl_certificate_info a.internal renewal_status=FAILED renewal_status_reason=PCA_INVALID_STATE":     1,
		"certctl_deploy_failed b.internal file:/b/ok.pem":                                                       0,
		"certctl_deploy_failed b.internal file:/b/bad.pem":                                                      1,
	} {
		if v, ok := got[key]; !ok || v != want {
			t.Errorf("%s = %v (present %v), want %v", key, v, ok, want)
		}
	}
}

// TestRenewalWaitAdvice: the advice for a renewal waiting
// (PENDING_VALIDATION) follows its RenewalStatusReason and its validation
// method (tester: a CAA_ERROR of a DNS-validated certificate whose CNAME
// was there was told to see the validation records and resend the
// approval email).
func TestRenewalWaitAdvice(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		method, reason string
		want           []string
		not            []string
	}{
		{"DNS", "CAA_ERROR", []string{"CAA_ERROR", "CAA records of a.example.test", "validation.caa_identities"}, []string{"resend-validation-email", "validation-records"}},
		{"EMAIL", "CAA_ERROR", []string{"CAA records of a.example.test", "validation.caa_identities"}, []string{"resend-validation-email"}},
		{"DNS", renewal.ReasonPendingDomainValidation, []string{"CNAME", "a.example.test", "describe --validation-records"}, []string{"resend-validation-email"}},
		{"HTTP", renewal.ReasonPendingDomainValidation, []string{"redirect", "a.example.test"}, []string{"resend-validation-email", "validation-records"}},
		{"EMAIL", renewal.ReasonPendingDomainValidation, []string{"approval of a.example.test", "resend-validation-email"}, []string{"validation-records", "CNAME"}},
	} {
		cert := &localstore.Certificate{Status: inventory.StatusIssued, Type: inventory.TypeIssued, DomainName: "a.example.test",
			SubjectAlternativeNames: []string{"a.example.test"}, ValidationMethod: c.method,
			NotBefore: now.Add(-80 * 24 * time.Hour), NotAfter: now.Add(10 * 24 * time.Hour),
			Renewal: &localstore.RenewalSummary{Status: renewal.StatusPendingValidation, Reason: c.reason}}
		if c.reason != "CAA_ERROR" || c.method != "EMAIL" {
			cert.Validations = []localstore.DomainValidation{{DomainName: "a.example.test", Status: "PENDING_VALIDATION", Method: c.method}}
		}
		reason, detail := needsAction(cert, inventory.StatusIssued, renewal.Policy{}, now)
		if reason != ReasonRenewalPendingValidation {
			t.Errorf("%s %s: %s", c.method, c.reason, reason)
		}
		for _, w := range c.want {
			if !strings.Contains(detail, w) {
				t.Errorf("%s %s: %q does not say %q", c.method, c.reason, detail, w)
			}
		}
		for _, w := range c.not {
			if strings.Contains(detail, w) {
				t.Errorf("%s %s: %q says %q", c.method, c.reason, detail, w)
			}
		}
		if !strings.Contains(detail, "expires in 10 days") {
			t.Errorf("%s %s: %q", c.method, c.reason, detail)
		}
	}
}
