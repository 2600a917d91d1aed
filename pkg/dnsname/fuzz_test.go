package dnsname

import (
	"errors"
	"strings"
	"testing"
)

func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		"example.com", "*.example.com", "xn--bcher-kva.example", "xn--example.com", "ab--cd.example.com",
		"bücher.example", "192.0.2.1", "::1", "com", "co.uk", "*.co.uk", "www.example", "test",
		"example.com.", "a..b", "-a.com", "0a.xn--4dbrk0ce.example.com", "xn--collegi-xma.example",
		"\u212a.example.com", "WWW.EXAMPLE.COM", strings.Repeat("a", 64) + ".com", "*", "",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, name string) {
		err := Validate(name)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Rule == "" || e.Name != name {
				t.Fatalf("Validate(%q) = %#v, want *Error naming the input and a rule", name, err)
			}
			return
		}
		n := Normalize(name)
		if len(n) > MaxNameLength {
			t.Fatalf("accepted %q of %d octets", name, len(n))
		}
		for i, label := range strings.Split(n, ".") {
			if label == "" || len(label) > MaxLabelLength {
				t.Fatalf("accepted %q with label %q", name, label)
			}
			if label == "*" && i != 0 {
				t.Fatalf("accepted %q with a wildcard not leftmost", name)
			}
		}
		for i := 0; i < len(n); i++ {
			if n[i] >= 0x80 || n[i] >= 'A' && n[i] <= 'Z' {
				t.Fatalf("accepted %q whose normal form %q is not lower-case ASCII", name, n)
			}
		}
		if err := Validate(n); err != nil {
			t.Fatalf("accepted %q but not its normal form: %v", name, err)
		}
		if !Covers(Base(n), n) {
			t.Fatalf("Covers(Base(%q), itself) = false", n)
		}
	})
}
