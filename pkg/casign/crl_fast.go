package casign

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"

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

// fastCRLMin is the number of entries from which CreateCRLWith encodes the
// list itself: below it the stdlib's one pass costs less than the second
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
// x509.CreateRevocationList, then the same CRL with entries (checked by
// the caller: positive serials of at most 20 octets, known reason codes).
func createCRLSpliced(tmpl *x509.RevocationList, issuerCert *x509.Certificate, issuerKey crypto.Signer, entries []Revoked, opts crypto.SignerOpts) ([]byte, error) {
	tmpl.RevokedCertificateEntries = nil
	empty, err := x509.CreateRevocationList(rand.Reader, tmpl, issuerCert, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("ca: signing CRL: %w", err)
	}
	prefix, suffix, sigAlg, err := splitEmptyCRL(empty)
	if err != nil {
		return nil, err
	}
	list, err := appendRevokedCertificates(nil, entries)
	if err != nil {
		return nil, err
	}
	tbs := make([]byte, 0, len(prefix)+len(list)+len(suffix)+6)
	tbs = appendHeader(tbs, 0x30, len(prefix)+len(list)+len(suffix))
	tbs = append(append(append(tbs, prefix...), list...), suffix...)

	sig, err := crypto.SignMessage(issuerKey, rand.Reader, tbs, opts)
	if err != nil {
		return nil, fmt.Errorf("ca: signing CRL: %w", err)
	}
	// As x509's signTBS: check the signer's work (the key is the
	// certificate's, CreateCRLWith checked).
	if err := issuerCert.CheckSignature(tmpl.SignatureAlgorithm, tbs, sig); err != nil {
		return nil, fmt.Errorf("ca: signing CRL: the signature returned by the signer is invalid: %w", err)
	}
	bitString := len(sig) + 1
	out := make([]byte, 0, len(tbs)+len(sigAlg)+bitString+12)
	out = appendHeader(out, 0x30, len(tbs)+len(sigAlg)+headerLen(bitString)+bitString)
	out = append(append(out, tbs...), sigAlg...)
	out = appendHeader(out, 0x03, bitString)
	out = append(append(out, 0), sig...)
	return out, nil
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
		return nil, nil, nil, errors.New("ca: signing CRL: malformed template CRL")
	}
	tbs = tbsElem
	var body cryptobyte.String
	if !tbs.ReadASN1(&body, cbasn1.SEQUENCE) {
		return nil, nil, nil, errors.New("ca: signing CRL: malformed template TBSCertList")
	}
	all := []byte(body)
	var skip cryptobyte.String
	// version, signature, issuer, thisUpdate
	if !body.SkipASN1(cbasn1.INTEGER) || !body.SkipASN1(cbasn1.SEQUENCE) || !body.SkipASN1(cbasn1.SEQUENCE) ||
		!(body.PeekASN1Tag(cbasn1.UTCTime) || body.PeekASN1Tag(cbasn1.GeneralizedTime)) || !body.ReadAnyASN1Element(&skip, nil) {
		return nil, nil, nil, errors.New("ca: signing CRL: malformed template TBSCertList")
	}
	if body.PeekASN1Tag(cbasn1.UTCTime) || body.PeekASN1Tag(cbasn1.GeneralizedTime) { // nextUpdate
		body.ReadAnyASN1Element(&skip, nil)
	}
	if !body.Empty() && !body.PeekASN1Tag(cbasn1.Tag(0).Constructed().ContextSpecific()) {
		return nil, nil, nil, errors.New("ca: signing CRL: unexpected field in the template TBSCertList")
	}
	cut := len(all) - len(body)
	return all[:cut], all[cut:], sigAlg, nil
}

// appendRevokedCertificates appends the revokedCertificates SEQUENCE of
// entries as encoding/asn1 marshals []pkix.RevokedCertificate built by
// x509.CreateRevocationList: serial INTEGER, revocationDate (UTCTime from
// 1950 to 2049, GeneralizedTime otherwise, in UTC, to the second) and,
// unless the reason is 0 (unspecified), crlEntryExtensions holding a
// non-critical reasonCode ENUMERATED.
func appendRevokedCertificates(dst []byte, entries []Revoked) ([]byte, error) {
	// An entry is at most 2+21 (serial) + 2+15 (time) + 14 (reason) + 2 octets.
	body := make([]byte, 0, len(entries)*48)
	var serial [21]byte
	for i, e := range entries {
		n := (e.Serial.BitLen() + 7) / 8
		if e.Serial.Sign() <= 0 || n > 20 {
			return nil, fmt.Errorf("ca: CRL entry %d: serial out of range", i)
		}
		s := serial[:n+1]
		e.Serial.FillBytes(s[1:])
		if s[1]&0x80 == 0 {
			s = s[1:]
		}
		if e.RevokedAt.IsZero() { // as x509 refuses it
			return nil, fmt.Errorf("ca: CRL entry %d: zero revocation time", i)
		}
		t := e.RevokedAt.UTC()
		year := t.Year()
		timeLen := 13
		if year < 1950 || year >= 2050 {
			timeLen = 15
			if year < 0 || year > 9999 {
				return nil, fmt.Errorf("ca: CRL entry %d: revocation time %v cannot be encoded", i, e.RevokedAt)
			}
		}
		size := 2 + len(s) + 2 + timeLen
		if e.Reason != 0 {
			if e.Reason < 0 || e.Reason > 127 {
				return nil, fmt.Errorf("ca: CRL entry %d: invalid reason code %d", i, e.Reason)
			}
			size += 14
		}
		body = append(body, 0x30, byte(size), 0x02, byte(len(s)))
		body = append(body, s...)
		if timeLen == 13 {
			body = append(body, 0x17, 13)
			body = appendDigits(body, year%100, 2)
		} else {
			body = append(body, 0x18, 15)
			body = appendDigits(body, year, 4)
		}
		_, month, day := t.Date()
		hour, minute, sec := t.Clock()
		body = appendDigits(body, int(month), 2)
		body = appendDigits(body, day, 2)
		body = appendDigits(body, hour, 2)
		body = appendDigits(body, minute, 2)
		body = appendDigits(body, sec, 2)
		body = append(body, 'Z')
		if e.Reason != 0 {
			// SEQUENCE OF { Extension { extnID 2.5.29.21, extnValue OCTET STRING { ENUMERATED } } }
			body = append(body, 0x30, 12, 0x30, 10, 0x06, 3, 0x55, 0x1d, 0x15, 0x04, 3, 0x0a, 1, byte(e.Reason))
		}
	}
	dst = appendHeader(dst, 0x30, len(body))
	return append(dst, body...), nil
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
