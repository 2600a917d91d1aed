package metrics_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/commands/metrics"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/promtext"
)

const day = 24 * time.Hour

func parse(t testing.TB, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("not Prometheus text: %v\n%s", err, text)
	}
	return fams
}

func labels(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// TestMetrics: every certificate of every origin has one days_to_expiry
// and one not_after series with the right values (negative days once
// expired); the counts by status and by type add up; HELP and TYPE are
// present; --out-file writes the same text with mode 0644.
func TestMetrics(t *testing.T) {
	e := clitest.New(t)
	start := e.Now()
	arns := map[string]string{}
	arns["private"] = e.RequestPrivate("web.internal")
	e.Vars["CERTCTL_CERTIFICATE_VALIDITY"] = "3d"
	arns["expired"] = e.RequestPrivate("short.internal")
	delete(e.Vars, "CERTCTL_CERTIFICATE_VALIDITY")

	arns["imported"] = e.ImportLeaf(testpki.LeafOptions{Names: []string{"imported.example.test"}, NotBefore: start.Add(-time.Hour), NotAfter: start.Add(40 * day)})

	v := e.OpenVault()
	acmeNotAfter := start.Add(80 * day)
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutCertificate(&localstore.Certificate{ID: "5e1f7a00-0000-4000-8000-000000000001", DomainName: "acme.example.test",
			Status: "ISSUED", Type: "ISSUED", KeyPairOrigin: "ACME", NotBefore: start, NotAfter: acmeNotAfter, CreatedAt: start, Version: 1})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	arns["acme"] = "arn:certctl:acm:local:000000000000:certificate/5e1f7a00-0000-4000-8000-000000000001"
	pending := strings.TrimSpace(e.MustRun("request", "--domain-name", "pending.example.test", "-o", "text").Stdout)

	notAfter := map[string]time.Time{"acme": acmeNotAfter, "imported": start.Add(40 * day)}
	for _, role := range []string{"private", "expired"} {
		notAfter[role] = e.Describe(arns[role]).NotAfter
	}
	e.SetNow(start.Add(5 * day).Add(1234 * time.Millisecond))
	e.Step = 0
	now := e.Now()

	out := e.MustRun("metrics").Stdout
	fams := parse(t, out)
	for _, name := range []string{"certctl_days_to_expiry", "certctl_certificate_not_after_seconds", "certctl_certificates", "certctl_certificate_info"} {
		f := fams[name]
		if f == nil || f.GetType() != dto.MetricType_GAUGE || f.GetHelp() == "" {
			t.Fatalf("family %s missing, not a gauge or without HELP", name)
		}
	}
	byARN := func(name string) map[string]*dto.Metric {
		m := map[string]*dto.Metric{}
		for _, x := range fams[name].GetMetric() {
			l := labels(x)
			if _, dup := m[l["arn"]]; dup {
				t.Errorf("%s: two series for %s", name, l["arn"])
			}
			m[l["arn"]] = x
		}
		return m
	}
	days, na := byARN("certctl_days_to_expiry"), byARN("certctl_certificate_not_after_seconds")
	if len(days) != 4 || len(na) != 4 {
		t.Fatalf("%d days_to_expiry and %d not_after series, want 4 each (the pending certificate has none)\n%s", len(days), len(na), out)
	}
	if _, ok := days[pending]; ok {
		t.Error("a certificate without NotAfter has a days_to_expiry series")
	}
	domains := map[string]string{"private": "web.internal", "expired": "short.internal", "imported": "imported.example.test", "acme": "acme.example.test"}
	for role, arn := range arns {
		m := days[arn]
		if m == nil {
			t.Fatalf("no days_to_expiry for %s (%s)", role, arn)
		}
		want := notAfter[role].Sub(now).Seconds() / 86400
		if got := m.GetGauge().GetValue(); math.Abs(got-want) > 1e-6 {
			t.Errorf("%s: days_to_expiry %v, want %v", role, got, want)
		}
		if l := labels(m); l["domain"] != domains[role] || len(l) != 2 {
			t.Errorf("%s: labels %v", role, l)
		}
		if got := na[arn].GetGauge().GetValue(); got != float64(notAfter[role].Unix()) {
			t.Errorf("%s: not_after_seconds %v, want %d", role, got, notAfter[role].Unix())
		}
	}
	if d := days[arns["expired"]].GetGauge().GetValue(); d >= -1.9 || d <= -2.1 {
		t.Errorf("expired certificate: days_to_expiry %v, want about -2", d)
	}

	// Each count's family has one label, and sums to the number of
	// certificates (tester: the two in one family summed to twice it).
	counts := map[string]float64{}
	for fam, label := range map[string]string{"certctl_certificates": "status", "certctl_certificates_by_type": "type"} {
		sum := 0.0
		for _, m := range fams[fam].GetMetric() {
			l := labels(m)
			if len(l) != 1 || l[label] == "" {
				t.Errorf("%s series with labels %v", fam, l)
			}
			counts[label+"="+l[label]] = m.GetGauge().GetValue()
			sum += m.GetGauge().GetValue()
		}
		if sum != 5 {
			t.Errorf("%s sums to %v, want 5", fam, sum)
		}
	}
	want := map[string]float64{"status=ISSUED": 3, "status=EXPIRED": 1, "status=PENDING_VALIDATION": 1, "status=REVOKED": 0,
		"type=PRIVATE": 2, "type=IMPORTED": 1, "type=ISSUED": 2}
	for k, v := range want {
		if got, ok := counts[k]; !ok || got != v {
			t.Errorf("count %s = %v (present %v), want %v", k, got, ok, v)
		}
	}
	info := byARN("certctl_certificate_info")
	if l := labels(info[arns["acme"]]); l["origin"] != "ACME" || l["status"] != "ISSUED" {
		t.Errorf("info of the ACME certificate: %v", l)
	}
	if l := labels(info[arns["expired"]]); l["status"] != "EXPIRED" || l["renewal_eligibility"] != "INELIGIBLE" {
		t.Errorf("info of the expired certificate: %v", l)
	}

	file := filepath.Join(t.TempDir(), "certctl.prom")
	if r := e.MustRun("metrics", "--out-file", file); r.Stdout != "" {
		t.Errorf("--out-file also printed %q", r.Stdout)
	}
	data, err := os.ReadFile(file)
	if err != nil || string(data) != out {
		t.Fatalf("--out-file content differs from stdout (%v)", err)
	}
	if st, _ := os.Stat(file); st.Mode().Perm() != 0o644 {
		t.Errorf("--out-file mode %o", st.Mode().Perm())
	}

	var js metrics.Output
	e.JSON(&js, "metrics")
	if len(js.Metrics) != 13 || js.Metrics[0].Name != "certctl_days_to_expiry" || len(js.Metrics[0].Samples) != 4 ||
		js.Metrics[4].Name != "certctl_certificates_by_type" ||
		js.Metrics[5].Name != "certctl_renewal_failed" || js.Metrics[6].Name != "certctl_deploy_failed" ||
		js.Metrics[7].Name != "certctl_renewal_pending_validation" ||
		js.Metrics[8].Name != "certctl_ca_days_to_expiry" || js.Metrics[9].Name != "certctl_ca_not_after_seconds" ||
		js.Metrics[10].Name != "certctl_ca_info" ||
		js.Metrics[11].Name != "certctl_acme_certificate_issuance_success_total" ||
		js.Metrics[12].Name != "certctl_acme_certificate_issuance_failed_total" {
		t.Errorf("-o json: %+v", js)
	}
	// The vault's CAs (the default root and issuing CA), with their
	// expiry and status (tester: no CA figure at all).
	if len(js.Metrics[8].Samples) != 2 || len(js.Metrics[10].Samples) != 2 {
		t.Errorf("CA families: %+v", js.Metrics[8:11])
	}
	for _, smp := range js.Metrics[10].Samples {
		st := ""
		for _, l := range smp.Labels {
			if l.Name == "status" {
				st = l.Value
			}
		}
		if st != "ACTIVE" {
			t.Errorf("CA info %+v", smp)
		}
	}
}

// TestEscaping: label values and HELP text with the characters the format
// escapes read back exactly through the Prometheus parser.
func TestEscaping(t *testing.T) {
	for _, v := range []string{`plain`, `back\slash`, `"quoted"`, "new\nline", `\n literal`, `trailing\`, "tab\there", "é ünï", "{},=", ""} {
		checkRoundTrip(t, v)
	}
	if got := promtext.EscapeLabelValue("a\\b\"c\nd"); got != `a\\b\"c\nd` {
		t.Errorf("EscapeLabelValue: %s", got)
	}
	if got := promtext.EscapeLabelValue("bad\xffutf8"); got != "bad\uFFFDutf8" {
		t.Errorf("invalid UTF-8 kept: %q", got)
	}
	for v, want := range map[float64]string{3: "3", -2.5: "-2.5", 1.7e9: "1700000000", math.Inf(1): "+Inf", 0.1: "0.1"} {
		if got := promtext.FormatValue(v); got != want {
			t.Errorf("promtext.FormatValue(%v) = %s, want %s", v, got, want)
		}
	}
}

func checkRoundTrip(t testing.TB, v string) {
	t.Helper()
	var b bytes.Buffer
	fams := []promtext.Family{{Name: "x_test", Type: "gauge", Help: "help " + v, Samples: []promtext.Sample{
		{Labels: []promtext.Label{{Name: "domain", Value: v}, {Name: "arn", Value: "a"}}, Value: -1.5}}}}
	if err := promtext.WriteText(&b, fams); err != nil {
		t.Fatal(err)
	}
	got := parse(t, b.String())["x_test"]
	if got == nil || len(got.GetMetric()) != 1 {
		t.Fatalf("%q: no sample parsed from\n%s", v, b.String())
	}
	want := strings.ToValidUTF8(v, "\uFFFD")
	if l := labels(got.GetMetric()[0]); l["domain"] != want || l["arn"] != "a" {
		t.Fatalf("label %q read back as %q", v, l["domain"])
	}
	if got.GetHelp() != "help "+want {
		t.Fatalf("help %q read back as %q", "help "+v, got.GetHelp())
	}
	if got.GetMetric()[0].GetGauge().GetValue() != -1.5 {
		t.Fatalf("value %v", got.GetMetric()[0].GetGauge().GetValue())
	}
}

// FuzzEscaping: any label value and HELP text survive the writer and the
// Prometheus parser unchanged (up to invalid UTF-8, which is replaced).
func FuzzEscaping(f *testing.F) {
	for _, s := range []string{"", "a", `\`, `"`, "\n", `\"\n`, "\xff", "x\\\n\"y", "\r", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		checkRoundTrip(t, v)
	})
}

// TestMetricsOnTerminal: on a terminal a label value's control characters
// are shown escaped (an imported certificate's name cannot rewrite the
// screen); in a pipe the value is the name as it is.
func TestMetricsOnTerminal(t *testing.T) {
	e := clitest.New(t)
	evil := "evil\x1b[2J.example.test"
	e.ImportNamed(evil)
	piped := e.MustRun("metrics").Stdout
	if !strings.Contains(piped, evil) {
		t.Errorf("in a pipe the domain is not as it is:\n%q", piped)
	}
	e.TTY = true
	shown := e.MustRun("metrics").Stdout
	if strings.Contains(shown, "\x1b") || !strings.Contains(shown, `domain="evil\\x1b[2J.example.test"`) {
		t.Errorf("on a terminal:\n%q", shown)
	}
	parse(t, shown)
}

// TestFarExpiry: a certificate valid until 9999-12-31T23:59:59Z (RFC 5280's
// "no well-defined expiration date") is counted the days it has left —
// almost three million — by the metric, the Certificate Available event,
// and describe's and list's tables, not the 106,751 days time.Duration
// stops at (tester).
func TestFarExpiry(t *testing.T) {
	e := clitest.New(t)
	start := e.Now()
	far := time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)
	arn := e.ImportLeaf(testpki.LeafOptions{Names: []string{"far.example.test"}, NotBefore: start.Add(-time.Hour), NotAfter: far})
	// Whole days from the clock to far, counted on the calendar (far is
	// the day's last second: one fewer only in the clock's last second).
	wholeDays := julianDay(far) - julianDay(e.Now())
	if wholeDays < 2_900_000 {
		t.Fatalf("test arithmetic: %d days", wholeDays)
	}

	fams := parse(t, e.MustRun("metrics").Stdout)
	var got float64
	for _, x := range fams["certctl_days_to_expiry"].GetMetric() {
		if labels(x)["arn"] == arn {
			got = x.GetGauge().GetValue()
		}
	}
	if int(got) != wholeDays && int(got) != wholeDays-1 {
		t.Errorf("days_to_expiry %v, want about %d", got, wholeDays)
	}
	evs := e.Events("Certificate Available", arn)
	if len(evs) == 0 {
		t.Fatal("no Certificate Available event")
	}
	if v, _ := evs[0].Detail["DaysToExpiry"].(float64); int(v) != int(got) {
		t.Errorf("event DaysToExpiry %v, the metric says %v", evs[0].Detail["DaysToExpiry"], got)
	}
	// A table shows the nearest whole number of days (timeutil.Relative),
	// the metric and the event the whole days left: the same, or one more
	// in the second half of the day.
	want := []string{fmt.Sprintf("in %d days", int(got)), fmt.Sprintf("in %d days", int(got)+1)}
	for _, args := range [][]string{{"describe", arn, "-o", "table"}, {"list", "-o", "table"}} {
		if out := e.MustRun(args...).Stdout; !strings.Contains(out, want[0]) && !strings.Contains(out, want[1]) {
			t.Errorf("%v says neither %q:\n%s", args, want, out)
		}
	}
}

// julianDay is the Julian day number of t's date (proleptic Gregorian).
func julianDay(t time.Time) int {
	y, m, d := t.Date()
	a := (14 - int(m)) / 12
	yy, mm := y+4800-a, int(m)+12*a-3
	return d + (153*mm+2)/5 + 365*yy + yy/4 - yy/100 + yy/400 - 32045
}
