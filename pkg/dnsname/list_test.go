package dnsname

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestValidateListNormalisesAndDedupes(t *testing.T) {
	got, err := ValidateList([]string{
		"Example.COM", "www.example.com", "example.com", "*.Example.com", "WWW.example.com", "*.example.com",
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"example.com", "www.example.com", "*.example.com"}
	if !slices.Equal(got, want) {
		t.Fatalf("ValidateList = %q, want %q", got, want)
	}
}

func TestValidateListRejects(t *testing.T) {
	long := nameOfLength(t, 65)
	tests := []struct {
		desc  string
		names []string
		bad   string // the Name of the error
		rule  string
	}{
		{"no names", nil, "", RuleNoNames},
		{"long common name", []string{long}, long, "common name is at most 64 octets, this one is 65"},
		{"invalid SAN", []string{"example.com", "a*.example.com"}, "a*.example.com", RuleWildcardPosition},
		{"public suffix SAN", []string{"example.com", "co.uk"}, "co.uk", RulePublicSuffix},
		{"Unicode folded to ASCII", []string{"\u212a.example.com"}, "\u212a.example.com", "Unicode"},
	}
	for _, tt := range tests {
		got, err := ValidateList(tt.names, 0)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: ValidateList = %q, %v, want *Error", tt.desc, got, err)
			continue
		}
		if got != nil || e.Name != tt.bad || !strings.Contains(e.Rule, tt.rule) {
			t.Errorf("%s: ValidateList = %q, %+v, want Name %q and rule %q", tt.desc, got, e, tt.bad, tt.rule)
		}
	}
	// A long name is fine as a SAN, just not as the common name.
	if _, err := ValidateList([]string{"example.com", long}, 0); err != nil {
		t.Errorf("long SAN rejected: %v", err)
	}
}

func names(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("n%d.example.com", i)
	}
	return out
}

func TestValidateListQuota(t *testing.T) {
	tests := []struct {
		n, quota int
		rule     string // "" when accepted
	}{
		{10, 0, ""},
		{11, 0, "too many names: 11 distinct, at most 10 a certificate"},
		{10, -1, ""},
		{11, -5, "too many names: 11 distinct, at most 10 a certificate"},
		{3, 3, ""},
		{4, 3, "too many names: 4 distinct, at most 3 a certificate"},
		{100, 100, ""},
		{101, 100, "too many names: 101 distinct, at most 100 a certificate"},
		{101, 500, "too many names: 101 distinct, at most 100 a certificate"}, // capped at MaxQuota
	}
	for _, tt := range tests {
		got, err := ValidateList(names(tt.n), tt.quota)
		if tt.rule == "" {
			if err != nil || len(got) != tt.n {
				t.Errorf("%d names, quota %d: got %d names, %v", tt.n, tt.quota, len(got), err)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Rule != tt.rule {
			t.Errorf("%d names, quota %d: err = %v, want rule %q", tt.n, tt.quota, err, tt.rule)
		}
		// The message names no name: none of them is at fault.
		if err != nil && strings.Contains(err.Error(), "example.com") {
			t.Errorf("%d names, quota %d: %q names a name", tt.n, tt.quota, err)
		}
	}
	// Duplicates do not count against the quota.
	in := append(names(10), names(10)...)
	if got, err := ValidateList(in, 10); err != nil || len(got) != 10 {
		t.Errorf("10 distinct names given twice: got %d, %v", len(got), err)
	}
}
