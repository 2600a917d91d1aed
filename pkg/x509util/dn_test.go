package x509util

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"sort"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	tests := []struct {
		dn   string
		cn   string
		back string // FormatName of the parsed name, when not dn itself
	}{
		{dn: `CN=Smith\, John`, cn: "Smith, John"},
		{dn: `CN=Smith\, John,O=Example\, Inc.,C=US`, cn: "Smith, John"},
		{dn: `CN=\ #lead\+trail\ `, cn: " #lead+trail "},
		{dn: `CN=\#x\;\<y\>`, cn: "#x;<y>"},
		{dn: `CN=a=b\\c\"d`, cn: `a=b\c"d`},
		{dn: `CN=café`, cn: "café"},
		{dn: `CN=caf\C3\A9`, cn: "café", back: `CN=café`},
		{dn: `cn=lower`, cn: "lower", back: `CN=lower`},
		{dn: `O=a+O=b,C=DE`},
		{dn: `CN=www.example.test,EMAILADDRESS=ops@example.test`, cn: "www.example.test"},
		{dn: `2.5.4.3=#0c0b536d6974682c204a6f686e`, cn: "Smith, John", back: `CN=Smith\, John`},
		{dn: `CN=x,1.2.3.4=#020105`, cn: "x"},
		{dn: ``},
	}
	for _, tt := range tests {
		n, err := ParseName(tt.dn)
		if err != nil {
			t.Errorf("ParseName(%q): %v", tt.dn, err)
			continue
		}
		if n.CommonName != tt.cn || CommonName(tt.dn) != tt.cn {
			t.Errorf("ParseName(%q).CommonName = %q (CommonName: %q), want %q", tt.dn, n.CommonName, CommonName(tt.dn), tt.cn)
		}
		want := tt.back
		if want == "" {
			want = tt.dn
		}
		if got := FormatName(n); got != want {
			t.Errorf("FormatName(ParseName(%q)) = %q, want %q", tt.dn, got, want)
		}
	}
	for _, bad := range []string{"CN", "=x", "CN=a,", "CN=a,b", `CN=a\`, `CN=a\x`, "XX=1", "CN=#zz", "CN=#0c05ab", "CN=a++O=b", "1.2=x,+", "CN=\xab", `CN=\C3`} {
		if _, err := ParseName(bad); err == nil {
			t.Errorf("ParseName(%q) accepted", bad)
		}
		if CommonName(bad) != "" {
			t.Errorf("CommonName(%q) is not empty", bad)
		}
	}
}

// Every name FormatName renders parses back to the same attributes.
func TestParseNameRoundTrip(t *testing.T) {
	emailOID := asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	names := []pkix.Name{
		{CommonName: "Smith, John"},
		{CommonName: `Smith\, John`},
		{CommonName: "a+b", Organization: []string{"O, Inc.", "Other"}, OrganizationalUnit: []string{"<ou>"}, Country: []string{"US"}, SerialNumber: "42"},
		{CommonName: "  spaced  ", Locality: []string{"#hash"}, Province: []string{";semi"}, StreetAddress: []string{`"quoted"`}, PostalCode: []string{"\\"}},
		{CommonName: "日本語", ExtraNames: []pkix.AttributeTypeAndValue{{Type: emailOID, Value: "a,b@example.test"}}},
		{CommonName: "x", ExtraNames: []pkix.AttributeTypeAndValue{{Type: asn1.ObjectIdentifier{1, 2, 3, 4}, Value: 7}}},
	}
	for _, n := range names {
		s := FormatName(n)
		back, err := ParseName(s)
		if err != nil {
			t.Errorf("ParseName(%q): %v", s, err)
			continue
		}
		if back.CommonName != n.CommonName {
			t.Errorf("%q: CommonName %q, want %q", s, back.CommonName, n.CommonName)
		}
		if got, want := attributes(back.Names), attributes(flatten(n.ToRDNSequence())); got != want {
			t.Errorf("ParseName(%q) has attributes %s, want %s", s, got, want)
		}
	}
}

func flatten(seq pkix.RDNSequence) []pkix.AttributeTypeAndValue {
	var out []pkix.AttributeTypeAndValue
	for _, rdn := range seq {
		out = append(out, rdn...)
	}
	return out
}

// attributes renders atvs sorted, so that two names with the same
// attributes in another order compare equal.
func attributes(atvs []pkix.AttributeTypeAndValue) string {
	var s []string
	for _, a := range atvs {
		s = append(s, fmt.Sprintf("%s=%#v", a.Type, a.Value))
	}
	sort.Strings(s)
	return strings.Join(s, "; ")
}

func FuzzParseName(f *testing.F) {
	for _, s := range []string{`CN=Smith\, John,O=Example,C=US`, `CN=\ #a\+b\ `, `O=a+O=b`, `2.5.4.3=#0c0161`, `CN=caf\C3\A9`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		// What parses renders, and the rendering parses to the same CN.
		back, err := ParseName(FormatName(n))
		if err != nil {
			t.Fatalf("ParseName(FormatName(ParseName(%q))) = %q: %v", s, FormatName(n), err)
		}
		if back.CommonName != n.CommonName {
			t.Fatalf("%q: CommonName %q then %q", s, n.CommonName, back.CommonName)
		}
	})
}

// TestSubjectAsEncoded: a subject is rendered RDN by RDN as encoded, last
// first (RFC 4514) — four OU RDNs stay four, in their order, where
// pkix.Name regrouped them into one multi-valued RDN (tester: the audit
// report's subject "CN=…,OU=One+OU=Two+OU=Three+OU=Four,O=…,C=DE") —
// and a subject that does not parse falls back to the parsed name.
func TestSubjectAsEncoded(t *testing.T) {
	atv := func(oid []int, v string) pkix.RelativeDistinguishedNameSET {
		return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}}
	}
	rdns := pkix.RDNSequence{
		atv([]int{2, 5, 4, 3}, "Jürgen Müller"), // CN first, as some tools encode it
		atv([]int{2, 5, 4, 10}, "Acme, Inc."),
		atv([]int{2, 5, 4, 11}, "One"), atv([]int{2, 5, 4, 11}, "Two"),
		atv([]int{2, 5, 4, 11}, "Three"), atv([]int{2, 5, 4, 11}, "Four"),
		atv([]int{2, 5, 4, 6}, "DE"),
	}
	raw, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	c := &x509.Certificate{RawSubject: raw, RawIssuer: raw}
	want := `C=DE,OU=Four,OU=Three,OU=Two,OU=One,O=Acme\, Inc.,CN=Jürgen Müller`
	if got := Subject(c); got != want {
		t.Errorf("Subject = %q, want %q", got, want)
	}
	if got := Issuer(c); got != want {
		t.Errorf("Issuer = %q, want %q", got, want)
	}
	bad := &x509.Certificate{RawSubject: []byte{0x30, 0x03, 0x31}, Subject: pkix.Name{CommonName: "fallback"}}
	if got := Subject(bad); got != "CN=fallback" {
		t.Errorf("unparsable subject: %q", got)
	}
}
