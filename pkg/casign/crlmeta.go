package casign

import (
	"encoding/asn1"
	"encoding/hex"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// crlMeta is what HTTP caching needs of a CRL: when it was signed, until
// when it is current (zero: no nextUpdate) and its CRL number (nil: none).
type crlMeta struct {
	thisUpdate, nextUpdate time.Time
	number                 *big.Int
}

// oidCRLNumber is the cRLNumber extension (RFC 5280 section 5.2.3).
var oidCRLNumber = asn1.ObjectIdentifier{2, 5, 29, 20}

// readCRLMeta reads thisUpdate, nextUpdate and the CRL number of a DER
// CRL, skipping its revokedCertificates whole (one length read, however
// many entries): a CRL served again costs no parse of its entries. ok is
// false for anything that is not a CRL of that shape.
func readCRLMeta(der []byte) (m crlMeta, ok bool) {
	in := cryptobyte.String(der)
	var crl, tbs cryptobyte.String
	if !in.ReadASN1(&crl, cbasn1.SEQUENCE) || !crl.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return m, false
	}
	if tbs.PeekASN1Tag(cbasn1.INTEGER) && !tbs.SkipASN1(cbasn1.INTEGER) {
		return m, false
	}
	if !tbs.SkipASN1(cbasn1.SEQUENCE) || !tbs.SkipASN1(cbasn1.SEQUENCE) { // signature, issuer
		return m, false
	}
	if m.thisUpdate, ok = readCRLTime(&tbs); !ok {
		return m, false
	}
	if tbs.PeekASN1Tag(cbasn1.UTCTime) || tbs.PeekASN1Tag(cbasn1.GeneralizedTime) {
		if m.nextUpdate, ok = readCRLTime(&tbs); !ok {
			return m, false
		}
	}
	if tbs.PeekASN1Tag(cbasn1.SEQUENCE) && !tbs.SkipASN1(cbasn1.SEQUENCE) { // revokedCertificates
		return m, false
	}
	var exts cryptobyte.String
	var present bool
	if !tbs.ReadOptionalASN1(&exts, &present, cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return m, false
	}
	if present {
		var list cryptobyte.String
		if !exts.ReadASN1(&list, cbasn1.SEQUENCE) {
			return m, false
		}
		for !list.Empty() {
			var ext, val cryptobyte.String
			var id asn1.ObjectIdentifier
			if !list.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&id) {
				return m, false
			}
			if ext.PeekASN1Tag(cbasn1.BOOLEAN) && !ext.SkipASN1(cbasn1.BOOLEAN) {
				return m, false
			}
			if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) {
				return m, false
			}
			if id.Equal(oidCRLNumber) {
				n := new(big.Int)
				if !val.ReadASN1Integer(n) {
					return m, false
				}
				m.number = n
			}
		}
	}
	return m, true
}

// readCRLTime reads a UTCTime or GeneralizedTime.
func readCRLTime(s *cryptobyte.String) (time.Time, bool) {
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		return t, s.ReadASN1UTCTime(&t)
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		return t, s.ReadASN1GeneralizedTime(&t)
	}
	return t, false
}

// etag is the CRL's entity tag: its number, which names one CRL of its
// CA (the responders' collide rule), with its thisUpdate. It is weak: two
// signings of one CRL (a server adopting another's record, an ECDSA
// signature drawn again) are the same list in other bytes, so a range of
// one must not be joined to another (If-Range compares strongly, and a
// weak tag never matches there), while If-None-Match still gets 304.
func (m crlMeta) etag() string {
	n := ""
	if m.number != nil {
		n = hex.EncodeToString(m.number.Bytes())
	}
	return `W/"` + n + "-" + m.thisUpdate.UTC().Format("20060102T150405Z") + `"`
}
