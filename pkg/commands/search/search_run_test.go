package search_test

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/clitest"
	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/localstore"
)

type result struct {
	CertificateArn string
	X509Attributes struct {
		Subject struct {
			CommonName        string
			DistinguishedName string
		}
	}
	CertificateMetadata struct {
		Status                   string
		RenewalEligibility       string
		CertificateKeyPairOrigin string
	}
}

type output struct {
	Results   []result
	NextToken *string
}

func search(e *clitest.Env, args ...string) output {
	e.T.Helper()
	var out output
	e.JSON(&out, append([]string{"search"}, args...)...)
	return out
}

func arns(out output) string {
	var s []string
	for _, r := range out.Results {
		s = append(s, r.CertificateArn)
	}
	return strings.Join(s, " ")
}

// An expired certificate is EXPIRED (and INELIGIBLE) in search as in list
// and describe, and status filters find it as such, before `renew --due`
// has recorded the expiry.
func TestSearchJudgesStatusAsOfNow(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("old.internal")
	e.Export(arn) // exported: ELIGIBLE while valid
	if out := search(e, "status:ISSUED"); arns(out) != arn || out.Results[0].CertificateMetadata.RenewalEligibility != "ELIGIBLE" {
		t.Fatalf("before expiry: %+v", out)
	}
	e.Advance(400 * 24 * time.Hour)
	if d := e.Describe(arn); d.Status != "EXPIRED" {
		t.Fatalf("describe says %s", d.Status)
	}
	out := search(e, "status:EXPIRED")
	if arns(out) != arn {
		t.Fatalf("search status:EXPIRED found %q, want %s", arns(out), arn)
	}
	if m := out.Results[0].CertificateMetadata; m.Status != "EXPIRED" || m.RenewalEligibility != "INELIGIBLE" {
		t.Errorf("expired certificate: %+v", m)
	}
	if out := search(e, "--filter-statement", `{"Filter":{"AcmCertificateMetadataFilter":{"Status":"EXPIRED"}}}`); arns(out) != arn {
		t.Errorf("filter statement Status EXPIRED found %q", arns(out))
	}
	if out := search(e, "status:ISSUED"); len(out.Results) != 0 {
		t.Errorf("search status:ISSUED found the expired certificate: %+v", out)
	}
	if out := search(e); len(out.Results) != 1 || out.Results[0].CertificateMetadata.Status != "EXPIRED" {
		t.Errorf("search (everything): %+v", out)
	}
}

// writeSmith writes a certificate whose subject's CN holds a comma, its
// key and its chain into dir.
func writeSmith(t *testing.T, dir string) (crt, key, chain string) {
	t.Helper()
	root := testpki.NewRoot("Smith Root", time.Now())
	k := testpki.ECKey()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(4242),
		Subject:               pkix.Name{CommonName: "Smith, John", Organization: []string{"Example, Inc."}},
		DNSNames:              []string{"smith.example.test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(90 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, root.Cert, k.Public(), root.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	crt, key, chain = filepath.Join(dir, "smith.crt"), filepath.Join(dir, "smith.key"), filepath.Join(dir, "chain.pem")
	for name, data := range map[string][]byte{crt: testpki.CertPEM(leaf), key: testpki.KeyPEM(k), chain: testpki.CertPEM(root.Cert)} {
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return crt, key, chain
}

// The common name is read from the parsed subject: `CN=Smith\, John`
// shows and matches as "Smith, John", never as "Smith\".
func TestSearchCommonNameWithComma(t *testing.T) {
	e := clitest.New(t)
	crt, key, chain := writeSmith(t, e.Dir)
	var imp struct{ CertificateArn string }
	e.JSON(&imp, "import", "--certificate", crt, "--private-key", key, "--certificate-chain", chain)
	e.RequestPrivate("other.internal")

	var d struct {
		Certificate struct{ Subject, DomainName string }
	}
	e.JSON(&d, "describe", imp.CertificateArn)
	if d.Certificate.Subject != `CN=Smith\, John,O=Example\, Inc.` || d.Certificate.DomainName != "Smith, John" {
		t.Errorf("describe: Subject %q DomainName %q", d.Certificate.Subject, d.Certificate.DomainName)
	}

	out := search(e, "--filter-statement", `{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"Smith, John","ComparisonOperator":"EQUALS"}}}}}`)
	if arns(out) != imp.CertificateArn {
		t.Fatalf("CommonName EQUALS \"Smith, John\" found %q, want %s", arns(out), imp.CertificateArn)
	}
	if s := out.Results[0].X509Attributes.Subject; s.CommonName != "Smith, John" || s.DistinguishedName != `CN=Smith\, John,O=Example\, Inc.` {
		t.Errorf("X509Attributes.Subject = %+v", s)
	}
	if out := search(e, `cn:smith,*`); arns(out) != imp.CertificateArn {
		t.Errorf("cn:smith,* found %q", arns(out))
	}
	if out := search(e, "--filter-statement", `{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"Smith\\","ComparisonOperator":"EQUALS"}}}}}`); len(out.Results) != 0 {
		t.Errorf(`CommonName EQUALS "Smith\" matched: %+v`, out)
	}
	r := e.MustRun("search", "-o", "text", `cn:smith,*`)
	if want := imp.CertificateArn + "\tSmith, John\tISSUED\tIMPORTED\tEC_prime256v1\t"; !strings.HasPrefix(r.Stdout, want) || !strings.HasSuffix(r.Stdout, "\tIMPORTED\n") {
		t.Errorf("text output %q, want a line starting %q", r.Stdout, want)
	}
}

// With no statement, search lists every certificate of the vault, ACME
// ones included (list leaves those out unless asked).
func TestSearchWithoutStatementListsEverything(t *testing.T) {
	e := clitest.New(t)
	private := e.RequestPrivate("all.internal")
	v := e.OpenVault()
	acmeID := "0a0a0a0a-0000-4000-8000-000000000001"
	now := e.Now()
	err := v.Store.Update(context.Background(), func(tx localstore.Tx) error {
		return tx.PutCertificate(&localstore.Certificate{
			ID: acmeID, DomainName: "acme.example.test", SubjectAlternativeNames: []string{"acme.example.test"},
			Subject: "CN=acme.example.test", Status: "ISSUED", Type: "IMPORTED", KeyPairOrigin: "ACME",
			KeyAlgorithm: "EC_prime256v1", CreatedAt: now, UpdatedAt: now, NotBefore: now.Add(-time.Hour),
			NotAfter: now.Add(30 * 24 * time.Hour), RenewalEligibility: "INELIGIBLE", Version: 1,
		})
	})
	v.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := search(e)
	if len(out.Results) != 2 {
		t.Fatalf("search with no statement: %d results, want 2: %+v", len(out.Results), out)
	}
	origins := map[string]string{}
	for _, r := range out.Results {
		origins[r.CertificateArn] = r.CertificateMetadata.CertificateKeyPairOrigin
	}
	acmeARN := "arn:certctl:acm:local:000000000000:certificate/" + acmeID
	if origins[private] != "VAULT" || origins[acmeARN] != "ACME" {
		t.Errorf("results by origin %v, want %s VAULT and %s ACME", origins, private, acmeARN)
	}
	// Paging works without a statement too.
	page := search(e, "--max-items", "1")
	if len(page.Results) != 1 || page.NextToken == nil {
		t.Fatalf("first page: %+v", page)
	}
	rest := search(e, "--max-items", "1", "--starting-token", *page.NextToken)
	if len(rest.Results) != 1 || rest.Results[0].CertificateArn == page.Results[0].CertificateArn {
		t.Errorf("second page: %+v", rest)
	}
}

// The DOMAIN column of a certificate without a subject yet (pending
// validation) is the name it is for, as list shows it, not empty.
func TestSearchDomainOfPendingCertificate(t *testing.T) {
	e := clitest.New(t)
	e.MustRun("request", "--domain-name", "pending.example.com", "--validation-method", "DNS")
	r := e.MustRun("search", "-o", "text", "status:PENDING_VALIDATION")
	f := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\t")
	if len(f) < 3 || f[1] != "pending.example.com" || f[2] != "PENDING_VALIDATION" {
		t.Errorf("text output %q, want the domain pending.example.com in the second column", r.Stdout)
	}
	r = e.MustRun("search", "-o", "table", "status:PENDING_VALIDATION")
	if !strings.Contains(r.Stdout, "pending.example.com") {
		t.Errorf("table output %q, want the domain pending.example.com", r.Stdout)
	}
}

// An empty filter statement, given or read from a file, is refused (exit
// 4) and lists nothing, as an empty QUERY is; a missing one lists every
// certificate.
func TestSearchRefusesEmptyStatement(t *testing.T) {
	e := clitest.New(t)
	arn := e.RequestPrivate("one.internal")
	empty := filepath.Join(t.TempDir(), "filter.json")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--filter-statement", ""}, {"--filter-statement", "file://" + empty}, {""}} {
		r := e.Run(append([]string{"search", "-o", "json"}, args...)...)
		if r.Code != 4 || r.Stdout != "" || !strings.Contains(r.Stderr, "empty") {
			t.Errorf("%v; want exit 4, nothing listed, an error naming the empty statement", r)
		}
	}
	if out := search(e); arns(out) != arn {
		t.Errorf("search without a statement: %q, want %s", arns(out), arn)
	}
}
