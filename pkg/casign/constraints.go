package casign

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/certctl/certctl/pkg/x509util"
)

// NameConstraintError is a name a CA's name constraints do not allow.
type NameConstraintError struct {
	Name string // the name, with its kind ("DNS x.other.test")
	CA   string // the subject of the constraining CA certificate
	// Covers, for a wildcard name, is the excluded subtree it covers: a
	// name within the permitted ones, refused for what else it matches.
	Covers string
}

func (e *NameConstraintError) Error() string {
	if e.Covers != "" {
		return fmt.Sprintf("the %s covers %s, which the name constraints of %s exclude", e.Name, e.Covers, e.CA)
	}
	return fmt.Sprintf("the %s is outside the name constraints of %s", e.Name, e.CA)
}

// CheckNameConstraints refuses a certificate template t whose DNS, IP,
// email or URI names fall outside the name constraints of any of the CA
// certificates cas (the issuer and its chain), as RFC 5280 4.2.1.10 and
// crypto/x509's verifier read them: a DNS constraint "example.test" admits
// the name and its subdomains, ".example.test" its subdomains only; an
// email constraint is a mailbox, a host or (with a leading dot) a domain;
// a URI constraint applies to the URI's host like a DNS constraint.
func CheckNameConstraints(cas []*x509.Certificate, t *x509.Certificate) error {
	for _, ca := range cas {
		if ca == nil || !hasNameConstraints(ca) {
			continue
		}
		refuse := func(kind, v string) error {
			return &NameConstraintError{Name: kind + " " + v, CA: x509util.Subject(ca)}
		}
		cns, subjectEmails, err := subjectNames(t)
		if err != nil {
			return refuse("subject", err.Error())
		}
		names := slices.Clone(t.DNSNames)
		for _, cn := range cns {
			if looksLikeDNSName(cn) {
				// Clients that still match a host name on the
				// Common Name would take it for one: it is held to
				// the same constraints (whatever set it: CSR or API
				// passthrough), every Common Name of the subject.
				names = append(names, cn)
			}
		}
		for _, d := range names {
			if !allowed(d, ca.PermittedDNSDomains, ca.ExcludedDNSDomains, matchDomain) {
				return refuse("DNS name", d)
			}
			if ex := wildcardCoversExcluded(d, ca.ExcludedDNSDomains); ex != "" {
				return &NameConstraintError{Name: "DNS name " + d, CA: x509util.Subject(ca), Covers: ex}
			}
		}
		for _, ip := range t.IPAddresses {
			if !allowedIP(ip, ca.PermittedIPRanges, ca.ExcludedIPRanges) {
				return refuse("IP address", ip.String())
			}
		}
		for _, e := range t.EmailAddresses {
			if !allowed(e, ca.PermittedEmailAddresses, ca.ExcludedEmailAddresses, matchEmail) {
				return refuse("email address", e)
			}
		}
		// RFC 5280 4.2.1.10: the emailAddress attributes of the subject
		// are held to the rfc822Name constraints (when the certificate
		// has no subject alternative name, the RFC says; OpenSSL's
		// verifier holds them always, and so does this check).
		for _, e := range subjectEmails {
			if !allowed(e, ca.PermittedEmailAddresses, ca.ExcludedEmailAddresses, matchEmail) {
				return refuse("subject email address", e)
			}
		}
		for _, u := range t.URIs {
			if !allowed(uriHost(u), ca.PermittedURIDomains, ca.ExcludedURIDomains, matchDomain) {
				return refuse("URI", u.String())
			}
		}
	}
	return nil
}

// oidEmailAddress is PKCS #9's emailAddress attribute of a subject.
var oidEmailAddress = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}

// subjectNames are the Common Names and the emailAddress attributes of
// t's subject as it will be encoded: t.RawSubject when set (a CSR's subject
// carried as it was), else t.Subject with its ExtraNames — every one of
// them, not the last Common Name pkix.Name keeps. A value that is not a
// string is an error: no constraint could be checked on it.
func subjectNames(t *x509.Certificate) (cns, emails []string, err error) {
	var rdns pkix.RDNSequence
	if len(t.RawSubject) > 0 {
		if rest, err := asn1.Unmarshal(t.RawSubject, &rdns); err != nil || len(rest) > 0 {
			return nil, nil, errors.New("does not parse")
		}
	} else {
		rdns = t.Subject.ToRDNSequence()
	}
	for _, rdn := range rdns {
		for _, atv := range rdn {
			var dst *[]string
			switch {
			case atv.Type.Equal(oidCommonName):
				dst = &cns
			case atv.Type.Equal(oidEmailAddress):
				dst = &emails
			default:
				continue
			}
			v, ok := atv.Value.(string)
			if !ok {
				return nil, nil, fmt.Errorf("attribute %v is not a string", atv.Type)
			}
			*dst = append(*dst, v)
		}
	}
	return cns, emails, nil
}

// oidCommonName is X.520's commonName attribute.
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// DomainConstraintError is a domain none of whose names (the domain, its
// subdomains and its wildcard) the DNS name constraints of a CA chain
// allow.
type DomainConstraintError struct {
	Domain string
	CA     string // the subject of the constraining CA certificate
	// ByExclusion: the excluded subtree Excluded covers Domain. Else, when
	// Permitted is set, Domain neither lies within nor contains any of
	// Permitted, the CA's permitted DNS subtrees; with neither, each CA
	// allows some name under Domain but no name passes them all (Name is
	// one such name, and CA the one that refuses it).
	ByExclusion bool
	Excluded    string
	Permitted   []string
	Name        string
}

func (e *DomainConstraintError) Error() string { return "domain " + e.Domain + " " + e.Reason() }

// Reason is why, without the domain: "lies within the excluded DNS subtree
// … of CA", "neither lies within nor contains a permitted DNS subtree of
// CA (…)", or "holds no name the CAs' constraints allow together (…)".
func (e *DomainConstraintError) Reason() string {
	switch {
	case e.ByExclusion:
		return fmt.Sprintf("lies within the excluded DNS subtree %s of %s", subtreeName(e.Excluded), e.CA)
	case len(e.Permitted) > 0:
		return fmt.Sprintf("neither lies within nor contains a permitted DNS subtree of %s (%s)", e.CA, subtreeNames(e.Permitted))
	}
	return fmt.Sprintf("holds no name the name constraints of its CAs allow together (%s, for one, is outside those of %s)", e.Name, e.CA)
}

// domainProbe is the label of a name under a domain that no constraint
// names: it stands for the domain's subdomains that are not subtrees of
// any constraint.
const domainProbe = "certctl-domain-probe"

// CheckDomainSubtree refuses a domain d when the DNS name constraints of
// the CA certificates cas (the issuer and its chain), taken together,
// allow none of the names d covers: d, its subdomains and *.d, which is
// what a pre-approved ACME domain stands for. The answer is
// CheckNameConstraints' on names that stand for all of them: d, a name
// under d that no constraint names, and each permitted subtree of any of
// cas that lies within d with such a name under it — a name d covers that
// none of these stands for lies in no subtree the others do not, so the
// constraints treat it as one of them. A name d covers may still be
// refused (d allowed, a subdomain excluded): that is for the check of each
// name.
func CheckDomainSubtree(cas []*x509.Certificate, d string) error {
	d = strings.ToLower(strings.TrimSuffix(d, "."))
	names := []string{d, domainProbe + "." + d}
	for _, ca := range cas {
		if ca == nil {
			continue
		}
		for _, p := range ca.PermittedDNSDomains {
			if p = strings.ToLower(strings.TrimPrefix(p, ".")); p != "" && matchDomain(p, d) {
				names = append(names, p, domainProbe+"."+p)
			}
		}
	}
	var first error
	for _, n := range names {
		err := CheckNameConstraints(cas, &x509.Certificate{DNSNames: []string{n}})
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return explainDomain(cas, d, first)
}

// explainDomain is why CheckDomainSubtree refused d: the first CA that
// excludes it or permits nothing within or above it, else (constraints
// that refuse d only together) the refusal of d's first name.
func explainDomain(cas []*x509.Certificate, d string, first error) error {
	for _, ca := range cas {
		if ca == nil {
			continue
		}
		for _, ex := range ca.ExcludedDNSDomains {
			if matchDomain(d, ex) {
				return &DomainConstraintError{Domain: d, CA: x509util.Subject(ca), ByExclusion: true, Excluded: ex}
			}
		}
		if len(ca.PermittedDNSDomains) == 0 {
			continue
		}
		meets := false
		for _, p := range ca.PermittedDNSDomains {
			if matchDomain(d, p) || matchDomain(strings.TrimPrefix(p, "."), d) {
				meets = true
				break
			}
		}
		if !meets {
			return &DomainConstraintError{Domain: d, CA: x509util.Subject(ca), Permitted: ca.PermittedDNSDomains}
		}
	}
	e := &DomainConstraintError{Domain: d, Name: d}
	var ne *NameConstraintError
	if errors.As(first, &ne) {
		e.CA = ne.CA
	}
	return e
}

// subtreeName shows a DNS constraint; the empty one stands for every name.
func subtreeName(c string) string {
	if c == "" {
		return `"" (every name)`
	}
	return c
}

func subtreeNames(cs []string) string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = subtreeName(c)
	}
	return strings.Join(out, ", ")
}

// wildcardCoversExcluded returns the excluded subtree that the wildcard
// name d ("*.base") covers, "" for none (or a name that is no wildcard):
// *.corp.test would be presented for secret.corp.test, which an exclusion
// of secret.corp.test forbids.
func wildcardCoversExcluded(d string, excluded []string) string {
	base, ok := strings.CutPrefix(strings.ToLower(strings.TrimSuffix(d, ".")), "*.")
	if !ok {
		return ""
	}
	for _, ex := range excluded {
		if strings.HasSuffix(strings.TrimPrefix(strings.ToLower(ex), "."), "."+base) {
			return ex
		}
	}
	return ""
}

func hasNameConstraints(c *x509.Certificate) bool {
	return len(c.PermittedDNSDomains)+len(c.ExcludedDNSDomains)+len(c.PermittedIPRanges)+len(c.ExcludedIPRanges)+
		len(c.PermittedEmailAddresses)+len(c.ExcludedEmailAddresses)+len(c.PermittedURIDomains)+len(c.ExcludedURIDomains) > 0
}

func allowed(name string, permitted, excluded []string, match func(name, constraint string) bool) bool {
	for _, c := range excluded {
		if match(name, c) {
			return false
		}
	}
	if len(permitted) == 0 {
		return true
	}
	for _, c := range permitted {
		if match(name, c) {
			return true
		}
	}
	return false
}

func allowedIP(ip net.IP, permitted, excluded []*net.IPNet) bool {
	for _, n := range excluded {
		if n.Contains(ip) {
			return false
		}
	}
	if len(permitted) == 0 {
		return true
	}
	for _, n := range permitted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// matchDomain: "" matches everything; ".d" the subdomains of d; "d" d and
// its subdomains. Case does not matter; a wildcard name matches as its
// base (*.a.d under .a.d's parent rules).
func matchDomain(name, constraint string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	c := strings.ToLower(constraint)
	if c == "" {
		return true
	}
	if strings.HasPrefix(c, ".") {
		return strings.HasSuffix(name, c)
	}
	return name == c || strings.HasSuffix(name, "."+c)
}

func matchEmail(addr, constraint string) bool {
	if strings.Contains(constraint, "@") {
		return strings.EqualFold(addr, constraint)
	}
	at := strings.LastIndex(addr, "@")
	if at < 0 {
		return false
	}
	host := strings.ToLower(addr[at+1:])
	c := strings.ToLower(constraint)
	if strings.HasPrefix(c, ".") {
		return strings.HasSuffix(host, c)
	}
	return host == c
}

func uriHost(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Hostname()
}

// looksLikeDNSName reports whether a Common Name reads as a host name: at
// least two labels of letters, digits, '-' and '_', the first of which may
// be '*'.
func looksLikeDNSName(s string) bool {
	s = strings.TrimSuffix(s, ".")
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for i, l := range labels {
		if l == "" || (l == "*" && i == 0) {
			if l == "" {
				return false
			}
			continue
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
				return false
			}
		}
	}
	return true
}
