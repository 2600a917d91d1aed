package acmeserver

import (
	"strings"
	"testing"
)

func FuzzParseJWS(f *testing.F) {
	f.Add([]byte(`{"protected":"eyJhbGciOiJFUzI1NiJ9","payload":"","signature":"AAAA"}`))
	f.Add([]byte(`{"protected":"eyJhbGciOiJub25lIn0","payload":"e30","signature":""}`))
	f.Add([]byte(`{"signatures":[]}`))
	f.Add([]byte(`eyJhbGciOiJFUzI1NiJ9.e30.AAAA`))
	f.Fuzz(func(t *testing.T, b []byte) {
		jws, h, p := parseJWS(b)
		if p == nil && (jws == nil || h == nil || len(jws.Signatures) != 1) {
			t.Fatal("accepted JWS without exactly one signature")
		}
	})
}

func FuzzCheckContacts(f *testing.F) {
	f.Add("mailto:a@b.test", true)
	f.Add("mailto:a@b.test?subject=x", false)
	f.Add("tel:+1", false)
	f.Add("MAILTO:a@b.test", false)
	f.Fuzz(func(t *testing.T, c string, req bool) {
		kept, p := checkContacts([]string{c, c}, req)
		if p == nil && len(c) < 8 {
			t.Fatalf("accepted %q", c)
		}
		if p == nil && (len(kept) != 1 || !strings.HasPrefix(kept[0], "mailto:")) {
			t.Fatalf("kept %q of %q twice", kept, c)
		}
	})
}
