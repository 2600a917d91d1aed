package casign

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
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
