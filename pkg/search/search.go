// Package search implements ACM's SearchCertificates filter grammar over the
// inventory, and a terse one-line query form for the shell.
package search

import (
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/certctl/certctl/pkg/dnsname"
	"github.com/certctl/certctl/pkg/enum"
	"github.com/certctl/certctl/pkg/inventory"
	"github.com/certctl/certctl/pkg/jsonarg"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/timeutil"
	"github.com/certctl/certctl/pkg/x509util"
)

// Statement is a node of a filter statement: exactly one field is set.
type Statement struct {
	And    []Statement `json:"And,omitempty"`
	Or     []Statement `json:"Or,omitempty"`
	Not    *Statement  `json:"Not,omitempty"`
	Filter *Filter     `json:"Filter,omitempty"`
}

// Filter is one condition: exactly one field is set.
type Filter struct {
	CertificateArn               *string         `json:"CertificateArn,omitempty"`
	X509AttributeFilter          *X509Filter     `json:"X509AttributeFilter,omitempty"`
	AcmCertificateMetadataFilter *MetadataFilter `json:"AcmCertificateMetadataFilter,omitempty"`
	Tag                          *localstore.Tag `json:"Tag,omitempty"`
}

// StringMatch compares a value.
type StringMatch struct {
	Value              string `json:"Value"`
	ComparisonOperator string `json:"ComparisonOperator,omitempty"`
	// Glob makes Value a shell pattern (path.Match: *, ?, [...]): the
	// terse query's san: and cn: terms. EQUALS in a filter statement is
	// exact, as in ACM: a wildcard certificate's name *.example.com
	// selects that certificate, not every name below it.
	Glob bool `json:"-"`
}

// TimeRange bounds a time (either end may be open).
type TimeRange struct {
	Start *time.Time `json:"Start,omitempty"`
	End   *time.Time `json:"End,omitempty"`
}

// UnmarshalJSON takes each end as an RFC 3339 timestamp or a date
// (2027-01-01: midnight UTC, as the AWS CLI takes a date for a
// timestamp), and says so when an end is neither (tester: Go's layout
// string and "cannot parse" reached the user).
func (r *TimeRange) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return errors.New("NotAfter and NotBefore take {\"Start\": T, \"End\": T}")
	}
	for name, v := range m {
		var t **time.Time
		switch name {
		case "Start":
			t = &r.Start
		case "End":
			t = &r.End
		default:
			return fmt.Errorf("unknown field %q: a time range has Start and End", name)
		}
		if string(v) == "null" {
			continue // an open end, as before (review)
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("%s: want a string (an RFC 3339 timestamp or a date), not %s", name, v)
		}
		at, err := timeutil.ParseRFC3339(s)
		if err != nil {
			if at, err = time.Parse(time.DateOnly, s); err != nil {
				return fmt.Errorf("%s %q is not a time: give an RFC 3339 timestamp (2027-01-01T00:00:00Z) or a date (2027-01-01, its midnight UTC)", name, s)
			}
		}
		*t = &at
	}
	return nil
}

// X509Filter filters on the certificate's X.509 attributes.
type X509Filter struct {
	Subject                *struct{ CommonName *StringMatch } `json:"Subject,omitempty"`
	SubjectAlternativeName *struct{ DnsName *StringMatch }    `json:"SubjectAlternativeName,omitempty"`
	ExtendedKeyUsage       *string                            `json:"ExtendedKeyUsage,omitempty"`
	KeyUsage               *string                            `json:"KeyUsage,omitempty"`
	KeyAlgorithm           *string                            `json:"KeyAlgorithm,omitempty"`
	SerialNumber           *string                            `json:"SerialNumber,omitempty"`
	NotAfter               *TimeRange                         `json:"NotAfter,omitempty"`
	NotBefore              *TimeRange                         `json:"NotBefore,omitempty"`
}

// MetadataFilter filters on certctl's (ACM's) metadata.
type MetadataFilter struct {
	Status                   *string `json:"Status,omitempty"`
	Type                     *string `json:"Type,omitempty"`
	RenewalStatus            *string `json:"RenewalStatus,omitempty"`
	InUse                    *bool   `json:"InUse,omitempty"`
	Exported                 *bool   `json:"Exported,omitempty"`
	ExportOption             *string `json:"ExportOption,omitempty"`
	ValidationMethod         *string `json:"ValidationMethod,omitempty"`
	CertificateKeyPairOrigin *string `json:"CertificateKeyPairOrigin,omitempty"`
	AcmeEndpointArn          *string `json:"AcmeEndpointArn,omitempty"`
	AcmeAccountId            *string `json:"AcmeAccountId,omitempty"`
	CertificateAuthorityArn  *string `json:"CertificateAuthorityArn,omitempty"`
}

// MaxDepth bounds the nesting of statements.
const MaxDepth = 16

// Parse parses and checks a JSON filter statement (unknown fields refused).
func Parse(data []byte) (*Statement, error) {
	var s Statement
	if err := jsonarg.Decode(data, &s); err != nil {
		return nil, fmt.Errorf("filter statement: %v", err)
	}
	if err := s.check(0); err != nil {
		return nil, err
	}
	return &s, nil
}

func count(b ...bool) int {
	n := 0
	for _, x := range b {
		if x {
			n++
		}
	}
	return n
}

func (s *Statement) check(depth int) error {
	if depth > MaxDepth {
		return fmt.Errorf("filter statement nested deeper than %d", MaxDepth)
	}
	if count(s.And != nil, s.Or != nil, s.Not != nil, s.Filter != nil) != 1 {
		return fmt.Errorf("a statement must hold exactly one of And, Or, Not, Filter")
	}
	for _, list := range [][]Statement{s.And, s.Or} {
		if list != nil && len(list) == 0 {
			return fmt.Errorf("And/Or needs at least one statement")
		}
		for i := range list {
			if err := list[i].check(depth + 1); err != nil {
				return err
			}
		}
	}
	if s.Not != nil {
		return s.Not.check(depth + 1)
	}
	if s.Filter != nil {
		return s.Filter.check()
	}
	return nil
}

// isSerial reports whether s is a serial number as certctl prints it:
// hexadecimal digits, colons allowed between bytes — or hyphens, as Vault
// PKI prints it (x509util.ParseSerial reads both).
func isSerial(s string) bool {
	digits := 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f', r >= 'A' && r <= 'F':
			digits++
		case r == ':', r == '-':
		default:
			return false
		}
	}
	return digits > 0
}

func checkOp(m *StringMatch) error {
	if m == nil {
		return fmt.Errorf("a comparison needs a Value")
	}
	switch m.ComparisonOperator {
	case "", "EQUALS", "CONTAINS":
		if m.Glob {
			// A malformed pattern is refused, as list --domain refuses
			// it, not a term that silently matches nothing (tester).
			if _, err := path.Match(strings.ToLower(m.Value), ""); err != nil {
				return fmt.Errorf("%q is not a valid pattern (*, ? and [...] as in the shell)", m.Value)
			}
		}
		return nil
	}
	return fmt.Errorf("unknown ComparisonOperator %q%s", m.ComparisonOperator, enum.Problem(m.ComparisonOperator, []string{"EQUALS", "CONTAINS"}))
}

func (f *Filter) check() error {
	if count(f.CertificateArn != nil, f.X509AttributeFilter != nil, f.AcmCertificateMetadataFilter != nil, f.Tag != nil) != 1 {
		return fmt.Errorf("a Filter must hold exactly one of CertificateArn, X509AttributeFilter, AcmCertificateMetadataFilter")
	}
	if f.Tag != nil {
		shown := f.Tag.Key
		if f.Tag.Value != "" {
			shown += "=" + f.Tag.Value
		}
		if err := inventory.CheckTagCondition(shown, *f.Tag); err != nil {
			return err
		}
	}
	if x := f.X509AttributeFilter; x != nil {
		if count(x.Subject != nil, x.SubjectAlternativeName != nil, x.ExtendedKeyUsage != nil, x.KeyUsage != nil,
			x.KeyAlgorithm != nil, x.SerialNumber != nil, x.NotAfter != nil, x.NotBefore != nil) != 1 {
			return fmt.Errorf("an X509AttributeFilter must hold exactly one attribute")
		}
		if x.Subject != nil {
			return checkOp(x.Subject.CommonName)
		}
		if x.SubjectAlternativeName != nil {
			m := x.SubjectAlternativeName.DnsName
			if m != nil {
				if a, ok := dnsname.ASCIIPattern(m.Value); ok {
					// A DNS name in a certificate is ASCII: bücher.example
					// is xn--bcher-kva.example there (tester: it matched
					// nothing).
					m.Value = a
				}
			}
			return checkOp(m)
		}
	}
	if x := f.X509AttributeFilter; x != nil {
		if err := checkEnum("KeyAlgorithm", x.KeyAlgorithm, x509util.ImportKeyAlgorithms); err != nil {
			return err
		}
		if x.SerialNumber != nil && !isSerial(*x.SerialNumber) {
			return fmt.Errorf("SerialNumber %q is not a serial number (hexadecimal digits, colons or hyphens between bytes allowed)", *x.SerialNumber)
		}
		for _, r := range []struct {
			name string
			tr   *TimeRange
		}{{"NotAfter", x.NotAfter}, {"NotBefore", x.NotBefore}} {
			switch {
			case r.tr == nil:
			case r.tr.Start == nil && r.tr.End == nil:
				return fmt.Errorf("%s needs Start, End or both", r.name)
			case r.tr.Start != nil && r.tr.End != nil && r.tr.End.Before(*r.tr.Start):
				return fmt.Errorf("%s: End is before Start", r.name)
			}
		}
		if err := checkEnum("KeyUsage", x.KeyUsage, inventory.KeyUsageFilterNames); err != nil {
			return err
		}
		if e := x.ExtendedKeyUsage; e != nil && !x509util.IsExtKeyUsageName(*e) && !oidRE().MatchString(*e) {
			if s := enum.Suggest(*e, x509util.AllExtKeyUsageNames); s != "" {
				return fmt.Errorf("unknown ExtendedKeyUsage %q: did you mean %s?", *e, s)
			}
			return fmt.Errorf("unknown ExtendedKeyUsage %q (a name such as TLS_WEB_SERVER_AUTHENTICATION, or an OID)", *e)
		}
	}
	if m := f.AcmCertificateMetadataFilter; m != nil {
		for _, e := range []struct {
			name    string
			val     *string
			allowed []string
		}{
			{"Status", m.Status, inventory.Statuses},
			{"Type", m.Type, inventory.Types},
			{"CertificateKeyPairOrigin", m.CertificateKeyPairOrigin, inventory.Origins},
			{"RenewalStatus", m.RenewalStatus, RenewalStatuses},
			{"ExportOption", m.ExportOption, []string{"ENABLED", "DISABLED"}},
			{"ValidationMethod", m.ValidationMethod, []string{"DNS", "EMAIL", "HTTP"}},
		} {
			if err := checkEnum(e.name, e.val, e.allowed); err != nil {
				return err
			}
		}
		if count(m.Status != nil, m.Type != nil, m.RenewalStatus != nil, m.InUse != nil, m.Exported != nil, m.ExportOption != nil,
			m.ValidationMethod != nil, m.CertificateKeyPairOrigin != nil, m.AcmeEndpointArn != nil, m.AcmeAccountId != nil,
			m.CertificateAuthorityArn != nil) != 1 {
			return fmt.Errorf("an AcmCertificateMetadataFilter must hold exactly one field")
		}
	}
	return nil
}

// Subject is what a statement is evaluated against.
type Subject struct {
	Cert                    *localstore.Certificate
	CertificateArn          string
	CertificateAuthorityArn string
	AcmeEndpointArn         string
	ExportOption            string
}

// Match evaluates s against x.
func (s *Statement) Match(x *Subject) bool {
	switch {
	case s.And != nil:
		for i := range s.And {
			if !s.And[i].Match(x) {
				return false
			}
		}
		return true
	case s.Or != nil:
		for i := range s.Or {
			if s.Or[i].Match(x) {
				return true
			}
		}
		return false
	case s.Not != nil:
		return !s.Not.Match(x)
	}
	return s.Filter.match(x)
}

func (m *StringMatch) match(v string) bool {
	want, got := strings.ToLower(m.Value), strings.ToLower(v)
	if m.ComparisonOperator == "CONTAINS" {
		return strings.Contains(got, want)
	}
	if m.Glob && strings.ContainsAny(want, "*?[") {
		// A certificate without the value (no common name: one still
		// pending) matches no pattern, as it matches no exact value.
		ok, _ := path.Match(want, got)
		return ok && got != ""
	}
	return got == want
}

func (r *TimeRange) match(t time.Time) bool {
	if t.IsZero() {
		return false
	}
	return (r.Start == nil || !t.Before(*r.Start)) && (r.End == nil || !t.After(*r.End))
}

// eq compares an enumerated value of a filter (checked exact by check)
// with the certificate's.
func eq(p *string, v string) bool { return *p == v }

func (f *Filter) match(x *Subject) bool {
	c := x.Cert
	switch {
	case f.CertificateArn != nil:
		return *f.CertificateArn == x.CertificateArn || *f.CertificateArn == c.ID
	case f.Tag != nil:
		for _, t := range c.Tags {
			if t.Key == f.Tag.Key && (f.Tag.Value == "" || t.Value == f.Tag.Value) {
				return true
			}
		}
		return false
	case f.X509AttributeFilter != nil:
		a := f.X509AttributeFilter
		switch {
		case a.Subject != nil:
			return a.Subject.CommonName.match(x509util.CommonName(c.Subject))
		case a.SubjectAlternativeName != nil:
			for _, n := range c.SubjectAlternativeNames {
				if a.SubjectAlternativeName.DnsName.match(n) {
					return true
				}
			}
			return false
		case a.ExtendedKeyUsage != nil:
			// By name as list --extended-key-usage matches (NONE: no
			// such extension; tester: NONE matched nothing), or by OID.
			if inventory.MatchExtendedKeyUsage(c, []string{*a.ExtendedKeyUsage}) {
				return true
			}
			for _, e := range c.ExtendedKeyUsages {
				if *a.ExtendedKeyUsage == e.OID {
					return true
				}
			}
			return false
		case a.KeyUsage != nil:
			return inventory.MatchKeyUsage(c, []string{*a.KeyUsage}) // ANY as list --key-usage
		case a.KeyAlgorithm != nil:
			return eq(a.KeyAlgorithm, c.KeyAlgorithm)
		case a.SerialNumber != nil:
			norm := func(s string) string {
				return strings.ToLower(strings.NewReplacer(":", "", "-", "").Replace(s))
			}
			return norm(*a.SerialNumber) == norm(c.Serial)
		case a.NotAfter != nil:
			return a.NotAfter.match(c.NotAfter)
		case a.NotBefore != nil:
			return a.NotBefore.match(c.NotBefore)
		}
	case f.AcmCertificateMetadataFilter != nil:
		m := f.AcmCertificateMetadataFilter
		switch {
		case m.Status != nil:
			return eq(m.Status, c.Status)
		case m.Type != nil:
			return eq(m.Type, c.Type)
		case m.RenewalStatus != nil:
			return c.Renewal != nil && eq(m.RenewalStatus, c.Renewal.Status)
		case m.InUse != nil:
			return *m.InUse == c.InUse()
		case m.Exported != nil:
			return *m.Exported == c.Exported
		case m.ExportOption != nil:
			return eq(m.ExportOption, x.ExportOption)
		case m.ValidationMethod != nil:
			return eq(m.ValidationMethod, c.ValidationMethod)
		case m.CertificateKeyPairOrigin != nil:
			return eq(m.CertificateKeyPairOrigin, c.KeyPairOrigin)
		case m.AcmeEndpointArn != nil:
			return *m.AcmeEndpointArn == x.AcmeEndpointArn || *m.AcmeEndpointArn == c.AcmeEndpointID
		case m.AcmeAccountId != nil:
			return *m.AcmeAccountId == c.AcmeAccountID
		case m.CertificateAuthorityArn != nil:
			return *m.CertificateAuthorityArn == x.CertificateAuthorityArn || *m.CertificateAuthorityArn == c.CertificateAuthorityID
		}
	}
	return false
}

// Reads reports what judging s reads of a certificate beyond its summary
// (localstore.SummaryFields): its tags, and a field that only its whole
// record holds (subject, serial, renewal, validation method, CA, ACME
// endpoint or account). A search reads summaries, and tags or records
// only when s needs them, so that a search of a large vault decodes
// little of it (tester: every page decoded the whole vault).
func (s *Statement) Reads() (tags, record bool) {
	if s == nil {
		return false, false
	}
	for _, l := range [][]Statement{s.And, s.Or} {
		for i := range l {
			t, r := l[i].Reads()
			tags, record = tags || t, record || r
		}
	}
	if s.Not != nil {
		t, r := s.Not.Reads()
		tags, record = tags || t, record || r
	}
	if f := s.Filter; f != nil {
		tags = tags || f.Tag != nil
		x, m := f.X509AttributeFilter, f.AcmCertificateMetadataFilter
		record = record || x != nil && (x.Subject != nil || x.SerialNumber != nil) ||
			m != nil && (m.RenewalStatus != nil || m.ValidationMethod != nil || m.CertificateAuthorityArn != nil ||
				m.AcmeEndpointArn != nil || m.AcmeAccountId != nil)
	}
	return tags, record
}

// RenewalStatuses are the values of RenewalStatus (SPEC section 1).
var RenewalStatuses = []string{"PENDING_AUTO_RENEWAL", "PENDING_VALIDATION", "SUCCESS", "FAILED"}

var oidRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[0-9]+(\.[0-9]+)+$`) }) // compiled on first use, not at start-up

// checkEnum refuses a value outside allowed, compared exactly as ACM's
// SearchCertificates compares them (a value in another case is told the
// one it meant).
func checkEnum(name string, v *string, allowed []string) error {
	if v == nil || enum.Has(allowed, *v) {
		return nil
	}
	return fmt.Errorf("unknown %s %q%s", name, *v, enum.Problem(*v, allowed))
}

// Resolve replaces the certificate, certificate authority and ACME
// endpoint references of s's filters — an ARN, a UUID or a unique prefix, as everywhere an
// identifier is taken — by what resolve returns for them (the ID), so that
// a prefix selects what it names and a reference to nothing is an error
// (resolve's), never a filter that silently matches nothing. kind is
// "certificate", "ca" or "endpoint".
func (s *Statement) Resolve(resolve func(kind, ref string) (string, error)) error {
	if s == nil {
		return nil
	}
	for i := range s.And {
		if err := s.And[i].Resolve(resolve); err != nil {
			return err
		}
	}
	for i := range s.Or {
		if err := s.Or[i].Resolve(resolve); err != nil {
			return err
		}
	}
	if err := s.Not.Resolve(resolve); err != nil {
		return err
	}
	if s.Filter == nil {
		return nil
	}
	if ref := s.Filter.CertificateArn; ref != nil {
		id, err := resolve("certificate", *ref)
		if err != nil {
			return err
		}
		*ref = id
	}
	if s.Filter.AcmCertificateMetadataFilter == nil {
		return nil
	}
	m := s.Filter.AcmCertificateMetadataFilter
	for _, r := range []struct {
		kind string
		ref  *string
	}{{"ca", m.CertificateAuthorityArn}, {"endpoint", m.AcmeEndpointArn}} {
		if r.ref == nil {
			continue
		}
		id, err := resolve(r.kind, *r.ref)
		if err != nil {
			return err
		}
		*r.ref = id
	}
	return nil
}

// Narrowing is what every certificate a statement selects has in common
// that a store can select by itself: a nil set constrains nothing, an
// empty one selects no certificate. It lets a search by ARN look its
// certificates up rather than read the whole inventory.
type Narrowing struct {
	IDs, Types, KeyAlgorithms []string
	// Statuses are the statuses as the store records them: a search
	// judges a certificate's status as of its time (an ISSUED certificate
	// past its NotAfter is EXPIRED), so a status narrows to what
	// inventory.RecordedAs says may be judged so.
	Statuses []string
}

// None reports whether no certificate can match.
func (n Narrowing) None() bool {
	return isEmpty(n.IDs) || isEmpty(n.Types) || isEmpty(n.KeyAlgorithms) || isEmpty(n.Statuses)
}

// combine is n and o's narrowing field by field, with op.
func (n Narrowing) combine(o Narrowing, op func(a, b []string) []string) Narrowing {
	return Narrowing{IDs: op(n.IDs, o.IDs), Types: op(n.Types, o.Types), KeyAlgorithms: op(n.KeyAlgorithms, o.KeyAlgorithms),
		Statuses: op(n.Statuses, o.Statuses)}
}

func isEmpty(set []string) bool { return set != nil && len(set) == 0 }

// Narrow returns the narrowing of s (nil: every certificate), whose
// certificate references Resolve has made IDs. Only what the store records
// narrows — a certificate's ID, type, key algorithm and recorded status
// (see Narrowing.Statuses) — never what a search judges alone (names,
// tags, eligibility, times).
func (s *Statement) Narrow() Narrowing {
	switch {
	case s == nil, s.Not != nil:
		return Narrowing{}
	case s.And != nil:
		var n Narrowing
		for i := range s.And {
			n = n.combine(s.And[i].Narrow(), intersect)
		}
		return n
	case s.Or != nil:
		var n Narrowing
		for i := range s.Or {
			c := s.Or[i].Narrow()
			if i == 0 {
				n = c
				continue
			}
			n = n.combine(c, union)
		}
		return n
	}
	f := s.Filter
	switch {
	case f.CertificateArn != nil:
		return Narrowing{IDs: []string{*f.CertificateArn}}
	case f.X509AttributeFilter != nil && f.X509AttributeFilter.KeyAlgorithm != nil:
		return Narrowing{KeyAlgorithms: []string{*f.X509AttributeFilter.KeyAlgorithm}}
	case f.AcmCertificateMetadataFilter != nil && f.AcmCertificateMetadataFilter.Type != nil:
		return Narrowing{Types: []string{*f.AcmCertificateMetadataFilter.Type}}
	case f.AcmCertificateMetadataFilter != nil && f.AcmCertificateMetadataFilter.Status != nil:
		return Narrowing{Statuses: inventory.RecordedAs(*f.AcmCertificateMetadataFilter.Status)}
	}
	return Narrowing{}
}

// intersect is the values in both sets (nil: every value).
func intersect(a, b []string) []string {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	out := []string{}
	for _, v := range a {
		if slices.Contains(b, v) {
			out = append(out, v)
		}
	}
	return out
}

// union is the values in either set (nil: every value).
func union(a, b []string) []string {
	if a == nil || b == nil {
		return nil
	}
	out := slices.Clone(a)
	for _, v := range b {
		if !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}
