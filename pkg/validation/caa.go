package validation

import (
	"context"
	"fmt"
	"strings"

	"github.com/miekg/dns"

	"github.com/certctl/certctl/pkg/dnsname"
)

// CAAProperty is the value of an issue or issuewild property (RFC 8659
// section 4.2): an issuer domain name, possibly empty, and parameters.
type CAAProperty struct {
	Issuer     string
	Parameters map[string]string
}

// ParseCAAValue parses an issue/issuewild property value such as
// `ca.example; account=123` or `;` (no issuer: issuance forbidden).
func ParseCAAValue(v string) (CAAProperty, error) {
	issuer, rest, _ := strings.Cut(v, ";")
	p := CAAProperty{Issuer: strings.ToLower(strings.TrimSuffix(strings.TrimSpace(issuer), "."))}
	if p.Issuer != "" {
		for _, l := range strings.Split(p.Issuer, ".") {
			if l == "" || strings.IndexFunc(l, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
			}) >= 0 {
				return CAAProperty{}, fmt.Errorf("CAA issuer %q is not a domain name", issuer)
			}
		}
	}
	for _, kv := range strings.Split(rest, ";") {
		kv = strings.TrimSpace(kv)
		if kv == "" {
			continue
		}
		k, val, ok := strings.Cut(kv, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return CAAProperty{}, fmt.Errorf("CAA parameter %q is not tag=value", kv)
		}
		if p.Parameters == nil {
			p.Parameters = map[string]string{}
		}
		p.Parameters[strings.ToLower(k)] = strings.TrimSpace(val)
	}
	return p, nil
}

// EvaluateCAA decides, from the relevant CAA RRset of name (RFC 8659
// section 4), whether a CA known by one of identities may issue for name.
// It returns whether issuance is allowed and, when not, why.
func EvaluateCAA(records []*dns.CAA, name string, identities []string) (bool, string) {
	var issue, issuewild []*dns.CAA
	for _, rr := range records {
		switch strings.ToLower(rr.Tag) {
		case "issue":
			issue = append(issue, rr)
		case "issuewild":
			issuewild = append(issuewild, rr)
		case "iodef", "contactemail", "contactphone", "issuevmc", "issuemail":
		default:
			if rr.Flag&128 != 0 {
				return false, fmt.Sprintf("CAA record for %s has an unknown critical property %q", rr.Hdr.Name, rr.Tag)
			}
		}
	}
	tag, props := "issue", issue
	if dnsname.IsWildcard(name) && len(issuewild) > 0 {
		tag, props = "issuewild", issuewild
	}
	if len(props) == 0 {
		return true, ""
	}
	for _, rr := range props {
		p, err := ParseCAAValue(rr.Value)
		if err != nil || p.Issuer == "" {
			continue
		}
		for _, id := range identities {
			if strings.EqualFold(strings.TrimSuffix(id, "."), p.Issuer) {
				return true, ""
			}
		}
	}
	return false, fmt.Sprintf("the CAA %s records of %s do not name %s", tag, props[0].Hdr.Name, strings.Join(identities, " or "))
}

// CheckCAA finds the relevant CAA RRset of name by climbing the DNS tree
// from it (from the base name of a wildcard) towards the root (RFC 8659
// section 3) and evaluates it. err reports a lookup that failed.
func (r *Resolver) CheckCAA(ctx context.Context, name string, identities []string) (bool, string, error) {
	domain := strings.TrimSuffix(dnsname.Base(name), ".")
	for domain != "" {
		rrs, err := r.lookup(ctx, domain, dns.TypeCAA)
		if err != nil {
			return false, "", err
		}
		if len(rrs) > 0 {
			var caa []*dns.CAA
			for _, rr := range rrs {
				c, ok := rr.(*dns.CAA)
				if !ok {
					return false, "", fmt.Errorf("%w: %s: a CAA record that cannot be read", ErrLookup, domain)
				}
				caa = append(caa, c)
			}
			ok, why := EvaluateCAA(caa, name, identities)
			return ok, why, nil
		}
		_, parent, _ := strings.Cut(domain, ".")
		domain = parent
	}
	return true, "", nil
}
