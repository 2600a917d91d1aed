package dnsname

import "fmt"

// Quotas of names per certificate.
const (
	DefaultQuota = 10
	MaxQuota     = 100
)

// ValidateList checks the names of one certificate request and returns them
// normalised (lower case) with exact duplicates removed, in their first
// order. The first name is the common name and must also pass
// ValidateCommonName; every name must pass ValidateSAN. quota is the most
// distinct names allowed: 0 or less means DefaultQuota, and more than
// MaxQuota is capped at MaxQuota (configuration rejects such values before
// they get here). The first error is returned as an *Error.
func ValidateList(names []string, quota int) ([]string, error) {
	return validateList(names, quota, true)
}

// ValidateSANList is ValidateList for a set of names none of which is
// bound to be the certificate's common name (an ACME order: RFC 8555's
// identifiers are a set, and the CSR names the CN): each is checked as a
// subject alternative name, up to 253 octets.
func ValidateSANList(names []string, quota int) ([]string, error) {
	return validateList(names, quota, false)
}

func validateList(names []string, quota int, firstIsCN bool) ([]string, error) {
	if quota <= 0 {
		quota = DefaultQuota
	}
	quota = min(quota, MaxQuota)
	if len(names) == 0 {
		return nil, newError("", RuleNoNames)
	}
	out := make([]string, 0, len(names))
	seen := make(map[string]bool, len(names))
	for i, raw := range names {
		var err error
		if i == 0 && firstIsCN {
			err = ValidateCommonName(raw)
		} else {
			err = ValidateSAN(raw)
		}
		if err != nil {
			return nil, err
		}
		n := Normalize(raw)
		if seen[n] {
			continue
		}
		seen[n] = true
		out = append(out, n)
	}
	if len(out) > quota {
		return nil, newError("", fmt.Sprintf("too many names: %d distinct, at most %d a certificate", len(out), quota))
	}
	return out, nil
}
