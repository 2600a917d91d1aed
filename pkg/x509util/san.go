package x509util

import (
	"encoding/asn1"
	"errors"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// OIDSubjectAltName is the subjectAltName extension (RFC 5280 section
// 4.2.1.6).
var OIDSubjectAltName = asn1.ObjectIdentifier{2, 5, 29, 17}

// GeneralName tags (RFC 5280 section 4.2.1.6): the context-specific tag
// numbers of the GeneralName CHOICE.
const (
	GeneralNameOther        = 0
	GeneralNameRFC822       = 1
	GeneralNameDNS          = 2
	GeneralNameX400         = 3
	GeneralNameDirectory    = 4
	GeneralNameEDIParty     = 5
	GeneralNameURI          = 6
	GeneralNameIP           = 7
	GeneralNameRegisteredID = 8
)

// The bits of a DER identifier octet.
const (
	tagClassMask       = 0xc0
	tagContextSpecific = 0x80
	tagConstructed     = 0x20
	tagNumberMask      = 0x1f
)

// GeneralNameKinds names the GeneralName tags as RFC 5280 does.
var GeneralNameKinds = [...]string{"otherName", "rfc822Name", "dNSName", "x400Address", "directoryName", "ediPartyName", "uniformResourceIdentifier", "iPAddress", "registeredID"}

// GeneralName is one name of a subjectAltName extension: its tag (one of
// the GeneralName constants) and its content octets (the IA5String of a
// dNSName, the address of an iPAddress, the DER inside the tag of a
// constructed one: otherName, x400Address, directoryName, ediPartyName).
type GeneralName struct {
	Tag   int
	Value []byte
}

// Kind is the RFC 5280 name of g's kind ("" for a tag that is none).
func (g GeneralName) Kind() string {
	if g.Tag < 0 || g.Tag >= len(GeneralNameKinds) {
		return ""
	}
	return GeneralNameKinds[g.Tag]
}

// generalNameConstructed reports whether RFC 5280's ASN.1 module encodes a
// GeneralName of tag n constructed (an IMPLICIT SEQUENCE, or the EXPLICIT
// tag of directoryName's CHOICE) rather than primitive (the strings, the
// address and the OID).
func generalNameConstructed(n int) bool {
	return n == GeneralNameOther || n == GeneralNameX400 || n == GeneralNameDirectory || n == GeneralNameEDIParty
}

// ParseSubjectAltName parses the value of a subjectAltName extension,
// every kind of name kept (crypto/x509 keeps only DNS, email, IP and URI
// names and drops the others silently): one DER SEQUENCE of at least one
// GeneralName, each a context-specific tag from 0 to 8 in the form RFC 5280
// gives it (a dNSName, rfc822Name, URI, iPAddress or registeredID
// primitive, the others constructed: crypto/x509 reads the first only
// primitive and drops a constructed one silently), nothing after it. The
// contents of the names are not checked.
func ParseSubjectAltName(value []byte) ([]GeneralName, error) {
	errMalformed := errors.New("malformed subjectAltName extension")
	in := cryptobyte.String(value)
	var seq cryptobyte.String
	if !in.ReadASN1(&seq, cbasn1.SEQUENCE) || !in.Empty() || seq.Empty() {
		return nil, errMalformed
	}
	var out []GeneralName
	for !seq.Empty() {
		var v cryptobyte.String
		var tag cbasn1.Tag
		if !seq.ReadAnyASN1(&v, &tag) {
			return nil, errMalformed
		}
		n := int(tag & tagNumberMask)
		if tag&tagClassMask != tagContextSpecific || n > GeneralNameRegisteredID ||
			(tag&tagConstructed != 0) != generalNameConstructed(n) {
			return nil, errMalformed
		}
		out = append(out, GeneralName{Tag: n, Value: []byte(v)})
	}
	return out, nil
}
