package x509util

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
	"sync/atomic"
	"unicode/utf8"
)

// attributeNames maps attribute type OIDs to the short names FormatName
// prints. The first nine are Go's; the rest are common in the wild and would
// otherwise print as "OID=#hex".
var attributeNames = map[string]string{
	"2.5.4.6":                    "C",
	"2.5.4.10":                   "O",
	"2.5.4.11":                   "OU",
	"2.5.4.3":                    "CN",
	"2.5.4.5":                    "SERIALNUMBER",
	"2.5.4.7":                    "L",
	"2.5.4.8":                    "ST",
	"2.5.4.9":                    "STREET",
	"2.5.4.17":                   "POSTALCODE",
	"0.9.2342.19200300.100.1.25": "DC",
	"0.9.2342.19200300.100.1.1":  "UID",
	"1.2.840.113549.1.9.1":       "EMAILADDRESS",
	"2.5.4.4":                    "SN",
	"2.5.4.42":                   "GIVENNAME",
	"2.5.4.12":                   "TITLE",
	"2.5.4.97":                   "ORGANIZATIONIDENTIFIER",
	"1.3.6.1.4.1.311.60.2.1.3":   "JURISDICTIONC",
	"2.5.4.15":                   "BUSINESSCATEGORY",
}

// goStandardAttr reports whether t is one of the attributes pkix.Name keeps
// in its own fields (and so emits through ToRDNSequence).
func goStandardAttr(t asn1.ObjectIdentifier) bool {
	if len(t) == 4 && t[0] == 2 && t[1] == 5 && t[2] == 4 {
		switch t[3] {
		case 3, 5, 6, 7, 8, 9, 10, 11, 17:
			return true
		}
	}
	return false
}

// FormatName renders a distinguished name as "CN=…,O=…,C=…" in the same
// stable order and with the same RFC 4514 escaping as pkix.Name.String,
// but naming common attributes (EMAILADDRESS, DC, UID, …) instead of
// printing their OIDs.
func FormatName(n pkix.Name) string {
	// Build the sequence exactly as pkix.Name.String does.
	var rdns pkix.RDNSequence
	if n.ExtraNames == nil {
		for _, atv := range n.Names {
			if goStandardAttr(atv.Type) {
				continue
			}
			rdns = append(rdns, []pkix.AttributeTypeAndValue{atv})
		}
	}
	rdns = append(rdns, n.ToRDNSequence()...)
	return formatRDNs(rdns)
}

// Subject is c's subject as FormatName renders a name, but from the
// subject as encoded (RawSubject): RFC 4514's order, the last RDN first,
// each RDN as it is — pkix.Name regroups attributes by type, so that four
// OU RDNs printed as one multi-valued "OU=a+OU=b+OU=c+OU=d", in another
// order than OpenSSL's. A subject that does not parse is rendered from
// c.Subject.
func Subject(c *x509.Certificate) string { return lastSubject.format(c.RawSubject, c.Subject) }

// Issuer is c's issuer, rendered as Subject renders the subject.
func Issuer(c *x509.Certificate) string { return lastIssuer.format(c.RawIssuer, c.Issuer) }

// lastSubject and lastIssuer remember the last name each rendered: an
// issuance renders its leaf's subject twice (the CA's record of it, the
// inventory's) and the same issuer every time, and the decoding of a name
// was 3% of a durable issuance's CPU.
var lastSubject, lastIssuer dnMemo

// dnMemo is a rendered name and its encoding.
type dnMemo struct{ p atomic.Pointer[renderedDN] }

type renderedDN struct {
	raw []byte
	s   string
}

func (m *dnMemo) format(raw []byte, parsed pkix.Name) string {
	if r := m.p.Load(); r != nil && len(raw) > 0 && bytes.Equal(r.raw, raw) {
		return r.s
	}
	s := formatRaw(raw, parsed)
	if len(raw) > 0 {
		m.p.Store(&renderedDN{raw: bytes.Clone(raw), s: s})
	}
	return s
}

func formatRaw(raw []byte, parsed pkix.Name) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return FormatName(parsed)
	}
	return formatRDNs(rdns)
}

// formatRDNs renders rdns, last first, an RDN's attributes joined by '+'.
func formatRDNs(rdns pkix.RDNSequence) string {
	var sb strings.Builder
	for i := len(rdns) - 1; i >= 0; i-- {
		if sb.Len() > 0 {
			sb.WriteByte(',')
		}
		for j, atv := range rdns[i] {
			if j > 0 {
				sb.WriteByte('+')
			}
			sb.WriteString(formatATV(atv))
		}
	}
	return sb.String()
}

// formatATV renders one "TYPE=value" pair.
func formatATV(atv pkix.AttributeTypeAndValue) string {
	oid := atv.Type.String()
	name, ok := attributeNames[oid]
	if !ok {
		name = oid
	}
	if s, isString := atv.Value.(string); isString && (ok || utf8.ValidString(s)) {
		return name + "=" + escapeDNValue(s)
	}
	der, err := asn1.Marshal(atv.Value)
	if err != nil {
		return name + "=" + escapeDNValue(fmt.Sprint(atv.Value))
	}
	return name + "=#" + hex.EncodeToString(der)
}

// escapeDNValue escapes a value as RFC 4514 (and pkix.Name.String) does.
func escapeDNValue(s string) string {
	escaped := make([]rune, 0, len(s))
	for k, c := range s {
		escape := false
		switch c {
		case ',', '+', '"', '\\', '<', '>', ';':
			escape = true
		case ' ':
			escape = k == 0 || k == len(s)-1
		case '#':
			escape = k == 0
		}
		if escape {
			escaped = append(escaped, '\\', c)
		} else {
			escaped = append(escaped, c)
		}
	}
	return string(escaped)
}

// attributeTypes maps the short names FormatName prints back to their OIDs.
var attributeTypes = func() map[string]asn1.ObjectIdentifier {
	m := make(map[string]asn1.ObjectIdentifier, len(attributeNames))
	for oid, name := range attributeNames {
		m[name] = mustOID(oid)
	}
	return m
}()

func mustOID(s string) asn1.ObjectIdentifier {
	oid, ok := parseOID(s)
	if !ok {
		panic("x509util: bad OID " + s)
	}
	return oid
}

// parseOID parses a dotted numeric OID ("2.5.4.3").
func parseOID(s string) (asn1.ObjectIdentifier, bool) {
	parts := strings.Split(s, ".")
	if len(parts) < 2 {
		return nil, false
	}
	oid := make(asn1.ObjectIdentifier, len(parts))
	for i, p := range parts {
		if p == "" || len(p) > 9 || (len(p) > 1 && p[0] == '0') {
			return nil, false
		}
		n := 0
		for _, c := range []byte(p) {
			if c < '0' || c > '9' {
				return nil, false
			}
			n = n*10 + int(c-'0')
		}
		oid[i] = n
	}
	return oid, true
}

// ParseName parses a distinguished name in the RFC 4514 form FormatName
// writes ("CN=Smith\, John,O=Example,C=US") into a pkix.Name, so that
// attributes are read from the parsed RDNs and never by splitting the
// string: escaped separators (\, \+ \;), escaped specials, hex pairs
// (\C3\A9) and #hex values (the attribute value's DER) all come back as
// the values that were rendered. Attribute types are the short names
// FormatName uses (case-insensitive) or dotted OIDs. The empty string is
// the empty name.
func ParseName(s string) (pkix.Name, error) {
	var n pkix.Name
	rdns, err := parseRDNs(s)
	if err != nil {
		return n, err
	}
	n.FillFromRDNSequence(&rdns)
	return n, nil
}

// CommonName is the common name of the distinguished name dn (as stored
// by FormatName), or "" when it has none or does not parse.
func CommonName(dn string) string {
	n, err := ParseName(dn)
	if err != nil {
		return ""
	}
	return n.CommonName
}

// parseRDNs parses s into an RDN sequence in ASN.1 order: RFC 4514 writes
// the last RDN first.
func parseRDNs(s string) (pkix.RDNSequence, error) {
	var seq pkix.RDNSequence
	if s == "" {
		return seq, nil
	}
	p := &dnParser{s: s}
	var rdn pkix.RelativeDistinguishedNameSET
	for {
		atv, err := p.atv()
		if err != nil {
			return nil, err
		}
		rdn = append(rdn, atv)
		if p.i == len(p.s) {
			seq = append(seq, rdn)
			break
		}
		switch p.s[p.i] {
		case '+':
			p.i++
		case ',':
			p.i++
			seq = append(seq, rdn)
			rdn = nil
		default:
			return nil, p.errorf("unexpected %q", p.s[p.i])
		}
	}
	for i, j := 0, len(seq)-1; i < j; i, j = i+1, j-1 {
		seq[i], seq[j] = seq[j], seq[i]
	}
	return seq, nil
}

type dnParser struct {
	s string
	i int
}

func (p *dnParser) errorf(format string, a ...any) error {
	return fmt.Errorf("distinguished name %q at offset %d: %s", p.s, p.i, fmt.Sprintf(format, a...))
}

// atv parses "TYPE=value" and stops before the next ',' or '+'.
func (p *dnParser) atv() (pkix.AttributeTypeAndValue, error) {
	var atv pkix.AttributeTypeAndValue
	eq := strings.IndexByte(p.s[p.i:], '=')
	if eq <= 0 {
		return atv, p.errorf("want TYPE=value")
	}
	typ := p.s[p.i : p.i+eq]
	if oid, ok := attributeTypes[strings.ToUpper(typ)]; ok {
		atv.Type = oid
	} else if oid, ok := parseOID(typ); ok {
		atv.Type = oid
	} else {
		return atv, p.errorf("unknown attribute type %q", typ)
	}
	p.i += eq + 1
	if p.i < len(p.s) && p.s[p.i] == '#' {
		v, err := p.hexValue()
		atv.Value = v
		return atv, err
	}
	v, err := p.stringValue()
	atv.Value = v
	return atv, err
}

// hexValue parses "#hexpairs": the DER encoding of the value.
func (p *dnParser) hexValue() (any, error) {
	p.i++ // '#'
	start := p.i
	for p.i < len(p.s) && p.s[p.i] != ',' && p.s[p.i] != '+' {
		p.i++
	}
	der, err := hex.DecodeString(p.s[start:p.i])
	if err != nil || len(der) == 0 {
		return nil, p.errorf("invalid #hex value")
	}
	var raw asn1.RawValue
	if rest, err := asn1.Unmarshal(der, &raw); err != nil || len(rest) > 0 {
		return nil, p.errorf("the #hex value is not one DER value")
	}
	var v any
	if _, err := asn1.Unmarshal(der, &v); err == nil && v != nil {
		return v, nil
	}
	return raw, nil
}

// stringValue parses an escaped string value up to an unescaped ',' or
// '+'. Escapes are a backslash before a special character or two hex
// digits (one byte of the UTF-8 encoding). The value must be UTF-8.
func (p *dnParser) stringValue() (string, error) {
	var b []byte
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch c {
		case ',', '+':
			return p.utf8(b)
		case '\\':
			if p.i+1 >= len(p.s) {
				return "", p.errorf("dangling escape")
			}
			if p.i+2 < len(p.s) && isHexDigit(p.s[p.i+1]) && isHexDigit(p.s[p.i+2]) {
				v, _ := hex.DecodeString(p.s[p.i+1 : p.i+3])
				b = append(b, v[0])
				p.i += 3
				continue
			}
			switch e := p.s[p.i+1]; e {
			case ',', '+', '"', '\\', '<', '>', ';', ' ', '#', '=':
				b = append(b, e)
				p.i += 2
				continue
			default:
				return "", p.errorf("invalid escape \\%c", e)
			}
		}
		b = append(b, c)
		p.i++
	}
	return p.utf8(b)
}

func (p *dnParser) utf8(b []byte) (string, error) {
	if !utf8.Valid(b) {
		return "", p.errorf("the value is not UTF-8")
	}
	return string(b), nil
}
