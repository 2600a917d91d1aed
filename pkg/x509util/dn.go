package x509util

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"strings"
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
