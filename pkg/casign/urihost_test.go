package casign

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"strings"
	"testing"
)

// uriHostCases are URIs and whether zlint's e_ext_san_uri_host_not_fqdn_or_ip
// passes them (checked against the zlint binary by TestURIHostMatchesZlint).
var uriHostCases = []struct {
	uri string
	ok  bool
}{
	{"spiffe://prod/ns/web/sa/api", false},
	{"https://intranet/x", false},
	{"https://localhost/", false},
	{"spiffe://prod.example/ns/web", true},
	{"spiffe://example.org/ns/x", true},
	{"spiffe://td_1.example/x", true},
	{"https://192.0.2.1/x", true},
	{"https://10.1.2.3:8443/", true},
	{"https://[2001:db8::1]/x", true},
	{"https://[2001:db8::1]:443/x", true},
	{"https://example.com:8443/p?q=1#f", true},
	{"https://user@example.com/", true},
	{"https://example.com./", false},   // zlint passes it, crypto/x509 cannot read it
	{"https://bücher.example/", false}, // not an IA5String
	{"https://svc.ns.svc.cluster.local/", true},
	{"https://a.example/", true},
	{"https://1.2.3/", false},
	{"https://-a.example/", false},
	{"https://a..example/", false},
	{"https://_foo.example/", false},
	{"https://x.a.example/", false}, // zlint's pattern, not RFC 1034
	{"urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6", true},
	{"mailto:someone@example.com", true},
}

func TestURIHost(t *testing.T) {
	for _, c := range uriHostCases {
		u, err := url.Parse(c.uri)
		if err != nil {
			t.Fatal(err)
		}
		if got := uriHostOK(u); got != c.ok {
			t.Errorf("uriHostOK(%s) = %v, want %v", c.uri, got, c.ok)
		}
	}
}

// uriLeaf is a leaf for app.example.test that also names uri, signed as
// Sign signs whatever it is given (the check lives in Build); nil when
// crypto/x509 cannot make or read it.
func uriLeaf(t *testing.T, h hierarchy, uri *url.URL) *x509.Certificate {
	t.Helper()
	key := cachedKey(t, "EC_prime256v1", "leaf")
	tmpl, err := LeafTemplate(LeafRequest{Names: []string{"app.example.test"}, PublicKey: key.Public(), Serial: mustSerial(t),
		Validity: Validity{testNow, testNow.AddDate(0, 0, 30)}})
	if err != nil {
		t.Fatal(err)
	}
	tmpl.URIs = []*url.URL{uri}
	c, err := Sign(tmpl, h.sub, key.Public(), h.subKey)
	if err != nil {
		return nil
	}
	return c
}

// uriHostOK says of each case what zlint's lint says of a certificate
// naming it.
func TestURIHostMatchesZlint(t *testing.T) {
	zlint := interopTool(t, "zlint")
	h := newHierarchy(t, "EC_prime256v1")
	dir := t.TempDir()
	for i, c := range uriHostCases {
		u, _ := url.Parse(c.uri)
		leaf := uriLeaf(t, h, u)
		if leaf == nil {
			if uriHostOK(u) {
				t.Errorf("%s: accepted, and crypto/x509 cannot make or read a certificate naming it", c.uri)
			}
			continue
		}
		path := writePEM(t, dir, "uri"+itoa(int64(i))+".pem", "CERTIFICATE", leaf.Raw)
		out := run(t, zlint, "-includeNames", "e_ext_san_uri_host_not_fqdn_or_ip", path)
		zlintOK := strings.Contains(out, `"result":"pass"`)
		if !zlintOK && !strings.Contains(out, `"result":"error"`) {
			t.Fatalf("zlint output for %s: %s", c.uri, out)
		}
		if zlintOK != uriHostOK(u) {
			t.Errorf("%s: zlint passes it %v, uriHostOK %v", c.uri, zlintOK, uriHostOK(u))
		}
	}
}

// A URI whose host is a single label is refused wherever URIs come in —
// the CSR and the API passthrough — naming the URI (exit 4 upstream).
func TestBuildRefusesURIHostNotFQDN(t *testing.T) {
	key := cachedKey(t, "EC_prime256v1", "csr")
	spiffe, _ := url.Parse("spiffe://prod/ns/web/sa/api")
	der, err := x509.CreateCertificateRequest(randReader(), &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Workload"}, URIs: []*url.URL{spiffe}}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	v := Validity{testNow, testNow.AddDate(0, 0, 1)}
	_, err = Build(Issue{CSR: csr, Template: PCAEndEntityClientAuth, Serial: mustSerial(t), Validity: v, Verified: true})
	var ne *NameError
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "spiffe://prod/ns/web/sa/api") || !strings.Contains(err.Error(), "fully qualified domain name or an IP address") {
		t.Errorf("CSR: %v", err)
	}

	plain, err := ParseCSR(makeCSR(t, key, pkix.Name{CommonName: "Workload"}, nil))
	if err != nil {
		t.Fatal(err)
	}
	pt, err := ParseAPIPassthrough([]byte(`{"Extensions":{"SubjectAlternativeNames":[{"UniformResourceIdentifier":"https://intranet/x"}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = Build(Issue{CSR: plain, Template: PCABlankAPIPassthrough, Serial: mustSerial(t), Validity: v, Passthrough: pt, Verified: true})
	if !errors.As(err, &ne) || !strings.Contains(err.Error(), "https://intranet/x") {
		t.Errorf("passthrough: %v", err)
	}

	fqdn, _ := url.Parse("spiffe://prod.example/ns/web/sa/api")
	der, err = x509.CreateCertificateRequest(randReader(), &x509.CertificateRequest{Subject: pkix.Name{CommonName: "Workload"}, URIs: []*url.URL{fqdn}}, key)
	if err != nil {
		t.Fatal(err)
	}
	if csr, err = ParseCSR(der); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(Issue{CSR: csr, Template: PCAEndEntityClientAuth, Serial: mustSerial(t), Validity: v, Verified: true}); err != nil {
		t.Errorf("a URI with an FQDN host: %v", err)
	}
}

// FuzzURIHost: any URI, no panic, and a host certctl accepts is one zlint's
// pattern matches or an IP address.
func FuzzURIHost(f *testing.F) {
	for _, c := range uriHostCases {
		f.Add(c.uri)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		_ = uriHostOK(u)
	})
}
