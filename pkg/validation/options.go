package validation

import (
	"fmt"
	"strings"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/enum"
)

// DomainValidationOption is one --domain-validation-options item: the
// domain whose addresses approve DomainName.
type DomainValidationOption struct {
	DomainName       string
	ValidationDomain string
}

// domainValidationOptionKeys are the keys of a --domain-validation-options
// item, spelt exactly, as the AWS CLI's shorthand spells them.
var domainValidationOptionKeys = []string{"DomainName", "ValidationDomain"}

// ParseDomainValidationOption parses the AWS shorthand
// `DomainName=D,ValidationDomain=V` (keys in either order, spelt exactly).
// It checks the syntax only; ValidationDomains checks the names.
func ParseDomainValidationOption(s string) (DomainValidationOption, error) {
	var o DomainValidationOption
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || v == "" {
			return o, fmt.Errorf("invalid domain validation option %q: use DomainName=D,ValidationDomain=V", s)
		}
		if seen[k] {
			return o, fmt.Errorf("invalid domain validation option %q: %s given twice", s, k)
		}
		seen[k] = true
		switch k {
		case "DomainName":
			o.DomainName = v
		case "ValidationDomain":
			o.ValidationDomain = v
		default:
			return o, fmt.Errorf("invalid domain validation option %q: unknown key %q%s", s, k, enum.Problem(k, domainValidationOptionKeys))
		}
	}
	if o.DomainName == "" || o.ValidationDomain == "" {
		return o, fmt.Errorf("invalid domain validation option %q: both DomainName and ValidationDomain are needed", s)
	}
	return o, nil
}

// CheckValidationDomain checks that validationDomain may approve name: a
// valid, non-wildcard DNS name equal to name (or its base, for a wildcard)
// or a superdomain of it.
func CheckValidationDomain(name, validationDomain string) (string, error) {
	v := dnsname.Normalize(strings.TrimSuffix(validationDomain, "."))
	if dnsname.IsWildcard(v) {
		return "", fmt.Errorf("validation domain %q must not be a wildcard", validationDomain)
	}
	if err := dnsname.Validate(v); err != nil {
		return "", fmt.Errorf("validation domain: %v", err)
	}
	if !dnsname.Covers(v, name) {
		return "", fmt.Errorf("validation domain %s is not %s or a superdomain of it", v, name)
	}
	return v, nil
}

// ValidationDomains maps each of names to its validation domain: the one
// given in opts, or the name itself (the base name for a wildcard). Every
// option must name one of names, once.
func ValidationDomains(names []string, opts []DomainValidationOption) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		out[n] = dnsname.Base(n)
	}
	given := map[string]bool{}
	for _, o := range opts {
		n := dnsname.Normalize(strings.TrimSuffix(o.DomainName, "."))
		if _, ok := out[n]; !ok {
			return nil, fmt.Errorf("domain validation option for %s: not a name of this certificate", o.DomainName)
		}
		if given[n] {
			return nil, fmt.Errorf("domain validation option for %s given twice", n)
		}
		given[n] = true
		v, err := CheckValidationDomain(n, o.ValidationDomain)
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}
