package dnsname

import (
	"strings"

	"golang.org/x/net/publicsuffix"
)

// reservedSuffixes are special-use and internal suffixes (RFC 2606, RFC 6761,
// RFC 6762, RFC 8375, ICANN's .internal) under which names are allowed
// although no public registry delegates them.
var reservedSuffixes = []string{
	"test", "example", "internal", "local", "lan", "localhost", "invalid", "home.arpa",
}

// underReservedSuffix reports whether the lower-case name is strictly under
// one of the reserved suffixes.
func underReservedSuffix(name string) bool {
	for _, s := range reservedSuffixes {
		if strings.HasSuffix(name, "."+s) {
			return true
		}
	}
	return false
}

// IsPublicSuffix reports whether name is itself a suffix under which others
// register names: an entry of the ICANN section of the Public Suffix List
// ("com", "co.uk", any "x.ck") or one of the reserved suffixes ("test",
// "home.arpa"). Entries of the list's private section ("github.io") are
// domains of their owners and do not count. A wildcard is not a suffix: pass
// Base(name). Comparison ignores ASCII case.
func IsPublicSuffix(name string) bool {
	n := Normalize(name)
	if n == "" {
		return false
	}
	for _, s := range reservedSuffixes {
		if n == s {
			return true
		}
	}
	return isICANNSuffix(n)
}

// isICANNSuffix reports whether the lower-case name is an entry of the ICANN
// section of the Public Suffix List.
func isICANNSuffix(name string) bool {
	suffix, icann := publicsuffix.PublicSuffix(name)
	return icann && suffix == name
}

// checkPublicDomain applies INVALID_PUBLIC_DOMAIN to the lower-case labels of
// name without its wildcard label. A suffix ("com", "*.co.uk") is reported
// as such, any other single label ("localhost", "test") as a single label.
func checkPublicDomain(name string, labels []string) *Error {
	base := strings.Join(labels, ".")
	switch {
	case underReservedSuffix(base):
		return nil
	case isICANNSuffix(base):
		return &Error{Name: name, Rule: RulePublicSuffix, Code: CodeInvalidPublicDomain}
	case len(labels) == 1:
		return &Error{Name: name, Rule: RuleSingleLabel, Code: CodeInvalidPublicDomain}
	case IsPublicSuffix(base):
		return &Error{Name: name, Rule: RulePublicSuffix, Code: CodeInvalidPublicDomain}
	}
	return nil
}
