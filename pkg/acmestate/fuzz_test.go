package acmestate

import (
	"strings"
	"testing"
)

// FuzzNormalizeDomain: NormalizeDomain never panics, and what it accepts is
// lower case, without a trailing dot or wildcard, and a fixed point.
func FuzzNormalizeDomain(f *testing.F) {
	for _, s := range []string{"lab.test", "Lab.Test.", "*.lab.test", "bad..name", "", ".", "xn--bcher-kva.example", " a.b ", "a_b.test", strings.Repeat("a.", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := NormalizeDomain(s)
		if err != nil {
			return
		}
		if n != strings.ToLower(n) || strings.HasSuffix(n, ".") || strings.Contains(n, "*") || n == "" {
			t.Fatalf("NormalizeDomain(%q) = %q", s, n)
		}
		if again, err := NormalizeDomain(n); err != nil || again != n {
			t.Fatalf("NormalizeDomain(%q) = %q, then %q, %v", s, n, again, err)
		}
		ds := []*Domain{{DomainName: n, Status: DomainValid}}
		if !Approved(ds, n) || !Approved(ds, "*."+n) || !Approved(ds, "www."+n) || Approved(ds, "x"+n) {
			t.Fatalf("Approved disagrees for %q", n)
		}
	})
}
