package authority

import (
	"testing"
	"unicode/utf8"
)

func TestParseSubject(t *testing.T) {
	s, err := ParseSubject(`CN=Example Root, O=Example\, Inc.,OU=PKI,C=us,ST=Bavaria,L=Munich`)
	if err != nil {
		t.Fatal(err)
	}
	want := Subject{CommonName: "Example Root", Organization: "Example, Inc.", OrganizationalUnit: "PKI", Country: "US", State: "Bavaria", Locality: "Munich"}
	if s != want {
		t.Fatalf("got %+v", s)
	}
	n := s.Name()
	if n.CommonName != "Example Root" || n.Organization[0] != "Example, Inc." || n.Province[0] != "Bavaria" {
		t.Fatalf("Name() = %+v", n)
	}
	for _, bad := range []string{"", "O=x", "CN=a,CN=b", "CN=a,X=y", "CN=a,C=USA", "CN=", "CN=a\\", "garbage", "CN=\xff\xfe", "CN=ok,O=\xc3"} {
		if _, err := ParseSubject(bad); err == nil {
			t.Errorf("ParseSubject(%q) accepted", bad)
		}
	}
}

func FuzzParseSubject(f *testing.F) {
	f.Add(`CN=Example Root, O=Example\, Inc.,C=US`)
	f.Add(`CN=a,OU=b,L=c,ST=d,SERIALNUMBER=1`)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseSubject(in)
		if err == nil && s.CommonName == "" {
			t.Fatalf("accepted %q without CN", in)
		}
		if err == nil && !utf8.ValidString(in) {
			t.Fatalf("accepted %q, which is not UTF-8", in)
		}
	})
}
