package search

import (
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/pkg/localstore"
)

var now = time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)

func cert() *localstore.Certificate {
	return &localstore.Certificate{
		ID: "0f8fad5b-d9cb-469f-a165-70867728950e", DomainName: "www.example.com",
		SubjectAlternativeNames: []string{"www.example.com", "api.example.com"},
		Subject:                 "CN=www.example.com,O=Example", Status: "ISSUED", Type: "PRIVATE", KeyPairOrigin: "VAULT",
		KeyAlgorithm: "EC_prime256v1", Serial: "0a:1b", NotBefore: now.Add(-24 * time.Hour), NotAfter: now.Add(20 * 24 * time.Hour),
		KeyUsages:         []string{"DIGITAL_SIGNATURE"},
		ExtendedKeyUsages: []localstore.EKU{{Name: "TLS_WEB_SERVER_AUTHENTICATION", OID: "1.3.6.1.5.5.7.3.1"}},
		Tags:              []localstore.Tag{{Key: "env", Value: "prod"}},
	}
}

func TestParseAndMatch(t *testing.T) {
	x := &Subject{Cert: cert(), CertificateArn: "arn:certctl:acm:local:0:certificate/0f8fad5b-d9cb-469f-a165-70867728950e"}
	cases := []struct {
		stmt string
		want bool
	}{
		{`{"Filter":{"CertificateArn":"arn:certctl:acm:local:0:certificate/0f8fad5b-d9cb-469f-a165-70867728950e"}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"SubjectAlternativeName":{"DnsName":{"Value":"api.example.com","ComparisonOperator":"EQUALS"}}}}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"SubjectAlternativeName":{"DnsName":{"Value":"example","ComparisonOperator":"CONTAINS"}}}}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"api.example.com"}}}}}`, false},
		{`{"Filter":{"X509AttributeFilter":{"KeyAlgorithm":"EC_prime256v1"}}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"ExtendedKeyUsage":"TLS_WEB_SERVER_AUTHENTICATION"}}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"SerialNumber":"0A1B"}}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"SerialNumber":"0a:1b"}}}`, true},
		{`{"Filter":{"X509AttributeFilter":{"SerialNumber":"0a-1b"}}}`, true}, // as Vault PKI writes it (review)
		{`{"Filter":{"X509AttributeFilter":{"SerialNumber":"0a-1c"}}}`, false},
		{`{"Filter":{"X509AttributeFilter":{"NotAfter":{"End":"2026-12-01T00:00:00Z"}}}}`, false},
		{`{"Filter":{"X509AttributeFilter":{"NotAfter":{"Start":"2026-12-01T00:00:00Z","End":"2026-12-31T00:00:00Z"}}}}`, true},
		{`{"And":[{"Filter":{"AcmCertificateMetadataFilter":{"Status":"ISSUED"}}},{"Filter":{"AcmCertificateMetadataFilter":{"Type":"PRIVATE"}}}]}`, true},
		{`{"Or":[{"Filter":{"AcmCertificateMetadataFilter":{"Status":"REVOKED"}}},{"Filter":{"AcmCertificateMetadataFilter":{"InUse":false}}}]}`, true},
		{`{"Not":{"Filter":{"AcmCertificateMetadataFilter":{"CertificateKeyPairOrigin":"VAULT"}}}}`, false},
		{`{"Filter":{"AcmCertificateMetadataFilter":{"Exported":true}}}`, false},
	}
	for _, c := range cases {
		s, err := Parse([]byte(c.stmt))
		if err != nil {
			t.Errorf("Parse(%s): %v", c.stmt, err)
			continue
		}
		if got := s.Match(x); got != c.want {
			t.Errorf("%s: got %v, want %v", c.stmt, got, c.want)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, bad := range []string{
		``, `[]`, `{}`, `{"And":[]}`, `{"Filter":{}}`,
		`{"Filter":{"CertificateArn":"x","Tag":{"Key":"a"}}}`,
		`{"Filter":{"X509AttributeFilter":{}}}`,
		`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"a","ComparisonOperator":"LIKE"}}}}}`,
		`{"Filter":{"Bogus":1}}`,
		`{"Filter":{"CertificateArn":"x"}} {}`,
		`{"And":[{"Filter":{"CertificateArn":"x"}}],"Or":[{"Filter":{"CertificateArn":"x"}}]}`,
		`{"Filter":{"X509AttributeFilter":{"NotAfter":{}}}}`,
		`{"Filter":{"X509AttributeFilter":{"NotBefore":{"Start":"2030-01-02T00:00:00Z","End":"2030-01-01T00:00:00Z"}}}}`,
		`{"Filter":{"X509AttributeFilter":{"SerialNumber":"zz"}}}`,
		`{"Filter":{"X509AttributeFilter":{"SerialNumber":""}}}`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}

// TestParseSaysWhatWasWanted: a statement of the wrong shape is refused
// in JSON's words (pkg/jsonarg), not Go's.
func TestParseSaysWhatWasWanted(t *testing.T) {
	_, err := Parse([]byte(`{"And":"x"}`))
	if err == nil || err.Error() != "filter statement: And: want a list, not a string" {
		t.Errorf("%v", err)
	}
}

func TestTerse(t *testing.T) {
	x := &Subject{Cert: cert()}
	cases := map[string]bool{
		"san:*.example.com status:ISSUED expires<30d tag:env=prod": true,
		"san:*.example.com expires<10d":                            false,
		"-status:REVOKED type:PRIVATE":                             true,
		"tag:env":                                                  true,
		"tag:env=dev":                                              false,
		"in-use:false exported:false key:EC_prime256v1":            true,
		"cn:www.example.com":                                       true,
		"serial:0A-1B":                                             true,
	}
	for q, want := range cases {
		s, err := ParseTerse(q, now)
		if err != nil {
			t.Errorf("ParseTerse(%q): %v", q, err)
			continue
		}
		if got := s.Match(x); got != want {
			t.Errorf("%q: got %v, want %v", q, got, want)
		}
	}
	// Keys and enumerated values are exact, as in ACM: a wrong case is
	// refused, naming the word meant.
	for _, bad := range []string{"", "bogus:x", "status", "expires<forever", "in-use:maybe", "serial:zz", "serial:0x1f",
		"type:private", "STATUS:ISSUED", "in-use:TRUE", "origin:vault", "renewal:success",
		"san:[", "cn:[abc", "san:*.[a-", // a malformed pattern, as list --domain refuses it (tester)
		"tag:env=prod,team=web", "tag:a;b", "tag:e*"} { // a tag no certificate can have, as list --tag refuses it
		if _, err := ParseTerse(bad, now); err == nil {
			t.Errorf("ParseTerse(%q) accepted", bad)
		}
	}
}

// TestEqualsIsExact (tester): EQUALS in a filter statement compares the
// whole value (case aside), as ACM's SearchCertificates does — a wildcard
// certificate's name selects that certificate, not every name it covers —
// while the terse query's san: and cn: are patterns; a certificate
// without a common name (one still pending) matches neither kind.
func TestEqualsIsExact(t *testing.T) {
	wild := cert()
	wild.SubjectAlternativeNames, wild.Subject = []string{"*.example.com"}, "CN=*.example.com"
	host := cert()
	pending := cert()
	pending.Subject, pending.Status = "", "PENDING_VALIDATION"
	san := func(v string) string {
		return `{"Filter":{"X509AttributeFilter":{"SubjectAlternativeName":{"DnsName":{"Value":"` + v + `","ComparisonOperator":"EQUALS"}}}}}`
	}
	cn := func(v string) string {
		return `{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"` + v + `","ComparisonOperator":"EQUALS"}}}}}`
	}
	cases := []struct {
		query, stmt         string
		wild, host, pending bool
	}{
		{stmt: san("*.example.com"), wild: true},
		{stmt: san("*.EXAMPLE.com"), wild: true},
		{stmt: san("api.example.com"), host: true, pending: true},
		{stmt: cn("*"), wild: false},
		{stmt: cn("[a-z]*"), wild: false},
		{stmt: cn("www.example.com"), host: true},
		{query: "san:*.example.com", wild: true, host: true, pending: true},
		{query: "cn:*", wild: true, host: true},
		{query: "cn:www.*", host: true},
	}
	for _, c := range cases {
		var s *Statement
		var err error
		if c.query != "" {
			s, err = ParseTerse(c.query, now)
		} else {
			s, err = Parse([]byte(c.stmt))
		}
		if err != nil {
			t.Fatalf("%s%s: %v", c.query, c.stmt, err)
		}
		for _, x := range []struct {
			name string
			c    *localstore.Certificate
			want bool
		}{{"wildcard", wild, c.wild}, {"host", host, c.host}, {"pending", pending, c.pending}} {
			if got := s.Match(&Subject{Cert: x.c}); got != x.want {
				t.Errorf("%s%s on the %s certificate: %v, want %v", c.query, c.stmt, x.name, got, x.want)
			}
		}
	}
}

// testARN is the ARN of the certificate with the ID that follows it.
const testARN = "arn:certctl:acm:local:0:certificate/"

func FuzzParse(f *testing.F) {
	f.Add(`{"And":[{"Filter":{"AcmCertificateMetadataFilter":{"Status":"ISSUED"}}},{"Not":{"Filter":{"CertificateArn":"x"}}}]}`)
	f.Add(`{"Filter":{"X509AttributeFilter":{"NotAfter":{"Start":"2026-12-01T00:00:00Z"}}}}`)
	f.Add(`{"Or":[{"Filter":{"CertificateArn":"0f8fad5b-d9cb-469f-a165-70867728950e"}},{"Filter":{"AcmCertificateMetadataFilter":{"Type":"PRIVATE"}}}]}`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse([]byte(in))
		if err == nil {
			// What a statement matches, its narrowing keeps, once its
			// references are IDs (as the search service resolves them).
			c := cert()
			s.Resolve(func(kind, ref string) (string, error) { return strings.TrimPrefix(ref, testARN), nil }) //nolint:errcheck // resolves all
			if s.Match(&Subject{Cert: c, CertificateArn: testARN + c.ID}) && !keeps(s.Narrow(), c) {
				t.Errorf("%s matches the certificate, which its narrowing %+v leaves out", in, s.Narrow())
			}
		}
	})
}

func FuzzParseTerse(f *testing.F) {
	f.Add("san:*.example.com status:ISSUED expires<30d tag:env=prod")
	f.Add("-type:IMPORTED in-use:true")
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseTerse(in, now)
		if err == nil {
			if c := cert(); s.Match(&Subject{Cert: c, CertificateArn: testARN + c.ID}) && !keeps(s.Narrow(), c) {
				t.Errorf("%q matches the certificate, which its narrowing %+v leaves out", in, s.Narrow())
			}
		}
	})
}

func TestUnknownEnumValuesRefused(t *testing.T) {
	for _, bad := range []string{
		`{"Filter":{"AcmCertificateMetadataFilter":{"Status":"BOGUS"}}}`,
		`{"Filter":{"AcmCertificateMetadataFilter":{"Type":"AMAZON_ISSUED"}}}`,
		`{"Filter":{"AcmCertificateMetadataFilter":{"CertificateKeyPairOrigin":"FOO"}}}`,
		`{"Filter":{"AcmCertificateMetadataFilter":{"RenewalStatus":"DONE"}}}`,
		`{"Filter":{"X509AttributeFilter":{"KeyAlgorithm":"RSA_9999"}}}`,
		`{"Filter":{"X509AttributeFilter":{"KeyUsage":"SIGNING"}}}`,
		`{"Filter":{"X509AttributeFilter":{"ExtendedKeyUsage":"WEB"}}}`,
		// Values are exact, as in ACM's SearchCertificates.
		`{"Filter":{"AcmCertificateMetadataFilter":{"Status":"issued"}}}`,
		`{"Filter":{"AcmCertificateMetadataFilter":{"ExportOption":"Enabled"}}}`,
		`{"Filter":{"AcmCertificateMetadataFilter":{"ValidationMethod":"dns"}}}`,
		`{"Filter":{"X509AttributeFilter":{"KeyAlgorithm":"ec_prime256v1"}}}`,
		`{"Filter":{"X509AttributeFilter":{"KeyUsage":"digital_signature"}}}`,
		`{"Filter":{"X509AttributeFilter":{"ExtendedKeyUsage":"tls_web_server_authentication"}}}`,
		`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"a","ComparisonOperator":"equals"}}}}}`,
	} {
		if _, err := Parse([]byte(bad)); err == nil {
			t.Errorf("Parse(%s) accepted an unknown value", bad)
		}
	}
	for _, good := range []string{
		`{"Filter":{"AcmCertificateMetadataFilter":{"Status":"ISSUED"}}}`,
		`{"Filter":{"X509AttributeFilter":{"ExtendedKeyUsage":"1.3.6.1.5.5.7.3.1"}}}`,
	} {
		if _, err := Parse([]byte(good)); err != nil {
			t.Errorf("Parse(%s): %v", good, err)
		}
	}
	if _, err := ParseTerse("status:BOGUS", now); err == nil {
		t.Error("terse status:BOGUS accepted")
	}
	for q, meant := range map[string]string{"status:issued": "did you mean ISSUED?", "Status:ISSUED": "did you mean status?", "in-use:True": "did you mean true?"} {
		if _, err := ParseTerse(q, now); err == nil || !strings.Contains(err.Error(), meant) {
			t.Errorf("ParseTerse(%q): %v, want %q", q, err, meant)
		}
	}
}

// The common name is read from the parsed subject, so an escaped comma in
// it is part of the name.
func TestCommonNameFromParsedSubject(t *testing.T) {
	c := cert()
	c.Subject = `CN=Smith\, John,O=Example\, Inc.`
	x := &Subject{Cert: c}
	for stmt, want := range map[string]bool{
		`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"Smith, John","ComparisonOperator":"EQUALS"}}}}}`: true,
		`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"smith, j","ComparisonOperator":"CONTAINS"}}}}}`:  true,
		`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"Smith\\","ComparisonOperator":"EQUALS"}}}}}`:     false,
		`{"Filter":{"X509AttributeFilter":{"Subject":{"CommonName":{"Value":"Inc.","ComparisonOperator":"CONTAINS"}}}}}`:      false,
	} {
		s, err := Parse([]byte(stmt))
		if err != nil {
			t.Fatal(err)
		}
		if got := s.Match(x); got != want {
			t.Errorf("%s: got %v, want %v", stmt, got, want)
		}
	}
	st, err := ParseTerse(`cn:smith,*`, now)
	if err != nil || !st.Match(x) {
		t.Errorf("cn:smith,* does not match %q (%v)", c.Subject, err)
	}
}

// TestTimeRangeTakesDates (tester: a date gave Go's layout string and
// "cannot parse"): a time range's ends are RFC 3339 timestamps or dates
// (midnight UTC); anything else, or a member in another case, is refused
// saying what is wanted.
func TestTimeRangeTakesDates(t *testing.T) {
	s, err := Parse([]byte(`{"Filter":{"X509AttributeFilter":{"NotAfter":{"Start":"2026-12-01","End":"2026-12-31T00:00:00Z"}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	r := s.Filter.X509AttributeFilter.NotAfter
	if !r.Start.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) || !r.End.Equal(time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("range %v to %v", r.Start, r.End)
	}
	if !s.Match(&Subject{Cert: cert()}) {
		t.Error("the certificate expiring 2026-12-13 is not in the range")
	}
	// null is an open end.
	s, err = Parse([]byte(`{"Filter":{"X509AttributeFilter":{"NotAfter":{"Start":null,"End":"2026-12-31"}}}}`))
	if err != nil || s.Filter.X509AttributeFilter.NotAfter.Start != nil || !s.Match(&Subject{Cert: cert()}) {
		t.Errorf("a null Start: %v", err)
	}
	for in, want := range map[string]string{
		`{"Start":"2027-01-01 00:00"}`: `Start "2027-01-01 00:00" is not a time: give an RFC 3339 timestamp`,
		`{"End":5}`:                    "End: want a string",
		// An offset RFC 3339 does not allow (tester: read as a day's shift).
		`{"Start":"2026-12-05T10:05:58+24:00"}`: `Start "2026-12-05T10:05:58+24:00" is not a time`,
		`{"start":"2027-01-01"}`:                `unknown field "start"`,
		`"2027-01-01"`:                          `take {"Start": T, "End": T}`,
	} {
		_, err := Parse([]byte(`{"Filter":{"X509AttributeFilter":{"NotBefore":` + in + `}}}`))
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "2006-01-02") {
			t.Errorf("NotBefore %s: %v, want %q", in, err, want)
		}
	}
}

// TestTagConditionQuotedAsGiven (review): a tag term refused is quoted as
// it was typed, without an "=" the user did not type.
func TestTagConditionQuotedAsGiven(t *testing.T) {
	if _, err := ParseTerse("tag:e*", now); err == nil || !strings.Contains(err.Error(), `"e*"`) || strings.Contains(err.Error(), `"e*="`) {
		t.Errorf("tag:e*: %v", err)
	}
}

// TestUsageNamesAsList (tester): eku: and ku: match as list's
// --extended-key-usage and --key-usage do — NONE is a certificate without
// the extension (it matched nothing), ANY a certificate with any key usage
// (it was refused) — and by OID as before.
func TestUsageNamesAsList(t *testing.T) {
	withEKU, without := cert(), cert()
	without.ExtendedKeyUsages, without.KeyUsages = nil, nil
	cases := []struct {
		q          string
		with, none bool
	}{
		{"eku:NONE", false, true},
		{"eku:TLS_WEB_SERVER_AUTHENTICATION", true, false},
		{"eku:1.3.6.1.5.5.7.3.1", true, false},
		{"ku:ANY", true, false},
		{"ku:DIGITAL_SIGNATURE", true, false},
		{"ku:CUSTOM", false, false},
		{"-eku:NONE", true, false},
	}
	for _, c := range cases {
		s, err := ParseTerse(c.q, now)
		if err != nil {
			t.Errorf("ParseTerse(%q): %v", c.q, err)
			continue
		}
		if got := s.Match(&Subject{Cert: withEKU}); got != c.with {
			t.Errorf("%q on a certificate with the extensions: got %v, want %v", c.q, got, c.with)
		}
		if got := s.Match(&Subject{Cert: without}); got != c.none {
			t.Errorf("%q on a certificate without them: got %v, want %v", c.q, got, c.none)
		}
	}
	st, err := Parse([]byte(`{"Filter":{"X509AttributeFilter":{"KeyUsage":"ANY"}}}`))
	if err != nil || !st.Match(&Subject{Cert: withEKU}) {
		t.Errorf("KeyUsage ANY in a statement: %v", err)
	}
}
