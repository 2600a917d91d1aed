package casign

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"math/bits"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// A large CRL is signed without encoding/asn1's reflection over every
// entry, which costs most of x509.CreateRevocationList's time (about 4 µs
// and 28 allocations an entry). Go's own CreateRevocationList builds and
// signs the CRL without entries: its TBSCertList gives every field but the
// list (version, signature algorithm, issuer, thisUpdate, nextUpdate and the
// extensions: AKI, CRL number, IDP). The revokedCertificates SEQUENCE is
// then encoded here, entry by entry, exactly as encoding/asn1 encodes
// pkix.RevokedCertificate (crl_fast_test.go checks the bytes against
// x509.CreateRevocationList's), spliced in before the extensions, and the
// new TBSCertList is signed with crypto.SignMessage and checked against
// the issuer certificate, as x509 does.

// fastCRLMin is the number of entries from which SignCRL signs the list
// it encoded itself: below it the stdlib's one pass costs less than the second
// signature of the template.
const fastCRLMin = 512

// crlSignerOpts is how x509 signs with alg (signTBS), for the algorithms
// certctl signs CRLs with; ok false for any other (the stdlib path).
func crlSignerOpts(alg x509.SignatureAlgorithm) (crypto.SignerOpts, bool) {
	switch alg {
	case x509.SHA256WithRSA, x509.ECDSAWithSHA256:
		return crypto.SHA256, true
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		return crypto.SHA384, true
	case x509.SHA512WithRSA, x509.ECDSAWithSHA512:
		return crypto.SHA512, true
	case x509.SHA256WithRSAPSS:
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256}, true
	case x509.SHA384WithRSAPSS:
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA384}, true
	case x509.SHA512WithRSAPSS:
		return &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA512}, true
	case x509.PureEd25519:
		return crypto.Hash(0), true
	}
	return nil, false
}

// createCRLSpliced signs tmpl (without entries) through
// x509.CreateRevocationList, then the same CRL with l's entries, built in
// l's buffer: the TBSCertList's headers and the fields before the list go
// into the room left before the entries, the extensions, the signature
// algorithm and the signature after them, so that the list of a large CRL
// is written once and never copied.
func createCRLSpliced(tmpl *x509.RevocationList, issuerCert *x509.Certificate, issuerKey crypto.Signer, l *CRLEntries, opts crypto.SignerOpts) ([]byte, error) {
	tmpl.RevokedCertificateEntries = nil
	empty, err := x509.CreateRevocationList(rand.Reader, tmpl, issuerCert, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("signing CRL: %w", err)
	}
	prefix, suffix, sigAlg, err := splitEmptyCRL(empty)
	if err != nil {
		return nil, err
	}
	buf := l.buf
	listLen := len(buf) - crlHeadroom
	tbsLen := len(prefix) + headerLen(listLen) + listLen + len(suffix)
	// The room before the list takes the CRL's header (at most 6 octets),
	// the TBSCertList's, the fields before the list and its header; an
	// issuer name too long for it moves the list once.
	need := maxHeaderLen + headerLen(tbsLen) + len(prefix) + headerLen(listLen)
	if need > crlHeadroom {
		grown := make([]byte, need, need+listLen+len(suffix)+len(sigAlg)+crlTailroom)
		buf = append(grown, buf[crlHeadroom:]...)
	}
	start := len(buf) - listLen - headerLen(listLen)
	appendHeader(buf[start:start], 0x30, listLen)
	start -= len(prefix)
	copy(buf[start:], prefix)
	start -= headerLen(tbsLen)
	appendHeader(buf[start:start], 0x30, tbsLen)
	buf = append(buf, suffix...)
	tbs := buf[start:]

	sig, err := crypto.SignMessage(issuerKey, rand.Reader, tbs, opts)
	if err != nil {
		return nil, fmt.Errorf("signing CRL: %w", err)
	}
	// As x509's signTBS: check the signer's work (the key is the
	// certificate's, SignCRL checked).
	if err := issuerCert.CheckSignature(tmpl.SignatureAlgorithm, tbs, sig); err != nil {
		return nil, fmt.Errorf("signing CRL: the signature returned by the signer is invalid: %w", err)
	}
	bitString := len(sig) + 1
	crlLen := len(tbs) + len(sigAlg) + headerLen(bitString) + bitString
	start -= headerLen(crlLen)
	appendHeader(buf[start:start], 0x30, crlLen)
	buf = append(buf, sigAlg...)
	buf = appendHeader(buf, 0x03, bitString)
	buf = append(append(buf, 0), sig...)
	l.buf = nil // the CRL owns the buffer now
	return buf[start:], nil
}

// splitEmptyCRL cuts a DER CRL without revokedCertificates into the
// contents of its TBSCertList before the place of the list (version,
// signature, issuer, thisUpdate, nextUpdate) and after it (the [0]
// extensions), and returns its signatureAlgorithm element.
func splitEmptyCRL(der []byte) (prefix, suffix, sigAlg []byte, err error) {
	in := cryptobyte.String(der)
	var crl, tbsElem, tbs cryptobyte.String
	if !in.ReadASN1(&crl, cbasn1.SEQUENCE) || !in.Empty() ||
		!crl.ReadASN1Element(&tbsElem, cbasn1.SEQUENCE) ||
		!crl.ReadASN1Element((*cryptobyte.String)(&sigAlg), cbasn1.SEQUENCE) {
		return nil, nil, nil, errors.New("signing CRL: malformed template CRL")
	}
	tbs = tbsElem
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, nil, nil, errors.New("signing CRL: malformed template TBSCertList")
	}
	all := []byte(body)
	var skip cryptobyte.String
	// version, signature, issuer, thisUpdate
	if !body.SkipASN1(cbasn1.INTEGER) || !body.SkipASN1(cbasn1.SEQUENCE) || !body.SkipASN1(cbasn1.SEQUENCE) ||
		!(body.PeekASN1Tag(cbasn1.UTCTime) || body.PeekASN1Tag(cbasn1.GeneralizedTime)) || !body.ReadAnyASN1Element(&skip, nil) {
		return nil, nil, nil, errors.New("signing CRL: malformed template TBSCertList")
	}
	if body.PeekASN1Tag(cbasn1.UTCTime) || body.PeekASN1Tag(cbasn1.GeneralizedTime) { // nextUpdate
		body.ReadAnyASN1Element(&skip, nil)
	}
	if !body.Empty() && !body.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, nil, nil, errors.New("signing CRL: unexpected field in the template TBSCertList")
	}
	cut := len(all) - len(body)
	return all[:cut], all[cut:], sigAlg, nil
}

// CRLEntries is the revokedCertificates list of a CRL being built (Add,
// then SignCRL): each entry is encoded as it is added, exactly as
// encoding/asn1 marshals the pkix.RevokedCertificate that
// x509.CreateRevocationList builds for it (crl_fast_test.go checks the
// bytes), into one buffer that then holds the whole CRL.
type CRLEntries struct {
	// buf is crlHeadroom octets of room, then the encoded entries.
	buf []byte
	n   int
	// small are the entries as x509.CreateRevocationList takes them,
	// while there are fewer than fastCRLMin (SignCRL signs those through
	// it); nil from then on.
	small []x509.RevocationListEntry
	// signed: SignCRL signed the entries (and may have given their buffer
	// to the CRL); they take no more entries and sign no other CRL.
	signed bool
	// latest is the latest revocation time added, in whole seconds (as
	// the CRL encodes it).
	latest time.Time
}

// Latest is the latest revocation time of the entries, in whole seconds
// (zero when there are none).
func (l *CRLEntries) Latest() time.Time { return l.latest }

// errSigned refuses a CRLEntries already signed.
var errSigned = errors.New("CRL entries already signed")

const (
	// crlHeadroom is the room left before the entries for what comes
	// before them in the CRL: three headers and the TBSCertList's first
	// fields (version, signature algorithm, issuer name and the two
	// times, about 100 octets and the issuer name's).
	crlHeadroom = 1024
	// crlTailroom is the room kept after the entries for what follows
	// them (extensions, signature algorithm and signature: a few hundred
	// octets; an RSA-4096 signature is 512).
	crlTailroom = 1024
	// maxHeaderLen is the longest DER header of a CRL's lengths (a tag
	// and 1+4 length octets).
	maxHeaderLen = 6
	// maxEntryLen is the longest entry Add encodes: SEQUENCE header,
	// serial (2+21), time (2+15), reason extension (14).
	maxEntryLen = 2 + 23 + 17 + 14
)

// Len is the number of entries added.
func (l *CRLEntries) Len() int { return l.n }

// Add appends the entry of the certificate with serial number serial
// (its big-endian magnitude; leading zero octets are ignored), revoked at
// revokedAt (written in UTC to the second) for reason (an RFC 5280 code
// certctl uses; 0, unspecified, writes no reasonCode extension). It
// refuses a serial that is zero or longer than 20 octets, an unknown
// reason and a zero or unencodable time.
func (l *CRLEntries) Add(serial []byte, revokedAt time.Time, reason int) error {
	if l.signed {
		return errSigned
	}
	for len(serial) > 0 && serial[0] == 0 {
		serial = serial[1:]
	}
	n := len(serial)
	if n == 0 {
		return fmt.Errorf("CRL entry %d: serial number must be positive", l.n)
	}
	if !fitsSerialOctets(8*(n-1) + bits.Len8(serial[0])) {
		return fmt.Errorf("CRL entry %d: serial number longer than 20 octets", l.n)
	}
	if ReasonName(reason) == "" {
		return fmt.Errorf("CRL entry %d: invalid reason code %d", l.n, reason)
	}
	if revokedAt.IsZero() { // as x509 refuses it
		return fmt.Errorf("CRL entry %d: zero revocation time", l.n)
	}
	t := revokedAt.UTC()
	if sec := t.Truncate(time.Second); sec.After(l.latest) {
		l.latest = sec
	}
	year := t.Year()
	timeLen := 13
	if year < 1950 || year >= 2050 {
		timeLen = 15
		if year < 0 || year > 9999 {
			return fmt.Errorf("CRL entry %d: revocation time %v cannot be encoded", l.n, revokedAt)
		}
	}
	if l.buf == nil {
		l.buf = make([]byte, crlHeadroom, crlHeadroom+64*maxEntryLen+crlTailroom)
	}
	if cap(l.buf)-len(l.buf) < maxEntryLen+crlTailroom {
		// Doubled, not grown by append's quarter: a list of 100,000
		// entries is moved a dozen times, not fifty.
		grown := make([]byte, len(l.buf), 2*cap(l.buf))
		copy(grown, l.buf)
		l.buf = grown
	}
	if l.n < fastCRLMin {
		l.small = append(l.small, x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(serial),
			RevocationTime: t.Truncate(time.Second), ReasonCode: reason})
	} else {
		l.small = nil
	}
	l.n++

	intLen := n
	if serial[0]&0x80 != 0 {
		intLen++ // DER's leading zero octet of a positive INTEGER
	}
	size := 2 + intLen + 2 + timeLen
	if reason != 0 {
		size += 14
	}
	b := append(l.buf, 0x30, byte(size), 0x02, byte(intLen))
	if intLen > n {
		b = append(b, 0)
	}
	b = append(b, serial...)
	if timeLen == 13 {
		b = append(b, 0x17, 13)
		b = appendDigits(b, year%100, 2)
	} else {
		b = append(b, 0x18, 15)
		b = appendDigits(b, year, 4)
	}
	_, month, day := t.Date()
	hour, minute, sec := t.Clock()
	b = appendDigits(b, int(month), 2)
	b = appendDigits(b, day, 2)
	b = appendDigits(b, hour, 2)
	b = appendDigits(b, minute, 2)
	b = appendDigits(b, sec, 2)
	b = append(b, 'Z')
	if reason != 0 {
		// SEQUENCE OF { Extension { extnID 2.5.29.21, extnValue OCTET STRING { ENUMERATED } } }
		b = append(b, 0x30, 12, 0x30, 10, 0x06, 3, 0x55, 0x1d, 0x15, 0x04, 3, 0x0a, 1, byte(reason))
	}
	l.buf = b
	return nil
}

func appendDigits(b []byte, v, width int) []byte {
	var buf [4]byte
	for i := width - 1; i >= 0; i-- {
		buf[i] = byte('0' + v%10)
		v /= 10
	}
	return append(b, buf[:width]...)
}

// headerLen is the length of a DER tag and length of n content octets.
func headerLen(n int) int {
	if n < 0x80 {
		return 2
	}
	h := 2
	for ; n > 0; n >>= 8 {
		h++
	}
	return h
}

// appendHeader appends a DER tag (one octet) and the definite length n.
func appendHeader(b []byte, tag byte, n int) []byte {
	b = append(b, tag)
	if n < 0x80 {
		return append(b, byte(n))
	}
	k := headerLen(n) - 2
	b = append(b, 0x80|byte(k))
	for i := k - 1; i >= 0; i-- {
		b = append(b, byte(n>>(8*i)))
	}
	return b
}
