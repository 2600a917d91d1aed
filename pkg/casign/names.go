package casign

import (
	"crypto/x509/pkix"
	"fmt"
	"net"
	"strings"
	"unicode/utf8"

	"github.com/certctl/certctl/pkg/dnsname"
)

// maxCommonName is ub-common-name from RFC 5280 Appendix A.
const maxCommonName = 64

// ValidateSubject checks a distinguished name against the RFC 5280 upper
// bounds (ub-common-name and friends) so that a certificate built from it
// passes zlint. Values may not be empty or carry leading or trailing spaces,
// and C must be a two-letter code.
func ValidateSubject(n pkix.Name) error {
	cn, err := SubjectCommonName(n)
	if err != nil {
		return err
	}
	checks := []struct {
		attr   string
		values []string
		max    int
	}{
		{"CN", optional(cn), maxCommonName},
		{"SERIALNUMBER", optional(n.SerialNumber), 64},
		{"O", n.Organization, 64},
		{"OU", n.OrganizationalUnit, 64},
		{"L", n.Locality, 128},
		{"ST", n.Province, 128},
		{"STREET", n.StreetAddress, 128},
		{"POSTALCODE", n.PostalCode, 16},
	}
	for _, c := range checks {
		for _, v := range c.values {
			if err := checkAttribute(c.attr, v, c.max); err != nil {
				return err
			}
		}
	}
	for _, c := range n.Country {
		if len(c) != 2 || !isUpperAlpha(c) {
			return fmt.Errorf("subject C=%q must be a two-letter country code", c)
		}
	}
	return nil
}

// SubjectCommonName is the CN of n as a certificate with subject n would
// carry it ("" when it has none). n.CommonName alone does not say: a
// parsed subject keeps the last of several CNs there, and an empty one
// reads as none. A subject with more than one CN is refused naming them
// (a certificate's subject has one, its other names go in the SAN: one
// left out of it, tester), and so is an empty CN (X.520's commonName is
// SIZE(1..ub-common-name), tester) or one that is not a string.
// ValidateSubject applies it; the ACME server, which carries only the
// CN of a CSR's subject, applies it alone.
func SubjectCommonName(n pkix.Name) (string, error) {
	var cns []string
	for _, atv := range commonNameAttributes(n) {
		v, ok := atv.Value.(string)
		if !ok {
			return "", fmt.Errorf("subject CN is not a character string")
		}
		cns = append(cns, v)
	}
	switch {
	case len(cns) > 1:
		quoted := make([]string, len(cns))
		for i, v := range cns {
			quoted[i] = fmt.Sprintf("%q", truncate(v))
		}
		return "", fmt.Errorf("subject has %d CNs (%s): a certificate carries one; give the other names as subject alternative names", len(cns), strings.Join(quoted, ", "))
	case len(cns) == 1 && cns[0] == "":
		return "", fmt.Errorf("subject CN is empty")
	case len(cns) == 1:
		return cns[0], nil
	}
	return "", nil
}

// commonNameAttributes are n's commonName attributes as a certificate
// would carry them: those of ExtraNames when it has any (they replace
// CommonName when n is marshalled), else those of a parsed subject
// (Names), else CommonName.
func commonNameAttributes(n pkix.Name) []pkix.AttributeTypeAndValue {
	var out []pkix.AttributeTypeAndValue
	for _, list := range [][]pkix.AttributeTypeAndValue{n.ExtraNames, n.Names} {
		for _, atv := range list {
			if atv.Type.Equal(oidCommonName) {
				out = append(out, atv)
			}
		}
		if len(out) > 0 {
			return out
		}
	}
	if n.CommonName != "" {
		out = append(out, pkix.AttributeTypeAndValue{Type: oidCommonName, Value: n.CommonName})
	}
	return out
}

// optional turns an absent single-valued attribute into no value at all.
func optional(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

func checkAttribute(attr, v string, max int) error {
	switch {
	case v == "":
		return fmt.Errorf("subject %s is empty", attr)
	case !utf8.ValidString(v):
		return fmt.Errorf("subject %s is not valid UTF-8", attr)
	case utf8.RuneCountInString(v) > max:
		return fmt.Errorf("subject %s is longer than %d characters", attr, max)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("subject %s has leading or trailing spaces", attr)
	case strings.ContainsRune(v, 0):
		return fmt.Errorf("subject %s contains a NUL character", attr)
	case strings.ContainsFunc(v, IsControl):
		return fmt.Errorf("subject %s contains a control character (%q)", attr, v)
	}
	return nil
}

// IsControl reports whether r is a character no subject or ARN component
// may hold: a C0 or C1 control, DEL, or a bidirectional control that
// reorders what a terminal shows (the set output.Sanitize escapes).
func IsControl(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

func isUpperAlpha(s string) bool {
	for _, r := range s {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// splitNames sorts names into DNS names and IP addresses, dropping
// duplicates (compared case-insensitively for DNS names) and checking the
// DNS syntax so that the SAN extension passes zlint.
func splitNames(names []string) (dns []string, ips []net.IP, err error) {
	seen := map[string]bool{}
	for _, name := range names {
		if ip := net.ParseIP(name); ip != nil {
			key := ip.String()
			if !seen[key] {
				seen[key] = true
				if v4 := ip.To4(); v4 != nil {
					ip = v4
				}
				ips = append(ips, ip)
			}
			continue
		}
		if err := checkDNSName(name); err != nil {
			return nil, nil, err
		}
		key := strings.ToLower(name)
		if !seen[key] {
			seen[key] = true
			dns = append(dns, name)
		}
	}
	return dns, ips, nil
}

// checkDNSName is a syntax check (RFC 1034 preferred name syntax with an
// optional leading "*." wildcard label) and that every "xn--" label is
// valid punycode of a valid IDN (dnsname.CheckIDN: a CSR asking for
// xn--zz.example.test got a certificate zlint fails — tester). Policy
// checks — public suffixes, quotas — belong to the caller.
func checkDNSName(name string) error {
	if err := checkDNSSyntax(name); err != nil {
		return err
	}
	if err := dnsname.CheckReservedHyphens(name); err != nil {
		return err
	}
	return dnsname.CheckIDN(name)
}

// checkDNSSyntax is checkDNSName's syntax check alone: whether name reads
// as a host name at all (a CN that does, under any template, is one).
func checkDNSSyntax(name string) error {
	if name == "" {
		return fmt.Errorf("empty DNS name")
	}
	if len(name) > 253 {
		return fmt.Errorf("DNS name %q is longer than 253 octets", truncate(name))
	}
	labels := strings.Split(name, ".")
	if labels[0] == "*" {
		if len(labels) < 3 {
			return fmt.Errorf("wildcard DNS name %q needs at least two labels after the wildcard", name)
		}
		labels = labels[1:]
	}
	for _, l := range labels {
		if err := checkLabel(l); err != nil {
			return fmt.Errorf("DNS name %q: %w", truncate(name), err)
		}
	}
	return nil
}

func checkLabel(l string) error {
	if l == "" {
		return fmt.Errorf("empty label")
	}
	if len(l) > 63 {
		return fmt.Errorf("label longer than 63 octets")
	}
	if l[0] == '-' || l[len(l)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with a hyphen", l)
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("label %q contains the character %q", truncate(l), c)
		}
	}
	return nil
}

// truncate shortens untrusted text before it goes into an error message.
func truncate(s string) string {
	const max = 80
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
