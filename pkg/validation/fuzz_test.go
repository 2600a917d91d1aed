package validation

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"strings"
	"testing"
)

func FuzzParseDomainValidationOption(f *testing.F) {
	for _, s := range []string{"DomainName=www.example.test,ValidationDomain=example.test", "ValidationDomain=a,DomainName=b",
		"DomainName=", ",,", "domainname=A.test,validationdomain=*.test", "DomainName=a=b,ValidationDomain=c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseDomainValidationOption(s)
		if err != nil {
			return
		}
		if o.DomainName == "" || o.ValidationDomain == "" {
			t.Fatalf("%q parsed to %+v", s, o)
		}
		// Whatever parses either passes the name rules or is refused, without panicking.
		if vds, err := ValidationDomains([]string{o.DomainName}, []DomainValidationOption{o}); err == nil {
			if _, ok := vds[o.DomainName]; !ok && vds[strings.ToLower(o.DomainName)] == "" {
				t.Fatalf("%q: %v", s, vds)
			}
		}
	})
}

func FuzzTargetMatches(f *testing.F) {
	for _, s := range []string{"_abc.zone.example.", "ABC.zone.example", "_abc.zone.example.origin.", "", ".", "_", "__abc.zone.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, got string) {
		n := NormalizeTarget(got)
		if strings.HasSuffix(n, ".") && !strings.HasSuffix(strings.TrimSpace(got), "..") {
			t.Fatalf("%q normalised to %q", got, n)
		}
		if NormalizeTarget("_"+n+".") != n {
			t.Fatalf("%q: the underscore and the dot are not optional", got)
		}
		want := "_abc.zone.example."
		if TargetMatches(got, want) != TargetMatches(strings.ToUpper(got), want) && isASCII(got) {
			t.Fatalf("%q: case matters", got)
		}
		if TargetMatches(got, want) && !strings.Contains(strings.ToLower(got), "abc.zone.example") {
			t.Fatalf("%q matched %q", got, want)
		}
	})
}

func FuzzParseCAAValue(f *testing.F) {
	for _, s := range []string{"ca.example", ";", "ca.example; account=1", " CA.example. ;a=b;c=d", "ca..x", "x;=y", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParseCAAValue(s)
		if err != nil {
			return
		}
		if strings.ContainsAny(p.Issuer, "; \t") || p.Issuer != strings.ToLower(p.Issuer) {
			t.Fatalf("%q: issuer %q", s, p.Issuer)
		}
	})
}

func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"THIPGGZ6HRBR2JV6XLPMAFQO75EDKFED", "thipggz6-hrbr2jv6-xlpmafqo-75edkfed", "", "0000", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := NormalizeCode(s)
		if NormalizeCode(n) != n {
			t.Fatalf("%q: not idempotent", s)
		}
		if validCodeSyntax(s) && (len(n) != 32 || codeID(s) != codeID(n)) {
			t.Fatalf("%q: valid but %q", s, n)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzParseACMEIdentifier: the acmeIdentifier value a tls-alpn-01 peer
// sends parses to a 32-byte digest that re-encodes to the same DER, or is
// refused, never a panic.
func FuzzParseACMEIdentifier(f *testing.F) {
	sum := sha256.Sum256([]byte("token.thumbprint"))
	good, _ := asn1.Marshal(sum[:])
	for _, s := range [][]byte{good, good[:10], append(append([]byte{}, good...), 0), {0x04, 0x00}, {0x04, 0x81, 0x20}, nil} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, value []byte) {
		d, ok := parseACMEIdentifier(value)
		if !ok {
			return
		}
		again, err := asn1.Marshal(d)
		if len(d) != sha256.Size || err != nil || !bytes.Equal(again, value) {
			t.Fatalf("%x parsed to %x", value, d)
		}
	})
}
