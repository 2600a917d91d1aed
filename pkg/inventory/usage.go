package inventory

import (
	"slices"

	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/x509util"
)

// Key usage names of ACM's ListCertificates Includes beyond the nine bits:
// ANY (a certificate with any key usage) and CUSTOM (ACM's name for a
// usage outside the nine; X.509 defines none, so no certificate has it).
const (
	KeyUsageAny    = "ANY"
	KeyUsageCustom = "CUSTOM"
)

// KeyUsageFilterNames are the values of list --key-usage (ACM's
// KeyUsageName).
var KeyUsageFilterNames = append(append([]string(nil), x509util.AllKeyUsageNames...), KeyUsageAny, KeyUsageCustom)

// ExtendedKeyUsageFilterNames are the values of list --extended-key-usage
// (ACM's ExtendedKeyUsageName).
var ExtendedKeyUsageFilterNames = x509util.AllExtKeyUsageNames

// MatchKeyUsage reports whether c has one of the key usages names (ANY: a
// Key Usage extension with any bit).
func MatchKeyUsage(c *localstore.Certificate, names []string) bool {
	for _, n := range names {
		switch {
		case n == KeyUsageAny && len(c.KeyUsages) > 0:
			return true
		case slices.Contains(c.KeyUsages, n):
			return true
		}
	}
	return false
}

// MatchExtendedKeyUsage reports whether c has one of the extended key
// usages names: NONE is a certificate without the extension, ANY the
// anyExtendedKeyUsage purpose, CUSTOM a purpose ACM has no name for.
func MatchExtendedKeyUsage(c *localstore.Certificate, names []string) bool {
	for _, n := range names {
		if n == x509util.EKUNone && len(c.ExtendedKeyUsages) == 0 {
			return true
		}
		for _, e := range c.ExtendedKeyUsages {
			if e.Name == n {
				return true
			}
		}
	}
	return false
}
