package inventory

import (
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// NamesMismatch says how the names c's record holds differ from those of
// its certificate leaf, "" when they are the same set (case aside). Only
// a change to the record made outside certctl parts them: every path that
// writes a certificate writes its names from it. A renewal signs the
// record's names, so one that does not match is not renewed.
func NamesMismatch(c *localstore.Certificate, leaf *x509.Certificate) string {
	domain, sans := x509util.CertificateNames(leaf)
	have := nameSet(c.DomainName, c.SubjectAlternativeNames)
	want := nameSet(domain, sans)
	if slices.Equal(have, want) {
		return ""
	}
	// A record written before email and URI names were kept holds the
	// certificate's other names alone.
	if d, s := x509util.LegacyCertificateNames(leaf); slices.Equal(have, nameSet(d, s)) {
		return ""
	}
	return fmt.Sprintf("its record names %s, its certificate %s", strings.Join(have, ", "), strings.Join(want, ", "))
}

func nameSet(first string, rest []string) []string {
	out := make([]string, 0, len(rest)+1)
	for _, n := range append([]string{first}, rest...) {
		if n = strings.ToLower(n); n != "" {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
