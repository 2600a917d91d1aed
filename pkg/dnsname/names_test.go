package dnsname

import "testing"

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"":                "",
		"example.com":     "example.com",
		"WWW.Example.COM": "www.example.com",
		"*.EXAMPLE.com":   "*.example.com",
		"\u212a.COM":      "\u212a.com", // KELVIN SIGN is not folded to "k"
		"BÜCHER.example":  "bÜcher.example",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBaseAndIsWildcard(t *testing.T) {
	for _, tt := range []struct {
		name, base string
		wildcard   bool
	}{
		{"*.example.com", "example.com", true},
		{"example.com", "example.com", false},
		{"*example.com", "*example.com", false},
		{"*", "*", false},
		{"a.*.example.com", "a.*.example.com", false},
	} {
		if got := Base(tt.name); got != tt.base {
			t.Errorf("Base(%q) = %q, want %q", tt.name, got, tt.base)
		}
		if got := IsWildcard(tt.name); got != tt.wildcard {
			t.Errorf("IsWildcard(%q) = %v, want %v", tt.name, got, tt.wildcard)
		}
	}
}

func TestCovers(t *testing.T) {
	for _, tt := range []struct {
		approved, name string
		want           bool
	}{
		{"example.com", "example.com", true},
		{"example.com", "www.example.com", true},
		{"example.com", "a.b.example.com", true},
		{"example.com", "*.example.com", true},
		{"example.com", "*.www.example.com", true},
		{"Example.COM", "WWW.example.com", true},
		{"example.com", "badexample.com", false},
		{"example.com", "*.badexample.com", false},
		{"example.com", "example.org", false},
		{"example.com", "com", false},
		{"example.com", "example.com.evil.net", false},
		{"www.example.com", "example.com", false},
		{"www.example.com", "*.example.com", false},
		{"*.example.com", "*.example.com", true},
		{"*.example.com", "www.example.com", false},
		{"*.example.com", "example.com", false},
		{"", "example.com", false},
		{"example.com", "", false},
	} {
		if got := Covers(tt.approved, tt.name); got != tt.want {
			t.Errorf("Covers(%q, %q) = %v, want %v", tt.approved, tt.name, got, tt.want)
		}
	}
}
