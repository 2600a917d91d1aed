package arn

import (
	"strings"
	"testing"
)

func TestFormatParse(t *testing.T) {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	s := Format(Certificate, "local", "000000000000", id)
	if s != "arn:certctl:acm:local:000000000000:certificate/"+id {
		t.Fatalf("Format = %s", s)
	}
	a, err := Parse(s)
	if err != nil || a.ID != id || a.Kind != Certificate || a.Region != "local" {
		t.Fatalf("Parse = %+v, %v", a, err)
	}
	ca := Format(CertificateAuthority, "eu", "1", id)
	if _, err := Parse(ca); err != nil {
		t.Fatal(err)
	}
	if _, err := Parse("arn:certctl:acm:local:0:certificate-authority/" + id); err == nil {
		t.Fatal("wrong service for kind accepted")
	}
	// The ARN of a certificate a CA issued (ca issue) is not an
	// inventory ARN, and the refusal says which commands take it.
	if _, err := Parse(ca + "/certificate/7f3a"); err == nil || !strings.Contains(err.Error(), "ca revoke-certificate") {
		t.Fatalf("issued certificate's ARN: %v", err)
	}
	if _, err := Parse("arn:x/certificate/7f3a"); err == nil || strings.Contains(err.Error(), "ca revoke-certificate") {
		t.Fatalf("not an ARN: %v", err)
	}
}

func TestIDOf(t *testing.T) {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	cases := []struct {
		in   string
		want Ref
		ok   bool
	}{
		{id, Ref{ID: id, Exact: true}, true},
		{"0F8FAD5B", Ref{ID: "0f8fad5b"}, true},
		{Format(Certificate, "r", "a", id), Ref{ID: id, Exact: true, FullARN: true, Region: "r", Account: "a"}, true},
		{" " + Format(Certificate, "eu-west-1", "111111111111", strings.ToUpper(id)) + "\n", Ref{ID: id, Exact: true, FullARN: true, Region: "eu-west-1", Account: "111111111111"}, true},
		// A full ARN cut short (half pasted) is no prefix: only a bare
		// UUID prefix is (tester: delete acted on one).
		{Format(Certificate, "eu-west-1", "111111111111", id[:8]), Ref{}, false},
		{Format(Certificate, "r", "a", id[:35]), Ref{}, false},
		{Format(Certificate, "r", "a", id[:8]+"x"+id[9:]), Ref{}, false},
		{Format(CertificateAuthority, "r", "a", id), Ref{}, false},
		{"0f8fa", Ref{}, false},
		{"hello!", Ref{}, false},
		// A leading hyphen begins no UUID (tester: looked up, not found).
		{"-993cfa", Ref{}, false},
		{"0000000000", Ref{ID: "0000000000"}, true},
		{"", Ref{}, false},
	}
	for _, c := range cases {
		got, err := IDOf(Certificate, c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("IDOf(%q) = %+v, %v", c.in, got, err)
		}
	}
}

func TestIDOfWrongKindMessage(t *testing.T) {
	id := "0f8fad5b-d9cb-469f-a165-70867728950e"
	_, err := IDOf(Certificate, Format(AcmeEndpoint, "r", "a", id))
	if err == nil || !strings.Contains(err.Error(), "is an acme-endpoint ARN, not a certificate ARN") {
		t.Errorf("got %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add("arn:certctl:acm:local:000000000000:certificate/0f8fad5b-d9cb-469f-a165-70867728950e")
	f.Add("arn:certctl:acm-pca:x:y:certificate-authority/abc")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := Parse(s)
		if err == nil {
			if _, err := Parse(Format(a.Kind, a.Region, a.Account, a.ID)); err != nil {
				t.Fatalf("formatted ARN of %q does not parse: %v", s, err)
			}
		}
	})
}

func TestCheckComponent(t *testing.T) {
	for _, ok := range []string{"local", "eu-west-1", "000000000000", "A.b_c-9", strings.Repeat("x", 64)} {
		if err := CheckComponent(ok); err != nil {
			t.Errorf("CheckComponent(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", strings.Repeat("x", 65), "a:b", "a/b", "a b", "a\x1b[31m", "é"} {
		if err := CheckComponent(bad); err == nil {
			t.Errorf("CheckComponent(%q) accepted", bad)
		}
	}
}
