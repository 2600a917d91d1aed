package inventory

import (
	"crypto/x509"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/certctl/certctl/internal/testpki"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// TestNamesMismatchKeepsRecordsOfBefore: a record written before email and
// URI names were kept (its DNS names alone) still matches its certificate
// (vault verify and renewal would otherwise call it altered); a record
// whose names really differ does not.
func TestNamesMismatchKeepsRecordsOfBefore(t *testing.T) {
	ca := testpki.NewRoot("Names Root", time.Now())
	leaf, _ := ca.Leaf(testpki.LeafOptions{Names: []string{"www.example.test"}})
	withURI := *leaf
	withURI.EmailAddresses = []string{"ops@example.test"}
	withURI.URIs = []*url.URL{{Scheme: "spiffe", Host: "example.test", Path: "/w"}}
	domain, sans := x509util.CertificateNames(&withURI)
	if !strings.Contains(strings.Join(sans, " "), "spiffe://example.test/w") {
		t.Fatalf("names %v", sans)
	}
	for _, tc := range []struct {
		name   string
		rec    *localstore.Certificate
		leaf   *x509.Certificate
		differ bool
	}{
		{"written now", &localstore.Certificate{DomainName: domain, SubjectAlternativeNames: sans}, &withURI, false},
		{"written before", &localstore.Certificate{DomainName: "www.example.test", SubjectAlternativeNames: []string{"www.example.test"}}, &withURI, false},
		{"altered", &localstore.Certificate{DomainName: "evil.example.test", SubjectAlternativeNames: []string{"evil.example.test"}}, &withURI, true},
		{"a name short", &localstore.Certificate{DomainName: "www.example.test", SubjectAlternativeNames: []string{"www.example.test", "ops@example.test"}}, &withURI, true},
	} {
		if got := NamesMismatch(tc.rec, tc.leaf); (got != "") != tc.differ {
			t.Errorf("%s: NamesMismatch = %q", tc.name, got)
		}
	}
}
