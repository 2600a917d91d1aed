package authorities

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/certctl/certctl/internal/coretest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/zlinttest"
	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/casign"
	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
)

// The acceptance tests of issue 10 (templates, SANs, validity, CA options)
// run openssl and zlint on what the service issues, on the real clock so
// that openssl verifies without -attime.

// tool finds an interoperability tool; CERTCTL_REQUIRE_INTEROP=1 (CI)
// makes a missing one a failure.
func tool(t *testing.T, name string, more ...string) string {
	t.Helper()
	for _, p := range append([]string{name}, more...) {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CERTCTL_REQUIRE_INTEROP") == "1" {
		t.Fatalf("%s not found and CERTCTL_REQUIRE_INTEROP=1", name)
	}
	t.Skipf("%s not found", name)
	return ""
}

func openssl(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, err := exec.Command(tool(t, "openssl"), args...).CombinedOutput()
	return string(out), err
}

func mustOpenSSL(t *testing.T, args ...string) string {
	t.Helper()
	out, err := openssl(t, args...)
	if err != nil {
		t.Fatalf("openssl %v: %v\n%s", args, err, out)
	}
	return out
}

// realService is a service over a fresh vault on the real clock.
func realService(t *testing.T, baseURL string) *Service {
	t.Helper()
	return New(coretest.New(t, coretest.Config{Actor: actor, CABaseURL: baseURL}), Settings{})
}

// opensslCSR makes a P-256 CSR with openssl req: subject (openssl form,
// /CN=…) and -addext values.
func opensslCSR(t *testing.T, dir, name, subject string, addext ...string) []byte {
	t.Helper()
	args := []string{"req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		"-keyout", filepath.Join(dir, name+".key"), "-subj", subject, "-out", filepath.Join(dir, name+".csr")}
	for _, e := range addext {
		args = append(args, "-addext", e)
	}
	mustOpenSSL(t, args...)
	b, err := os.ReadFile(filepath.Join(dir, name+".csr"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func parsePEM(t *testing.T, s string) *x509.Certificate {
	t.Helper()
	b, _ := pem.Decode([]byte(s))
	if b == nil {
		t.Fatalf("no PEM in %q", s)
	}
	c, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// lint fails t on any error or fatal zlint finding of the SPEC's sources.
func lint(t *testing.T, linter *zlinttest.Linter, path string) {
	t.Helper()
	findings, passed, err := linter.Lint(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range findings {
		t.Errorf("zlint %s: %s = %s %s", filepath.Base(path), f.Lint, f.Result, f.Details)
	}
	if passed == 0 {
		t.Errorf("zlint %s: no lint of the SPEC's sources passed", filepath.Base(path))
	}
}

// TestTemplatesOpenSSLZlint: every template issues from a CSR; openssl x509
// -text shows the template's key usage, extended key usage and basic
// constraints; openssl verify -purpose agrees; zlint finds no error.
func TestTemplatesOpenSSLZlint(t *testing.T) {
	linter, err := zlinttest.New(tool(t, "zlint", filepath.Join(os.Getenv("HOME"), "go/bin/zlint")))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s := realService(t, "http://pki.example.test")
	rootARN, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1",
		Subject: authority.Subject{CommonName: "Template Root", Organization: "Acme"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cardPassthrough := &casign.APIPassthrough{
		Subject: &casign.PassthroughSubject{CommonName: "Card Holder", Organization: "Acme", GivenName: "Card", Surname: "Holder"},
		Extensions: &casign.PassthroughExtensions{
			KeyUsage:                &casign.PassthroughKeyUsage{DigitalSignature: true, NonRepudiation: true},
			ExtendedKeyUsage:        []casign.PassthroughEKU{{ExtendedKeyUsageType: "CLIENT_AUTH"}, {ExtendedKeyUsageType: "SMART_CARD_LOGIN"}},
			SubjectAlternativeNames: []casign.PassthroughSAN{{Rfc822Name: "card@example.test"}},
			CustomExtensions:        []casign.CustomExtension{{ObjectIdentifier: "1.3.6.1.4.1.55555.1", Value: "DAVoZWxsbw=="}}, // UTF8String "hello"
			CertificatePolicies: []casign.CertificatePolicy{{CertPolicyId: "1.3.6.1.4.1.55555.2",
				PolicyQualifiers: []casign.PolicyQualifier{{PolicyQualifierId: "CPS", Qualifier: struct {
					CpsUri string `json:"CpsUri"`
				}{CpsUri: "https://pki.example.test/cps"}}}}},
		},
	}
	host := []string{"subjectAltName=DNS:app.example.test,IP:192.0.2.7"}
	cases := []struct {
		template    string
		subject     string
		addext      []string
		passthrough *casign.APIPassthrough
		want        []string // regexps openssl x509 -text must show
		absent      []string
		purposeOK   []string // openssl verify -purpose accepts
		purposeNot  []string // and refuses
	}{
		{template: "EndEntityCertificate", subject: "/CN=app.example.test", addext: host,
			want:      []string{`X509v3 Key Usage: critical\s+Digital Signature\n`, `TLS Web Server Authentication, TLS Web Client Authentication`, `CA:FALSE`, `DNS:app.example.test, IP Address:192.0.2.7`, `URI:http://pki.example.test/crl/`, `OCSP - URI:http://pki.example.test/ocsp`},
			purposeOK: []string{"sslserver", "sslclient"}},
		{template: "EndEntity", subject: "/CN=app.example.test", addext: host,
			want:      []string{`TLS Web Server Authentication, TLS Web Client Authentication`, `CA:FALSE`},
			purposeOK: []string{"sslserver", "sslclient"}},
		{template: "EndEntityServerAuthCertificate", subject: "/CN=app.example.test", addext: host,
			want:   []string{`X509v3 Key Usage: critical\s+Digital Signature\n`, `Extended Key Usage: \n\s+TLS Web Server Authentication\n`, `CA:FALSE`},
			absent: []string{`Client Authentication`}, purposeOK: []string{"sslserver"}, purposeNot: []string{"sslclient"}},
		{template: "EndEntityClientAuthCertificate", subject: "/CN=Alice Smith/O=Acme",
			addext: []string{"subjectAltName=email:alice@example.test,URI:spiffe://example.test/ns/a/sa/b"},
			want:   []string{`Digital Signature\n`, `Extended Key Usage: \n\s+TLS Web Client Authentication\n`, `email:alice@example.test, URI:spiffe://example.test/ns/a/sa/b`, `Subject: .*CN ?= ?Alice Smith`},
			absent: []string{`Server Authentication`}, purposeOK: []string{"sslclient"}, purposeNot: []string{"sslserver"}},
		{template: "arn:aws:acm-pca:::template/CodeSigningCertificate/V1", subject: "/CN=Acme Release Signing/O=Acme",
			want:   []string{`Digital Signature\n`, `X509v3 Extended Key Usage: critical\n\s+Code Signing\n`, `CA:FALSE`},
			absent: []string{`Server Authentication`, `Client Authentication`}, purposeOK: []string{"any"}, purposeNot: []string{"sslserver", "sslclient"}},
		{template: "OCSPSigningCertificate", subject: "/CN=Acme OCSP Responder",
			want:      []string{`Digital Signature\n`, `X509v3 Extended Key Usage: critical\n\s+OCSP Signing\n`, `CA:FALSE`},
			purposeOK: []string{"ocsphelper"}, purposeNot: []string{"sslserver"}},
		{template: "SubordinateCA", subject: "/CN=Sub Zero/O=Acme",
			want: []string{`CA:TRUE, pathlen:0`, `X509v3 Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign`}, purposeOK: []string{"any", "crlsign"}},
		{template: "SubordinateCACertificate_PathLen1", subject: "/CN=Sub One/O=Acme",
			want: []string{`CA:TRUE, pathlen:1`, `Certificate Sign, CRL Sign`}, purposeOK: []string{"any"}},
		{template: "SubordinateCACertificate_PathLen2", subject: "/CN=Sub Two/O=Acme",
			want: []string{`CA:TRUE, pathlen:2`, `Certificate Sign, CRL Sign`}, purposeOK: []string{"any"}},
		{template: "SubordinateCACertificate_PathLen3", subject: "/CN=Sub Three/O=Acme",
			want: []string{`CA:TRUE, pathlen:3`, `Certificate Sign, CRL Sign`}, purposeOK: []string{"any"}},
		{template: "EndEntityCertificate_CSRPassthrough", subject: "/CN=Alice Smith",
			addext:    []string{"subjectAltName=email:alice@example.test,URI:spiffe://example.test/ns/a/sa/b", "1.3.6.1.4.1.55555.3=ASN1:UTF8String:passed"},
			want:      []string{`TLS Web Server Authentication, TLS Web Client Authentication`, `1\.3\.6\.1\.4\.1\.55555\.3:\s+\n?\s*..passed`, `URI:spiffe://example.test/ns/a/sa/b`, `CA:FALSE`},
			purposeOK: []string{"sslclient"}},
		{template: "BlankEndEntityCertificate_APIPassthrough", subject: "/CN=ignored.example.test", passthrough: cardPassthrough,
			want: []string{`Subject: .*CN ?= ?Card Holder`, `Digital Signature, Non Repudiation`, `TLS Web Client Authentication, Microsoft Smartcard Login`,
				`email:card@example.test`, `Policy: 1\.3\.6\.1\.4\.1\.55555\.2\s+CPS: https://pki.example.test/cps`, `1\.3\.6\.1\.4\.1\.55555\.1:`, `CA:FALSE`},
			absent: []string{`ignored.example.test`}, purposeOK: []string{"sslclient"}, purposeNot: []string{"sslserver"}},
	}
	for i, c := range cases {
		t.Run(strings.ReplaceAll(c.template, "/", "_"), func(t *testing.T) {
			name := "c" + string(rune('a'+i))
			csr := opensslCSR(t, dir, name, c.subject, c.addext...)
			issued, err := s.Issue(ctx, rootARN, IssueRequest{CSR: csr, Template: c.template,
				Validity: timeutil.Validity{Duration: 90 * timeutil.Day}, Passthrough: c.passthrough})
			if err != nil {
				t.Fatal(err)
			}
			certPath := write(t, filepath.Join(dir, name+".pem"), issued.Certificate)
			rootPath := write(t, filepath.Join(dir, name+"-root.pem"), issued.CertificateChain)
			text := mustOpenSSL(t, "x509", "-in", certPath, "-noout", "-text")
			for _, w := range c.want {
				if !regexp.MustCompile(w).MatchString(text) {
					t.Errorf("openssl x509 -text lacks %q:\n%s", w, text)
				}
			}
			for _, a := range c.absent {
				if regexp.MustCompile(a).MatchString(text) {
					t.Errorf("openssl x509 -text shows %q:\n%s", a, text)
				}
			}
			for _, p := range c.purposeOK {
				if out, err := openssl(t, "verify", "-purpose", p, "-CAfile", rootPath, certPath); err != nil || !strings.Contains(out, ": OK") {
					t.Errorf("openssl verify -purpose %s: %v\n%s", p, err, out)
				}
			}
			for _, p := range c.purposeNot {
				if out, err := openssl(t, "verify", "-purpose", p, "-CAfile", rootPath, certPath); err == nil && strings.Contains(out, ": OK") {
					t.Errorf("openssl verify -purpose %s accepts it:\n%s", p, out)
				}
			}
			lint(t, linter, certPath)
		})
	}

	// RootCACertificate: the root re-signs its own key.
	t.Run("RootCACertificate", func(t *testing.T) {
		var csrDER []byte
		err := s.core.Read(ctx, func(tx localstore.Tx) error {
			r, err := authority.Find(tx, s.core.Names, rootARN)
			if err != nil {
				return err
			}
			key, err := s.core.Vault.OpenKey(tx, r.KeyRef)
			if err != nil {
				return err
			}
			csrDER, err = x509.CreateCertificateRequest(nil, &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Template Root", Organization: []string{"Acme"}}}, key)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		issued, err := s.Issue(ctx, rootARN, IssueRequest{CSR: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csrDER}),
			Template: "arn:aws:acm-pca:::template/RootCACertificate/V1", Validity: timeutil.Validity{Duration: 365 * timeutil.Day}})
		if err != nil {
			t.Fatal(err)
		}
		certPath := write(t, filepath.Join(dir, "root.pem"), issued.Certificate)
		text := mustOpenSSL(t, "x509", "-in", certPath, "-noout", "-text")
		for _, w := range []string{`CA:TRUE\n`, `Certificate Sign, CRL Sign`} {
			if !regexp.MustCompile(w).MatchString(text) {
				t.Errorf("lacks %q:\n%s", w, text)
			}
		}
		if strings.Contains(text, "pathlen") {
			t.Errorf("a root has no path length constraint:\n%s", text)
		}
		if out, err := openssl(t, "verify", "-purpose", "any", "-CAfile", certPath, certPath); err != nil {
			t.Errorf("openssl verify: %v\n%s", err, out)
		}
		lint(t, linter, certPath)
	})
}

// TestWorkloadSANs: CN=Alice Smith with an email and a spiffe URI SAN under
// EndEntityClientAuthCertificate carries both; under EndEntityCertificate it
// is refused (exit 4) naming the URI SAN.
func TestWorkloadSANs(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "W Root"}})
	if err != nil {
		t.Fatal(err)
	}
	csr := opensslCSR(t, t.TempDir(), "alice", "/CN=Alice Smith", "subjectAltName=email:alice@example.test,URI:spiffe://example.test/ns/a/sa/b")
	issued, err := s.Issue(ctx, root, IssueRequest{CSR: csr, Template: "EndEntityClientAuthCertificate", Validity: timeutil.Validity{Duration: timeutil.Day}})
	if err != nil {
		t.Fatal(err)
	}
	c := parsePEM(t, issued.Certificate)
	if len(c.EmailAddresses) != 1 || c.EmailAddresses[0] != "alice@example.test" || len(c.URIs) != 1 || c.URIs[0].String() != "spiffe://example.test/ns/a/sa/b" || c.Subject.CommonName != "Alice Smith" {
		t.Errorf("SANs %v %v, CN %q", c.EmailAddresses, c.URIs, c.Subject.CommonName)
	}
	// The server template: the URI (the first name it cannot carry after
	// the CN) is refused by name.
	csr2 := opensslCSR(t, t.TempDir(), "wl", "/CN=wl.example.test", "subjectAltName=DNS:wl.example.test,URI:spiffe://example.test/ns/a/sa/b")
	_, err = s.Issue(ctx, root, IssueRequest{CSR: csr2, Template: "EndEntityCertificate", Validity: timeutil.Validity{Duration: timeutil.Day}})
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "URI subject alternative name") || !strings.Contains(err.Error(), "spiffe://example.test/ns/a/sa/b") {
		t.Errorf("URI SAN under EndEntityCertificate: %v (exit %d)", err, errs.ExitCodeOf(err))
	}
	_, err = s.Issue(ctx, root, IssueRequest{CSR: csr, Template: "EndEntityCertificate", Validity: timeutil.Validity{Duration: timeutil.Day}})
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "Alice Smith") {
		t.Errorf("CN=Alice Smith under EndEntityCertificate: %v (exit %d)", err, errs.ExitCodeOf(err))
	}
	// An otherName SAN is refused by kind under every template.
	csr3 := opensslCSR(t, t.TempDir(), "upn", "/CN=Bob", "subjectAltName=otherName:1.3.6.1.4.1.311.20.2.3;UTF8:bob@example.test")
	_, err = s.Issue(ctx, root, IssueRequest{CSR: csr3, Template: "EndEntityClientAuthCertificate", Validity: timeutil.Validity{Duration: timeutil.Day}})
	if errs.ExitCodeOf(err) != errs.ExitInvalid || !strings.Contains(err.Error(), "otherName") {
		t.Errorf("otherName SAN: %v", err)
	}
}

// TestValidityForms: an RFC 3339 end and Value=3,Type=MONTHS give the
// NotAfter asked for; --validity-not-before sets NotBefore.
func TestValidityForms(t *testing.T) {
	ctx := context.Background()
	s := realService(t, "")
	root, err := s.Create(ctx, CreateRequest{Type: authority.TypeRoot, KeyAlgorithm: "EC_prime256v1", Subject: authority.Subject{CommonName: "V Root"}, Validity: 20 * timeutil.Year})
	if err != nil {
		t.Fatal(err)
	}
	csr := opensslCSR(t, t.TempDir(), "v", "/CN=v.example.test")
	for in, want := range map[string]func(time.Time) time.Time{
		"2027-06-30T00:00:00Z": func(time.Time) time.Time { return time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC) },
		"Value=3,Type=MONTHS":  func(now time.Time) time.Time { return now.AddDate(0, 3, 0) },
	} {
		v, err := timeutil.ParseValidity(in)
		if err != nil {
			t.Fatal(err)
		}
		before := time.Now().UTC()
		issued, err := s.Issue(ctx, root, IssueRequest{CSR: csr, Template: "EndEntity", Validity: v})
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		after := time.Now().UTC()
		got := parsePEM(t, issued.Certificate).NotAfter
		lo, hi := want(before).Truncate(time.Second), want(after)
		if got.Before(lo) || got.After(hi) {
			t.Errorf("%s: NotAfter %s, want %s..%s", in, got, lo, hi)
		}
	}
	nb := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
	issued, err := s.Issue(ctx, root, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Duration: 30 * timeutil.Day}, NotBefore: nb})
	if err != nil {
		t.Fatal(err)
	}
	if c := parsePEM(t, issued.Certificate); !c.NotBefore.Equal(nb) {
		t.Errorf("NotBefore %s, want %s", c.NotBefore, nb)
	}
	// Ending in the past: exit 4; beyond the CA: exit 5.
	if _, err := s.Issue(ctx, root, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{End: time.Now().Add(-time.Hour)}}); errs.ExitCodeOf(err) != errs.ExitInvalid {
		t.Errorf("end in the past: %v", err)
	}
	if _, err := s.Issue(ctx, root, IssueRequest{CSR: csr, Template: "EndEntity", Validity: timeutil.Validity{Months: 12 * 30}}); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("beyond the CA: %v", err)
	}
}
