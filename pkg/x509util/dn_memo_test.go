package x509util

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

// TestSubjectMemo: the remembered rendering is used only for the same
// encoded name; names taking turns each render as themselves.
func TestSubjectMemo(t *testing.T) {
	cert := func(cn string) *x509.Certificate {
		n := pkix.Name{CommonName: cn}
		raw, err := asn1.Marshal(n.ToRDNSequence())
		if err != nil {
			t.Fatal(err)
		}
		return &x509.Certificate{RawSubject: raw, Subject: n, RawIssuer: raw, Issuer: n}
	}
	a, b := cert("a.example.test"), cert("b.example.test")
	for i, c := range []struct {
		cert *x509.Certificate
		want string
	}{{a, "CN=a.example.test"}, {a, "CN=a.example.test"}, {b, "CN=b.example.test"}, {a, "CN=a.example.test"}, {b, "CN=b.example.test"}} {
		if got := Subject(c.cert); got != c.want {
			t.Errorf("%d: Subject %q, want %q", i, got, c.want)
		}
		if got := Issuer(c.cert); got != c.want {
			t.Errorf("%d: Issuer %q, want %q", i, got, c.want)
		}
	}
	// No encoding: rendered from the parsed name, nothing remembered.
	if got := Subject(&x509.Certificate{Subject: pkix.Name{CommonName: "parsed"}}); got != "CN=parsed" {
		t.Errorf("without RawSubject: %q", got)
	}
}
