package dnsname

import "strings"

// Normalize returns name with ASCII letters in lower case. Other bytes are
// left alone: Unicode case folding could map a non-ASCII character to an
// ASCII one (KELVIN SIGN to "k") and hide it from Validate.
func Normalize(name string) string {
	i := 0
	for i < len(name) && !isUpper(name[i]) {
		i++
	}
	if i == len(name) {
		return name
	}
	b := []byte(name)
	for ; i < len(b); i++ {
		if isUpper(b[i]) {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

// IsWildcard reports whether name begins with the wildcard label "*.".
func IsWildcard(name string) bool {
	return strings.HasPrefix(name, "*.")
}

// Base returns name without a leading wildcard label: "*.example.com" gives
// "example.com"; any other name is returned as it is.
func Base(name string) string {
	return strings.TrimPrefix(name, "*.")
}

// Covers reports whether a validation of the domain approved also approves
// name: name equals approved, is a subdomain of it, or is a wildcard whose
// base is one of those ("*.example.com" and "*.www.example.com" are covered
// by "example.com"). Comparison ignores ASCII case. An approved name that is
// itself a wildcard covers only that same wildcard. Covers does not validate:
// callers check both names with Validate first.
func Covers(approved, name string) bool {
	a, n := Normalize(approved), Normalize(name)
	if a == "" || n == "" {
		return false
	}
	if n == a {
		return true
	}
	if IsWildcard(a) {
		return false
	}
	// A subdomain, a wildcard under approved ("*." + approved) or a
	// wildcard under a subdomain all end in "." + approved.
	return strings.HasSuffix(n, "."+a)
}
