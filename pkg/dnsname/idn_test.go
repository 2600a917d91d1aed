package dnsname

import "testing"

func TestASCIIPattern(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"bücher.example", "xn--bcher-kva.example", true},
		{"*.bücher.example", "*.xn--bcher-kva.example", true},
		{"Bücher.example", "xn--bcher-kva.example", true},
		{"www.example", "", false},
		{"bü*.example", "", false},
		{"b\xffcher.example", "", false},
	} {
		got, ok := ASCIIPattern(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("ASCIIPattern(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}
