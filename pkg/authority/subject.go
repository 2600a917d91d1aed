package authority

import (
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/certctl/certctl/pkg/casign"
)

// Subject is AWS Private CA's ASN1Subject.
type Subject struct {
	Country            string `json:"Country,omitempty"`
	Organization       string `json:"Organization,omitempty"`
	OrganizationalUnit string `json:"OrganizationalUnit,omitempty"`
	State              string `json:"State,omitempty"`
	Locality           string `json:"Locality,omitempty"`
	CommonName         string `json:"CommonName,omitempty"`
	SerialNumber       string `json:"SerialNumber,omitempty"`
}

// Name converts s to a pkix.Name.
func (s Subject) Name() pkix.Name {
	n := pkix.Name{CommonName: s.CommonName, SerialNumber: s.SerialNumber}
	add := func(dst *[]string, v string) {
		if v != "" {
			*dst = append(*dst, v)
		}
	}
	add(&n.Country, s.Country)
	add(&n.Organization, s.Organization)
	add(&n.OrganizationalUnit, s.OrganizationalUnit)
	add(&n.Province, s.State)
	add(&n.Locality, s.Locality)
	return n
}

// ParseSubject parses `CN=…,O=…,OU=…,C=…,ST=…,L=…` (a backslash escapes a
// comma or backslash in a value). CN is required.
func ParseSubject(in string) (Subject, error) {
	var s Subject
	if !utf8.ValidString(in) {
		// Ranging over it would make each bad byte U+FFFD, a subject
		// other than the one given (tester).
		return s, fmt.Errorf("subject %q is not valid UTF-8", in)
	}
	var parts []string
	var cur strings.Builder
	escaped := false
	for _, r := range in {
		switch {
		case escaped:
			cur.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped = true
		case r == ',':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteRune(r)
		}
	}
	if escaped {
		return s, fmt.Errorf("subject %q ends with a lone backslash", in)
	}
	parts = append(parts, cur.String())
	seen := map[string]bool{}
	for _, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return s, fmt.Errorf("subject attribute %q is not KEY=VALUE", p)
		}
		k = strings.ToUpper(strings.TrimSpace(k))
		v = strings.TrimSpace(v)
		if v == "" {
			return s, fmt.Errorf("subject attribute %s is empty", k)
		}
		if seen[k] {
			return s, fmt.Errorf("subject attribute %s is given twice", k)
		}
		seen[k] = true
		switch k {
		case "CN":
			s.CommonName = v
		case "O":
			s.Organization = v
		case "OU":
			s.OrganizationalUnit = v
		case "C":
			if len(v) != 2 {
				return s, fmt.Errorf("subject country %q must be a two-letter code", v)
			}
			s.Country = strings.ToUpper(v)
		case "ST":
			s.State = v
		case "L":
			s.Locality = v
		case "SERIALNUMBER":
			s.SerialNumber = v
		default:
			return s, fmt.Errorf("unknown subject attribute %q (use CN, O, OU, C, ST, L, SERIALNUMBER)", k)
		}
	}
	if s.CommonName == "" {
		return s, fmt.Errorf("subject %q has no CN", in)
	}
	// The checks of issuance, here already: a control character is
	// refused before the store is opened.
	if err := casign.ValidateSubject(s.Name()); err != nil {
		return s, err
	}
	return s, nil
}
