package casign

import (
	"crypto/x509"
	"fmt"
	"strings"
)

// NameConstraintError is a name that a CA's name constraints forbid.
type NameConstraintError struct {
	Name string
	// CA is the subject of the certificate whose constraint forbids it.
	CA string
	// Why is "not within the permitted subtrees" or "within excluded
	// subtree X".
	Why string
}

func (e *NameConstraintError) Error() string {
	return fmt.Sprintf("%s is %s of %s's name constraints", e.Name, e.Why, e.CA)
}

// CheckNameConstraints checks DNS names against the dNSName constraints of
// every CA certificate on the path (RFC 5280 section 4.2.1.10), so that a
// certificate is not signed that no verifier would accept. A constraint
// "example.com" holds example.com and every name under it; ".example.com"
// only the names under it. A wildcard name is within a permitted subtree
// when the names it covers are ("*.example.com" is within both
// constraints above), and forbidden when an excluded subtree holds its
// base or any name it covers.
// It returns the first *NameConstraintError.
func CheckNameConstraints(names []string, path ...*x509.Certificate) error {
	for _, c := range path {
		if c == nil || (len(c.PermittedDNSDomains) == 0 && len(c.ExcludedDNSDomains) == 0) {
			continue
		}
		for _, n := range names {
			lower := strings.ToLower(n)
			base := strings.TrimPrefix(lower, "*.")
			wild := base != lower
			for _, ex := range c.ExcludedDNSDomains {
				ex = strings.ToLower(ex)
				if inSubtree(base, ex) || (wild && inSubtree(strings.TrimPrefix(ex, "."), "."+base)) {
					return &NameConstraintError{Name: n, CA: c.Subject.String(), Why: "within the excluded subtree " + ex}
				}
			}
			if len(c.PermittedDNSDomains) == 0 {
				continue
			}
			ok := false
			for _, p := range c.PermittedDNSDomains {
				ok = ok || inSubtree(lower, strings.ToLower(p))
			}
			if !ok {
				return &NameConstraintError{Name: n, CA: c.Subject.String(), Why: "not within the permitted subtrees (" + strings.Join(c.PermittedDNSDomains, ", ") + ")"}
			}
		}
	}
	return nil
}

// inSubtree reports whether name is within the dNSName constraint c.
func inSubtree(name, c string) bool {
	switch {
	case c == "":
		return true
	case strings.HasPrefix(c, "."):
		return strings.HasSuffix(name, c)
	}
	return name == c || strings.HasSuffix(name, "."+c)
}
