package validate_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/certctl/certctl/pkg/app"
	"github.com/certctl/certctl/pkg/cmdutil"
	"github.com/certctl/certctl/pkg/commands/validate"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/iostreams"
	"github.com/certctl/certctl/pkg/service/validations"
	"github.com/certctl/certctl/pkg/validation/validationtest"
)

const zone = "acm-validations.certctl.test"

// env runs certctl in-process against one vault, with a clock the test
// sets and a DNS server as the validation resolver.
type env struct {
	t    *testing.T
	dir  string
	vars map[string]string
	now  time.Time
	dns  *validationtest.DNSServer
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	d := validationtest.StartDNS(t)
	return &env{t: t, dir: dir, dns: d, now: time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC), vars: map[string]string{
		"HOME":                              dir,
		"XDG_CONFIG_HOME":                   filepath.Join(dir, "config"),
		"CERTCTL_VAULT":                     filepath.Join(dir, "vault"),
		"CERTCTL_VALIDATION_RESOLVERS":      d.Addr,
		"CERTCTL_VALIDATION_DNS_ZONE":       zone,
		"CERTCTL_CERTIFICATE_VALIDITY":      "90d",
		"CERTCTL_VALIDATION_HTTP_PORT":      "80",
		"CERTCTL_VALIDATION_CAA_IDENTITIES": "certctl.local",
	}}
}

type result struct {
	out, err string
	code     errs.ExitCode
}

func (e *env) runCtx(ctx context.Context, args ...string) result {
	e.t.Helper()
	io, _, out, errOut := iostreams.Test()
	f := cmdutil.New(io, "test")
	f.Getenv = func(k string) string { return e.vars[k] }
	now := e.now
	f.Now = func() time.Time { return now }
	code := app.Run(ctx, f, args)
	return result{out.String(), errOut.String(), code}
}

func (e *env) run(args ...string) result {
	e.t.Helper()
	return e.runCtx(context.Background(), args...)
}

func (e *env) ok(args ...string) string {
	e.t.Helper()
	r := e.run(args...)
	if r.code != 0 {
		e.t.Fatalf("certctl %s: exit %d\n%s", strings.Join(args, " "), r.code, r.err)
	}
	return r.out
}

func (e *env) request(args ...string) string {
	e.t.Helper()
	var res struct{ CertificateArn string }
	if err := json.Unmarshal([]byte(e.ok(append([]string{"request"}, args...)...)), &res); err != nil || res.CertificateArn == "" {
		e.t.Fatalf("request output: %v", err)
	}
	return res.CertificateArn
}

type detail struct {
	Certificate struct {
		CertificateArn          string
		Status                  string
		Type                    string
		FailureReason           string
		KeyAlgorithm            string
		Issuer                  string
		ExtendedKeyUsages       []struct{ Name string }
		Options                 struct{ Export string }
		DomainValidationOptions []struct {
			DomainName       string
			ValidationDomain string
			ValidationStatus string
			ValidationMethod string
			ResourceRecord   *struct{ Name, Type, Value string }
			ValidationEmails []string
			HttpRedirect     *struct{ RedirectFrom, RedirectTo string }
		}
	}
}

func parseDetail(t *testing.T, s string) detail {
	t.Helper()
	var d detail
	if err := json.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("%v in %q", err, s)
	}
	return d
}

func (e *env) describe(arn string) detail { return parseDetail(e.t, e.ok("describe", arn)) }

// bindRecords parses `describe --validation-records bind` with miekg/dns's
// zone parser.
func (e *env) bindRecords(arn string) []dns.RR {
	e.t.Helper()
	text := e.ok("describe", arn, "--validation-records", "bind")
	zp := dns.NewZoneParser(strings.NewReader(text), "", "")
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		e.t.Fatalf("zone parser: %v\n%s", err, text)
	}
	return rrs
}

func TestDNSRequestCheckIssue(t *testing.T) {
	e := newEnv(t)
	arn := e.request("--domain-name", "app.example.test", "--subject-alternative-names", "*.app.example.test,api.example.test",
		"--key-algorithm", "EC_prime256v1", "--options", "Export=ENABLED")
	d := e.describe(arn)
	c := d.Certificate
	if c.Status != "PENDING_VALIDATION" || c.Type != "ISSUED" || c.KeyAlgorithm != "EC_prime256v1" || len(c.DomainValidationOptions) != 3 {
		t.Fatalf("%+v", c)
	}
	for _, dv := range c.DomainValidationOptions {
		if dv.ValidationMethod != "DNS" || dv.ValidationStatus != "PENDING_VALIDATION" || dv.ResourceRecord == nil || dv.ResourceRecord.Type != "CNAME" {
			t.Fatalf("%+v", dv)
		}
	}

	r := e.run("validate", "check", arn)
	if r.code != 0 || parseDetail(t, r.out).Certificate.Status != "PENDING_VALIDATION" || !strings.Contains(r.err, "no CNAME record") {
		t.Fatalf("check without records: %d %s %s", r.code, r.out, r.err)
	}

	// The bind output loads with a zone parser and holds exactly one
	// record per distinct name (the wildcard shares app's).
	rrs := e.bindRecords(arn)
	want := map[string]string{}
	for _, dv := range c.DomainValidationOptions {
		want[dv.ResourceRecord.Name] = dv.ResourceRecord.Value
	}
	if len(rrs) != 2 || len(want) != 2 {
		t.Fatalf("%d records, want 2: %v", len(rrs), rrs)
	}
	for _, rr := range rrs {
		cn, ok := rr.(*dns.CNAME)
		if !ok || want[cn.Hdr.Name] != cn.Target || cn.Hdr.Class != dns.ClassINET {
			t.Errorf("unexpected record %v", rr)
		}
		if !regexp.MustCompile(`^_[0-9a-f]{32}\.(app|api)\.example\.test\.$`).MatchString(cn.Hdr.Name) ||
			!regexp.MustCompile(`^_[0-9a-f]{32}\.`+regexp.QuoteMeta(zone)+`\.$`).MatchString(cn.Target) {
			t.Errorf("record shape %v", rr)
		}
	}
	// Publish exactly what bind printed.
	for _, rr := range rrs {
		e.dns.Add(t, rr.String())
	}
	r = e.run("validate", "check", arn)
	got := parseDetail(t, r.out).Certificate
	if r.code != 0 || got.Status != "ISSUED" || got.Options.Export != "ENABLED" || got.Issuer == "" {
		t.Fatalf("after records: %d %+v %s", r.code, got, r.err)
	}
	for _, eku := range got.ExtendedKeyUsages {
		if eku.Name == "TLS_WEB_CLIENT_AUTHENTICATION" || strings.Contains(strings.ToLower(eku.Name), "client") {
			t.Errorf("clientAuth on an ISSUED certificate: %+v", got.ExtendedKeyUsages)
		}
	}
	var evs struct {
		Events []struct {
			DetailType string `json:"detail-type"`
			Detail     map[string]any
			Resources  []string
		}
	}
	_ = json.Unmarshal([]byte(e.ok("events", "-o", "json")), &evs)
	found := false
	for _, ev := range evs.Events {
		if ev.DetailType == "Certificate Available" && ev.Detail["Action"] == "ISSUANCE" && len(ev.Resources) == 1 && ev.Resources[0] == arn {
			found = true
		}
	}
	if !found {
		t.Errorf("no Certificate Available ISSUANCE event: %+v", evs)
	}

	// The same records serve a new certificate for the same names:
	// request --wait issues it at once.
	arn2 := e.request("--domain-name", "api.example.test", "--wait", "--timeout", "30s")
	if arn2 == arn || e.describe(arn2).Certificate.Status != "ISSUED" {
		t.Errorf("second certificate: %+v", e.describe(arn2).Certificate)
	}
}

func TestValidationRecordFormats(t *testing.T) {
	e := newEnv(t)
	arn := e.request("--domain-name", "fmt.example.test", "--subject-alternative-names", "*.fmt.example.test")
	c := e.describe(arn).Certificate
	rec := c.DomainValidationOptions[0].ResourceRecord

	csvOut := e.ok("describe", arn, "--validation-records", "csv")
	wantCSV := "DomainName,RecordName,RecordType,RecordValue\n" +
		"fmt.example.test," + rec.Name + ",CNAME," + rec.Value + "\n" +
		"*.fmt.example.test," + rec.Name + ",CNAME," + rec.Value + "\n"
	if csvOut != wantCSV {
		t.Errorf("csv:\n%s\nwant:\n%s", csvOut, wantCSV)
	}

	var r53 struct {
		Changes []struct {
			Action            string
			ResourceRecordSet struct {
				Name, Type      string
				TTL             int
				ResourceRecords []struct{ Value string }
			}
		}
	}
	if err := json.Unmarshal([]byte(e.ok("describe", arn, "--validation-records", "route53")), &r53); err != nil {
		t.Fatal(err)
	}
	if len(r53.Changes) != 1 || r53.Changes[0].Action != "UPSERT" || r53.Changes[0].ResourceRecordSet.Name != rec.Name ||
		r53.Changes[0].ResourceRecordSet.Type != "CNAME" || r53.Changes[0].ResourceRecordSet.TTL <= 0 ||
		len(r53.Changes[0].ResourceRecordSet.ResourceRecords) != 1 || r53.Changes[0].ResourceRecordSet.ResourceRecords[0].Value != rec.Value {
		t.Errorf("route53: %+v", r53)
	}

	var js struct {
		ResourceRecords []struct{ DomainName, Name, Type, Value string }
	}
	jsOut := e.ok("describe", arn, "--validation-records", "json")
	// Indented by four spaces, as all of certctl's JSON.
	if !strings.Contains(jsOut, "\n    \"ResourceRecords\": [\n        {\n            \"") {
		t.Errorf("json not indented by four spaces:\n%s", jsOut)
	}
	if err := json.Unmarshal([]byte(jsOut), &js); err != nil || len(js.ResourceRecords) != 2 ||
		js.ResourceRecords[1].DomainName != "*.fmt.example.test" || js.ResourceRecords[1].Value != rec.Value {
		t.Errorf("json: %+v %v", js, err)
	}

	if r := e.run("describe", arn, "--validation-records", "xml"); r.code != errs.ExitUsage {
		t.Errorf("unknown format: exit %d", r.code)
	}
	if r := e.run("describe", arn, "--validation-records", "bind", "--pem"); r.code != errs.ExitUsage {
		t.Errorf("with --pem: exit %d", r.code)
	}
	// Pending validation, not issued yet: refused by its state (5), as
	// ACM's GetCertificate answers RequestInProgressException; not "not
	// found" (3), which would say the certificate does not exist.
	if r := e.run("describe", arn, "--pem"); r.code != errs.ExitRefused || !strings.Contains(r.err, "has not been issued yet (status PENDING_VALIDATION)") {
		t.Errorf("--pem of a pending certificate: exit %d, %q", r.code, r.err)
	}
	priv := e.request("--domain-name", "priv.internal", "--certificate-authority-arn", "default")
	if r := e.run("describe", priv, "--validation-records", "bind"); r.code != errs.ExitRefused {
		t.Errorf("private certificate: exit %d", r.code)
	}
}

func TestWaitTimesOut(t *testing.T) {
	old := validations.PollInterval
	validations.PollInterval = 100 * time.Millisecond
	t.Cleanup(func() { validations.PollInterval = old })
	e := newEnv(t)
	r := e.run("request", "--domain-name", "slow.example.test", "--wait", "--timeout", "1s")
	if r.code != errs.ExitTimeout || !strings.Contains(r.out, "arn:certctl:acm:") {
		t.Fatalf("request --wait: exit %d out %q err %q", r.code, r.out, r.err)
	}
	var res struct{ CertificateArn string }
	_ = json.Unmarshal([]byte(r.out), &res)
	start := time.Now()
	if r := e.run("validate", "check", res.CertificateArn, "--wait", "--timeout", "1s"); r.code != errs.ExitTimeout {
		t.Errorf("check --wait: exit %d %s", r.code, r.err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("--timeout 1s took %s", d)
	}
	if r := e.run("validate", "check", res.CertificateArn, "--timeout", "1s"); r.code != errs.ExitUsage {
		t.Errorf("--timeout without --wait: exit %d", r.code)
	}
}

// TestValidationTimesOut: with the clock moved past 72 hours, renew --due
// (and validate check) move the certificate to VALIDATION_TIMED_OUT.
func TestValidationTimesOut(t *testing.T) {
	e := newEnv(t)
	t0 := e.now
	a := e.request("--domain-name", "late-a.example.test")
	b := e.request("--domain-name", "late-b.example.test", "--validation-method", "EMAIL")

	e.now = t0.Add(71 * time.Hour)
	e.ok("renew", "--due")
	if s := e.describe(a).Certificate.Status; s != "PENDING_VALIDATION" {
		t.Fatalf("at 71 h: %s", s)
	}

	e.now = t0.Add(72*time.Hour + time.Minute)
	// A dry run says what the pass would do, and does nothing.
	dry := e.run("renew", "--due", "--dry-run", "-o", "json")
	var plan struct {
		Results []struct{ CertificateArn, Outcome, Reason string }
	}
	if err := json.Unmarshal([]byte(dry.out), &plan); err != nil {
		t.Fatalf("renew --due --dry-run: %v: %s", err, dry.out)
	}
	for _, arn := range []string{a, b} {
		found := false
		for _, r := range plan.Results {
			found = found || r.CertificateArn == arn && r.Outcome == "FAILED" && strings.HasPrefix(r.Reason, "dry run: would time out its validation")
		}
		if !found {
			t.Errorf("renew --due --dry-run at 72 h, %s: %s", arn, dry.out)
		}
		if s := e.describe(arn).Certificate.Status; s != "PENDING_VALIDATION" {
			t.Errorf("after a dry run: %s", s)
		}
	}
	// A request timed out is a failure of the pass (exit 7).
	if dry.code != errs.ExitPartial {
		t.Errorf("renew --due --dry-run: exit %d", dry.code)
	}
	if r := e.run("renew", "--due"); r.code != errs.ExitPartial {
		t.Fatalf("renew --due: exit %d %s", r.code, r.err)
	}
	for _, arn := range []string{a, b} {
		c := e.describe(arn).Certificate
		if c.Status != "VALIDATION_TIMED_OUT" || c.DomainValidationOptions[0].ValidationStatus != "VALIDATION_TIMED_OUT" {
			t.Errorf("%s: %s / %s", arn, c.Status, c.DomainValidationOptions[0].ValidationStatus)
		}
	}

	c := e.request("--domain-name", "late-c.example.test")
	e.now = e.now.Add(73 * time.Hour)
	r := e.run("validate", "check", c)
	if r.code != 0 || parseDetail(t, r.out).Certificate.Status != "VALIDATION_TIMED_OUT" {
		t.Errorf("check after 72 h: %d %s", r.code, r.out)
	}
	for _, format := range []string{"json", "text"} {
		r := e.run("validate", "check", c, "--wait", "-o", format)
		if r.code != errs.ExitRefused {
			t.Errorf("check --wait -o %s on a timed-out certificate: exit %d", format, r.code)
		}
		// Said once, by the error (tester: twice or three times); -o json
		// also gives it as the JSON error object.
		n := 0
		for _, l := range strings.Split(r.err, "\n") {
			if strings.Contains(l, "is VALIDATION_TIMED_OUT") && !strings.HasPrefix(l, "{") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("check --wait -o %s: the status said %d times:\n%s", format, n, r.err)
		}
	}
}

func TestCAAForbidsIssuance(t *testing.T) {
	e := newEnv(t)
	e.dns.Add(t, `example.test. 300 IN CAA 0 issue ";"`)
	arn := e.request("--domain-name", "caa.example.test")
	for _, rr := range e.bindRecords(arn) {
		e.dns.Add(t, rr.String())
	}
	r := e.run("validate", "check", arn, "--wait", "--timeout", "30s")
	if r.code != errs.ExitRefused || !strings.Contains(r.err, "CAA_ERROR") {
		t.Errorf("exit %d %s", r.code, r.err)
	}
	c := e.describe(arn).Certificate
	if c.Status != "FAILED" || c.FailureReason != "CAA_ERROR" || c.DomainValidationOptions[0].ValidationStatus != "FAILED" {
		t.Errorf("%+v", c)
	}
	// The check that failed the certificate is a FAILURE with its reason
	// (tester: SUCCESS, no parameter).
	recs := e.auditLog()
	last := recs[len(recs)-1]
	if last.EventName != "CheckDomainValidation" || last.Outcome != "FAILURE" || last.ErrorCode != "CAA_ERROR" ||
		last.RequestParameters["Status"] != "FAILED" {
		t.Errorf("the check's record: %s %s %s %v", last.EventName, last.Outcome, last.ErrorCode, last.RequestParameters)
	}
}

var codeRe = regexp.MustCompile(`(?m)^Approval code: ([A-Z2-7]{32})\r?$`)

func TestEmailValidation(t *testing.T) {
	e := newEnv(t)
	smtpd := validationtest.StartSMTP(t)
	e.vars["CERTCTL_SMTP_ADDR"] = smtpd.Addr
	e.vars["CERTCTL_SMTP_FROM"] = "pki@corp.test"
	arn := e.request("--domain-name", "www.shop.example.test", "--subject-alternative-names", "api.shop.example.test",
		"--validation-method", "EMAIL", "--domain-validation-options", "DomainName=api.shop.example.test,ValidationDomain=example.test")
	c := e.describe(arn).Certificate
	if c.DomainValidationOptions[1].ValidationDomain != "example.test" || len(c.DomainValidationOptions[1].ValidationEmails) != 5 {
		t.Fatalf("%+v", c.DomainValidationOptions)
	}
	msgs := smtpd.Messages()
	if len(msgs) != 10 {
		t.Fatalf("%d messages", len(msgs))
	}
	to := map[string]string{}
	for _, m := range msgs {
		code := codeRe.FindStringSubmatch(m.Data)
		if code == nil || len(m.To) != 1 || !strings.Contains(m.Data, arn) {
			t.Fatalf("message %+v", m)
		}
		to[m.To[0]] = code[1]
	}
	for _, l := range []string{"admin", "administrator", "hostmaster", "postmaster", "webmaster"} {
		if to[l+"@shop.example.test"] == "" || to[l+"@example.test"] == "" {
			t.Errorf("%s@ missing: %v", l, to)
		}
	}
	e.ok("validate", "approve", "--code", to["admin@example.test"])
	if r := e.run("validate", "approve", "--code", to["webmaster@example.test"]); r.code != errs.ExitRefused {
		t.Errorf("used code: exit %d", r.code)
	}
	out := e.ok("validate", "approve", "--code", to["admin@shop.example.test"])
	if s := parseDetail(t, out).Certificate.Status; s != "ISSUED" {
		t.Errorf("after both approvals: %s", s)
	}

	// Resend: a superdomain's addresses; a non-superdomain is refused.
	arn2 := e.request("--domain-name", "www.shop.example.test", "--validation-method", "EMAIL")
	before := len(smtpd.Messages())
	var rs validate.ResendOutput
	if err := json.Unmarshal([]byte(e.ok("resend-validation-email", arn2, "--domain", "www.shop.example.test", "--validation-domain", "example.test")), &rs); err != nil {
		t.Fatal(err)
	}
	after := smtpd.Messages()[before:]
	if len(after) != 5 || len(rs.ValidationEmails) != 5 || rs.ValidationEmails[0] != "admin@example.test" {
		t.Fatalf("resend: %d messages, %+v", len(after), rs)
	}
	for _, m := range after {
		if !strings.HasSuffix(m.To[0], "@example.test") {
			t.Errorf("resent to %v", m.To)
		}
	}
	if r := e.run("resend-validation-email", arn2, "--domain", "www.shop.example.test", "--validation-domain", "other.test"); r.code != errs.ExitInvalid {
		t.Errorf("non-superdomain: exit %d %s", r.code, r.err)
	}
	if r := e.run("request", "--domain-name", "x.example.test", "--validation-method", "EMAIL",
		"--domain-validation-options", "DomainName=x.example.test,ValidationDomain=y.example.test"); r.code != errs.ExitInvalid {
		t.Errorf("request with a non-superdomain: exit %d", r.code)
	}
	if r := e.run("request", "--domain-name", "x.example.test", "--domain-validation-options", "x.example.test"); r.code != errs.ExitUsage {
		t.Errorf("malformed option: exit %d", r.code)
	}
	if r := e.run("validate", "approve", "--code", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"); r.code != errs.ExitNotFound {
		t.Errorf("unknown code: exit %d", r.code)
	}
}

func TestEmailOutbox(t *testing.T) {
	e := newEnv(t)
	arn := e.request("--domain-name", "*.box.example.test", "--validation-method", "EMAIL")
	dir := filepath.Join(e.vars["CERTCTL_VAULT"], "outbox")
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("outbox: %v %v", st, err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.eml"))
	if len(files) != 5 {
		t.Fatalf("%d .eml files", len(files))
	}
	var code string
	for _, p := range files {
		st, _ := os.Stat(p)
		b, _ := os.ReadFile(p)
		m := codeRe.FindStringSubmatch(string(b))
		if st.Mode().Perm() != 0o600 || m == nil || !strings.Contains(string(b), "To: ") || !strings.Contains(string(b), "@box.example.test") {
			t.Fatalf("%s: %v %q", p, st.Mode(), b)
		}
		code = m[1]
	}
	if s := parseDetail(t, e.ok("validate", "approve", "--code", code)).Certificate.Status; s != "ISSUED" {
		t.Errorf("approved: %s (%s)", s, arn)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestHTTPValidation(t *testing.T) {
	e := newEnv(t)
	if r := e.run("request", "--domain-name", "web.example.test", "--validation-method", "HTTP"); r.code != errs.ExitInvalid ||
		!strings.Contains(r.err, "http_base_url") {
		t.Errorf("without a base URL: exit %d %s", r.code, r.err)
	}

	// validate serve-http, run in-process until the test ends, without
	// --listen: it listens where the base URL points (docs tester).
	port := freePort(t)
	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/pki"
	e.vars["CERTCTL_VALIDATION_HTTP_BASE_URL"] = base
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		e.runCtx(ctx, "validate", "serve-http")
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
	for i := 0; ; i++ {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
			break
		}
		if i > 100 {
			t.Fatal("serve-http did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}

	// The site redirects every pki-validation file to the base URL, except
	// for wrong.example.test, which serves other content.
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host == "wrong.example.test" {
			_, _ = w.Write([]byte("not the token"))
			return
		}
		http.Redirect(w, r, base+"/"+path.Base(r.URL.Path), http.StatusFound)
	}))
	t.Cleanup(site.Close)
	e.vars["CERTCTL_VALIDATION_HTTP_PORT"] = strconv.Itoa(site.Listener.Addr().(*net.TCPAddr).Port)
	e.dns.Add(t, "web.example.test. 300 IN A 127.0.0.1", "wrong.example.test. 300 IN A 127.0.0.1")

	if r := e.run("request", "--domain-name", "*.web.example.test", "--validation-method", "HTTP"); r.code != errs.ExitInvalid {
		t.Errorf("wildcard over HTTP: exit %d", r.code)
	}
	arn := e.request("--domain-name", "web.example.test", "--validation-method", "HTTP")
	dv := e.describe(arn).Certificate.DomainValidationOptions[0]
	if dv.HttpRedirect == nil || !strings.HasPrefix(dv.HttpRedirect.RedirectTo, base+"/") ||
		!strings.HasPrefix(dv.HttpRedirect.RedirectFrom, "http://web.example.test/.well-known/pki-validation/") {
		t.Fatalf("%+v", dv)
	}
	r := e.run("validate", "check", arn)
	if r.code != 0 || parseDetail(t, r.out).Certificate.Status != "ISSUED" {
		t.Errorf("check: %d %s %s", r.code, r.out, r.err)
	}

	wrong := e.request("--domain-name", "wrong.example.test", "--validation-method", "HTTP")
	r = e.run("validate", "check", wrong)
	if r.code != 0 || parseDetail(t, r.out).Certificate.Status != "PENDING_VALIDATION" || !strings.Contains(r.err, "does not match") {
		t.Errorf("mismatched content: %d %s %s", r.code, r.out, r.err)
	}
}

// TestResendValidationDomainNotSaved (issue 9): resend-validation-email
// --validation-domain V mails V's addresses for that message only; as in
// ACM, V is not saved: describe still shows the name's own validation
// domain and addresses, and the new code approves the name.
func TestResendValidationDomainNotSaved(t *testing.T) {
	e := newEnv(t)
	arn := e.request("--domain-name", "www.keep.example.test", "--validation-method", "EMAIL")
	dv := e.describe(arn).Certificate.DomainValidationOptions[0]
	if dv.ValidationDomain != "www.keep.example.test" || len(dv.ValidationEmails) != 5 {
		t.Fatalf("before: %+v", dv)
	}
	// A trailing dot is named as the mistake (tester: "is not a name of").
	if r := e.run("resend-validation-email", arn, "--domain", "www.keep.example.test.", "--validation-domain", "example.test"); r.code != errs.ExitInvalid || !strings.Contains(r.err, "trailing dot") {
		t.Errorf("a name with a trailing dot: exit %d %s", r.code, r.err)
	}
	var rs validate.ResendOutput
	if err := json.Unmarshal([]byte(e.ok("resend-validation-email", arn, "--domain", "www.keep.example.test", "--validation-domain", "example.test")), &rs); err != nil {
		t.Fatal(err)
	}
	if rs.ValidationDomain != "example.test" || len(rs.ValidationEmails) != 5 || rs.ValidationEmails[0] != "admin@example.test" {
		t.Fatalf("resend output %+v", rs)
	}
	after := e.describe(arn).Certificate.DomainValidationOptions[0]
	if after.ValidationDomain != dv.ValidationDomain || strings.Join(after.ValidationEmails, ",") != strings.Join(dv.ValidationEmails, ",") {
		t.Fatalf("the validation domain was saved: before %+v, after %+v", dv, after)
	}
	// The message went to example.test's addresses, and its code works.
	var code string
	files, _ := filepath.Glob(filepath.Join(e.vars["CERTCTL_VAULT"], "outbox", "*.eml"))
	for _, p := range files {
		b, _ := os.ReadFile(p)
		if m := codeRe.FindStringSubmatch(string(b)); m != nil && strings.Contains(string(b), "To: admin@example.test") {
			code = m[1]
		}
	}
	if code == "" {
		t.Fatalf("no message to admin@example.test among %d", len(files))
	}
	if s := parseDetail(t, e.ok("validate", "approve", "--code", code)).Certificate.Status; s != "ISSUED" {
		t.Fatalf("approved with the resent code: %s", s)
	}
}
