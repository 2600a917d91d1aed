package casign

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"net"
	"strings"
	"testing"
)

func TestCheckNameConstraints(t *testing.T) {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: "Corp CA"},
		PermittedDNSDomains: []string{"corp.test", ".lab.test"},
		ExcludedDNSDomains:  []string{"secret.corp.test"}}
	for name, ok := range map[string]bool{
		"corp.test":            true,
		"www.corp.test":        true,
		"*.lab.test":           true,
		"*.corp.test":          false, // it would match secret.corp.test
		"WWW.Corp.Test":        true,
		"lab.test":             false, // ".lab.test": subdomains only
		"a.lab.test":           true,
		"evil.test":            false,
		"notcorp.test":         false,
		"secret.corp.test":     false,
		"x.secret.corp.test":   false,
		"*.secret.corp.test":   false,
		"*.x.secret.corp.test": false,
	} {
		err := CheckNameConstraints([]*x509.Certificate{c}, &x509.Certificate{DNSNames: []string{name}})
		var nce *NameConstraintError
		if (err == nil) != ok || (err != nil && !errors.As(err, &nce)) {
			t.Errorf("%s: %v, want allowed=%v", name, err, ok)
		}
	}
	// A wildcard covering an excluded name is forbidden: *.corp.test
	// would match secret.corp.test.
	ex := &x509.Certificate{Subject: pkix.Name{CommonName: "X"}, ExcludedDNSDomains: []string{"secret.corp.test"}}
	if err := CheckNameConstraints([]*x509.Certificate{ex}, &x509.Certificate{DNSNames: []string{"*.corp.test"}}); err == nil {
		t.Errorf("*.corp.test allowed under an exclusion of secret.corp.test")
	} else if want := "the DNS name *.corp.test covers secret.corp.test, which the name constraints of CN=X exclude"; err.Error() != want {
		// Not "outside": it is within every permitted subtree (tester).
		t.Errorf("refusal %q, want %q", err, want)
	}
	if err := CheckNameConstraints([]*x509.Certificate{{}, nil}, &x509.Certificate{DNSNames: []string{"anything.test"}}); err != nil {
		t.Errorf("no constraints: %v", err)
	}
	// A Common Name that reads as a host name is held to the DNS
	// constraints too (an API passthrough Subject sets it alone); one
	// that does not is not.
	for cn, ok := range map[string]bool{"evil.other.test": false, "www.corp.test": true, "*.evil.test": false, "Corp Web Server": true, "alice": true} {
		err := CheckNameConstraints([]*x509.Certificate{c}, &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: []string{"www.corp.test"}})
		if (err == nil) != ok {
			t.Errorf("CN %q: %v, want allowed=%v", cn, err, ok)
		}
	}
}

// TestCheckNameConstraintsSubject: the subject's emailAddress attributes
// are held to the rfc822Name constraints (RFC 5280 4.2.1.10; OpenSSL
// refuses the chain otherwise), and every Common Name to the DNS ones —
// in a CSR's raw subject (two CNs: pkix.Name keeps the last) and in a
// template's ExtraNames (API passthrough).
func TestCheckNameConstraintsSubject(t *testing.T) {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: "Corp CA"},
		PermittedDNSDomains: []string{"corp.test"}, PermittedEmailAddresses: []string{"corp.test"}}
	raw := func(atvs ...pkix.AttributeTypeAndValue) []byte {
		var rdns pkix.RDNSequence
		for _, a := range atvs {
			rdns = append(rdns, pkix.RelativeDistinguishedNameSET{a})
		}
		b, err := asn1.Marshal(rdns)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	email := func(v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: v}
	}
	cn := func(v string) pkix.AttributeTypeAndValue {
		return pkix.AttributeTypeAndValue{Type: oidCommonName, Value: v}
	}
	for _, tc := range []struct {
		name string
		t    *x509.Certificate
		ok   bool
	}{
		{"raw subject email inside", &x509.Certificate{RawSubject: raw(cn("Alice"), email("alice@corp.test"))}, true},
		{"raw subject email outside", &x509.Certificate{RawSubject: raw(cn("Evil"), email("e@evil.example"))}, false},
		{"raw subject email outside, SAN inside", &x509.Certificate{RawSubject: raw(email("e@evil.example")), EmailAddresses: []string{"a@corp.test"}}, false},
		{"ExtraNames email outside", &x509.Certificate{Subject: pkix.Name{CommonName: "Evil", ExtraNames: []pkix.AttributeTypeAndValue{email("e@evil.example")}}}, false},
		{"ExtraNames email inside", &x509.Certificate{Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{email("b@corp.test")}}}, true},
		{"two CNs, the first outside", &x509.Certificate{RawSubject: raw(cn("www.evil.example"), cn("www.corp.test")), Subject: pkix.Name{CommonName: "www.corp.test"}}, false},
		{"two CNs inside", &x509.Certificate{RawSubject: raw(cn("a.corp.test"), cn("b.corp.test"))}, true},
		{"email not a string", &x509.Certificate{RawSubject: raw(pkix.AttributeTypeAndValue{Type: oidEmailAddress, Value: 7})}, false},
		{"raw subject that does not parse", &x509.Certificate{RawSubject: []byte{0x30, 0x05, 0x31}}, false},
	} {
		err := CheckNameConstraints([]*x509.Certificate{c}, tc.t)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want allowed=%v", tc.name, err, tc.ok)
		}
	}
}

func TestCheckDomainSubtree(t *testing.T) {
	ca := func(cn string, permitted, excluded []string) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: cn}, PermittedDNSDomains: permitted, ExcludedDNSDomains: excluded}
	}
	perm := ca("Perm CA", []string{"corp.test"}, nil)
	dotPerm := ca("Dot CA", []string{".lab.test"}, nil)
	excl := ca("Excl CA", nil, []string{"secret.corp.test"})
	dotExcl := ca("DotExcl CA", nil, []string{".sub.test"})
	openChild := ca("Open Child", nil, nil)
	_, ipNet, _ := net.ParseCIDR("10.0.0.0/8")
	ipOnly := &x509.Certificate{Subject: pkix.Name{CommonName: "IP CA"}, PermittedIPRanges: []*net.IPNet{ipNet}}
	for _, tc := range []struct {
		name string
		cas  []*x509.Certificate
		d    string
		// refusedBy is the CN of the CA that refuses d ("" when d is
		// allowed); excluded whether an exclusion does.
		refusedBy string
		excluded  bool
	}{
		{"permitted: equal", []*x509.Certificate{perm}, "corp.test", "", false},
		{"permitted: d below", []*x509.Certificate{perm}, "www.corp.test", "", false},
		{"permitted: d above", []*x509.Certificate{perm}, "test", "", false},
		{"permitted: case and root dot", []*x509.Certificate{perm}, "Corp.Test.", "", false},
		{"permitted: sibling", []*x509.Certificate{perm}, "other.test", "Perm CA", false},
		{"permitted: suffix, not a label", []*x509.Certificate{perm}, "notcorp.test", "Perm CA", false},
		{"permitted: d above by a partial label", []*x509.Certificate{perm}, "rp.test", "Perm CA", false},
		{"permitted: unrelated", []*x509.Certificate{perm}, "example.org", "Perm CA", false},
		{"leading-dot permitted: its own base", []*x509.Certificate{dotPerm}, "lab.test", "", false},
		{"leading-dot permitted: d below", []*x509.Certificate{dotPerm}, "a.lab.test", "", false},
		{"leading-dot permitted: d above", []*x509.Certificate{dotPerm}, "test", "", false},
		{"leading-dot permitted: sibling", []*x509.Certificate{dotPerm}, "xlab.test", "Dot CA", false},
		{"excluded: equal", []*x509.Certificate{excl}, "secret.corp.test", "Excl CA", true},
		{"excluded: d below", []*x509.Certificate{excl}, "x.secret.corp.test", "Excl CA", true},
		{"excluded: d above (its other names stay allowed)", []*x509.Certificate{excl}, "corp.test", "", false},
		{"excluded: sibling", []*x509.Certificate{excl}, "public.corp.test", "", false},
		{"leading-dot excluded: its own base stays allowed", []*x509.Certificate{dotExcl}, "sub.test", "", false},
		{"leading-dot excluded: d below", []*x509.Certificate{dotExcl}, "a.sub.test", "DotExcl CA", true},
		{"chain: parent permits, child open, sibling", []*x509.Certificate{openChild, perm}, "other.test", "Perm CA", false},
		{"chain: parent permits, child open, below", []*x509.Certificate{openChild, perm}, "www.corp.test", "", false},
		{"chain: child permits, parent excludes", []*x509.Certificate{ca("Child", []string{"secret.corp.test"}, nil), excl}, "secret.corp.test", "Excl CA", true},
		{"chain: both permit, d above both", []*x509.Certificate{ca("Child", []string{"a.corp.test"}, nil), perm}, "corp.test", "", false},
		{"chain: both permit, d only within the parent's", []*x509.Certificate{ca("Child", []string{"a.corp.test"}, nil), perm}, "b.corp.test", "Child", false},
		{"permitted and excluded: d within both", []*x509.Certificate{ca("Both", []string{"corp.test"}, []string{"secret.corp.test"})}, "x.secret.corp.test", "Both", true},
		// Constraints that each allow a name under d but none the same
		// one (review): the parent permits a.corp.test, the child
		// b.corp.test; or the parent excludes the only subtree the child
		// permits. Refused, naming the CA that refuses d itself.
		{"chain: permitted subtrees in different branches", []*x509.Certificate{ca("Child", []string{"b.corp.test", "other.test"}, nil), ca("Parent", []string{"a.corp.test", "other.test"}, nil)}, "corp.test", "Child", false},
		{"chain: the child's only permitted subtree excluded by the parent", []*x509.Certificate{ca("Child", []string{"secret.corp.test"}, nil), excl}, "corp.test", "Child", false},
		{"chain: branches meet at a permitted subtree within d", []*x509.Certificate{ca("Child", []string{"x.corp.test"}, nil), ca("Parent", []string{"corp.test"}, nil)}, "test", "", false},
		{"chain: leading-dot subtree within d, permitted by both", []*x509.Certificate{ca("Child", []string{".lab.corp.test"}, nil), perm}, "corp.test", "", false},
		{"one CA: its permitted subtree within d excluded, another left", []*x509.Certificate{ca("Both", []string{"a.corp.test", "b.corp.test"}, []string{"a.corp.test"})}, "corp.test", "", false},
		{"one CA: its only permitted subtree within d excluded", []*x509.Certificate{ca("Both", []string{"a.corp.test"}, []string{"a.corp.test"})}, "corp.test", "Both", false},
		{"IP constraints only", []*x509.Certificate{ipOnly}, "anything.test", "", false},
		{"no constraints", []*x509.Certificate{{}, nil}, "anything.test", "", false},
		{"empty permitted subtree: every name", []*x509.Certificate{ca("All", []string{""}, nil)}, "anything.test", "", false},
		{"empty excluded subtree: no name", []*x509.Certificate{ca("None", nil, []string{""})}, "anything.test", "None", true},
	} {
		err := CheckDomainSubtree(tc.cas, tc.d)
		if tc.refusedBy == "" {
			if err != nil {
				t.Errorf("%s: %s refused: %v", tc.name, tc.d, err)
			}
			continue
		}
		var de *DomainConstraintError
		if !errors.As(err, &de) {
			t.Errorf("%s: %s: %v, want a DomainConstraintError", tc.name, tc.d, err)
			continue
		}
		if de.CA != "CN="+tc.refusedBy || de.ByExclusion != tc.excluded {
			t.Errorf("%s: %s refused by %s (exclusion %v), want %s (exclusion %v)", tc.name, tc.d, de.CA, de.ByExclusion, tc.refusedBy, tc.excluded)
		}
	}
	// The message names the domain, the CA and the constraint.
	for err, want := range map[error][]string{
		CheckDomainSubtree([]*x509.Certificate{perm}, "other.test"):                                                                                 {"other.test", "CN=Perm CA", "permitted", "corp.test"},
		CheckDomainSubtree([]*x509.Certificate{excl}, "secret.corp.test"):                                                                           {"secret.corp.test", "CN=Excl CA", "excluded", "secret.corp.test"},
		CheckDomainSubtree([]*x509.Certificate{ca("None", nil, []string{""})}, "a.test"):                                                            {"a.test", "every name"},
		CheckDomainSubtree([]*x509.Certificate{ca("Child", []string{"b.corp.test"}, nil), ca("Parent", []string{"a.corp.test"}, nil)}, "corp.test"): {"corp.test", "together", "CN=Child"},
	} {
		for _, w := range want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%v: want %q in the message", err, w)
			}
		}
	}
}
