package acmestate

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"

	"github.com/certctl/certctl/pkg/authority"
	"github.com/certctl/certctl/pkg/localstore"
	"github.com/certctl/certctl/pkg/pemio"
	"github.com/certctl/certctl/pkg/timeutil"
)

// KindRenewalWindow is the store kind of the renewal windows an
// administrator set (`endpoint renewal-window set`), returned by the ACME
// Renewal Information resource (RFC 9773) instead of the computed one.
// Stored in the vault, so every `endpoint serve` process on it agrees.
const KindRenewalWindow = "acme-renewal-window"

// allSerials is the serial part of the ID of a window set with --all.
const allSerials = "*"

// RenewalWindow is a suggested renewal window an administrator set for one
// certificate (Serial, as x509util.FormatSerial writes it) or, with Serial
// empty, for every certificate the endpoint issued before SetAt.
type RenewalWindow struct {
	EndpointID string    `json:"endpointId"`
	Serial     string    `json:"serial,omitempty"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
	SetAt      time.Time `json:"setAt"`
}

func renewalWindowID(endpointID, serial string) string {
	if serial == "" {
		serial = allSerials
	}
	return endpointID + "/" + serial
}

// PutRenewalWindow stores w, replacing the window set before for the same
// certificate (or for all of them).
func PutRenewalWindow(tx localstore.Tx, w *RenewalWindow) error {
	return putJSON(tx, KindRenewalWindow, renewalWindowID(w.EndpointID, w.Serial), w, w.SetAt)
}

// RenewalWindowOf returns the window an administrator set for the
// certificate of endpointID with serial, issued at issuedAt: the one set
// for that serial, else the latest --all window set after it was issued,
// whichever was set last; nil when none applies.
func RenewalWindowOf(tx localstore.Tx, endpointID, serial string, issuedAt time.Time) (*RenewalWindow, error) {
	var best *RenewalWindow
	for _, id := range []string{renewalWindowID(endpointID, serial), renewalWindowID(endpointID, "")} {
		w := &RenewalWindow{}
		err := getJSON(tx, KindRenewalWindow, id, w)
		if errors.Is(err, localstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if w.Serial == "" && !issuedAt.Before(w.SetAt) {
			continue // issued after the window was set: not concerned
		}
		if best == nil || w.SetAt.After(best.SetAt) {
			best = w
		}
	}
	return best, nil
}

// CertID is the ACME Renewal Information identifier of a certificate (RFC
// 9773 section 4.1): base64url (no padding) of the keyIdentifier of its
// Authority Key Identifier, ".", base64url of the DER content octets of
// its serial number.
type CertID struct {
	AKI    []byte
	Serial *big.Int
}

// String is the certID as clients send it.
func (c CertID) String() string {
	return base64.RawURLEncoding.EncodeToString(c.AKI) + "." + base64.RawURLEncoding.EncodeToString(serialContent(c.Serial))
}

// CertIDOf is the certID of cert.
func CertIDOf(cert *x509.Certificate) CertID {
	return CertID{AKI: cert.AuthorityKeyId, Serial: cert.SerialNumber}
}

// serialContent is the content octets of the DER INTEGER n (n ≥ 0): its
// big-endian bytes with a leading zero when the high bit is set.
func serialContent(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// ErrBadCertID is the cause of every error of ParseCertID.
var ErrBadCertID = errors.New("malformed ARI certID")

// ParseCertID parses a certID: two unpadded base64url parts separated by
// one ".", a non-empty key identifier and a positive serial number in DER
// content octets (minimally encoded).
func ParseCertID(s string) (CertID, error) {
	bad := func(why string) (CertID, error) { return CertID{}, fmt.Errorf("%w: %s", ErrBadCertID, why) }
	if !IsBase64URL(strings.ReplaceAll(s, ".", "")) {
		return bad("only base64url characters and one \".\" are allowed")
	}
	a, b, ok := strings.Cut(s, ".")
	if !ok || strings.Contains(b, ".") {
		return bad(`want base64url(keyIdentifier) "." base64url(serial)`)
	}
	aki, err := base64.RawURLEncoding.Strict().DecodeString(a)
	if err != nil || len(aki) == 0 {
		return bad("the key identifier is not unpadded base64url")
	}
	ser, err := base64.RawURLEncoding.Strict().DecodeString(b)
	if err != nil || len(ser) == 0 {
		return bad("the serial number is not unpadded base64url")
	}
	if ser[0]&0x80 != 0 {
		return bad("the serial number is negative")
	}
	if len(ser) > 1 && ser[0] == 0 && ser[1]&0x80 == 0 {
		return bad("the serial number is not minimally encoded")
	}
	if len(ser) > 21 {
		return bad("the serial number is longer than 20 octets")
	}
	n := new(big.Int).SetBytes(ser)
	if n.Sign() == 0 {
		return bad("the serial number is zero")
	}
	if n.BitLen() > 160 {
		return bad("the serial number is longer than 20 octets")
	}
	return CertID{AKI: aki, Serial: n}, nil
}

// SuggestedWindow is the renewal window of a certificate valid from
// notBefore to notAfter (RFC 9773 section 4.2): the middle of the last
// third of its lifetime, from two thirds to eight ninths; for a
// certificate revoked at revokedAt, a window that ended before its
// revocation, so that clients renew at once.
func SuggestedWindow(notBefore, notAfter, revokedAt time.Time) (start, end time.Time) {
	if !revokedAt.IsZero() {
		return revokedAt.Add(-2 * time.Hour), revokedAt.Add(-time.Hour)
	}
	// In seconds, from Unix times: a lifetime beyond time.Duration's 292
	// years (a 9999 NotAfter), or of more than 36 years multiplied by 8,
	// overflowed to a window in the past (review).
	life, base := timeutil.SpanSeconds(notBefore, notAfter), notBefore.Unix()
	return time.Unix(base+life*2/3, 0).In(notBefore.Location()), time.Unix(base+life*8/9, 0).In(notBefore.Location())
}

// Issued is a certificate an endpoint issued: its serial as the issuing CA
// recorded it and its inventory record.
type Issued struct {
	CA          *authority.Record
	Serial      *localstore.Serial
	Certificate *localstore.Certificate
}

// FindIssued finds the certificate with serial (as x509util.FormatSerial
// writes it) that endpoint endpointID issued from a CA of the vault that
// match accepts (nil: any); nil when there is none. A serial recorded
// before serials kept their certificate gets its DER and validity from the
// inventory version that carries it.
func FindIssued(tx localstore.Tx, endpointID, serial string, match func(*authority.Record) bool) (*Issued, error) {
	cas, err := authority.List(tx)
	if err != nil {
		return nil, err
	}
	for _, ca := range cas {
		if match != nil && !match(ca) {
			continue
		}
		sr, err := tx.GetSerial(ca.ID, serial)
		if errors.Is(err, localstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		c, err := tx.GetCertificate(sr.CertID)
		if errors.Is(err, localstore.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if c.AcmeEndpointID != endpointID {
			continue
		}
		if len(sr.DER) == 0 {
			ok, err := fillFromVersion(tx, c.ID, sr)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue // reserved, never signed
			}
		}
		return &Issued{CA: ca, Serial: sr, Certificate: c}, nil
	}
	return nil, nil
}

// fillFromVersion completes sr, a serial recorded before serials kept the
// certificate they were issued for (no DER, no validity), from the version
// of certificate certID that carries it; false when no version does.
func fillFromVersion(tx localstore.Tx, certID string, sr *localstore.Serial) (bool, error) {
	vs, err := tx.ListVersions(certID)
	if err != nil {
		return false, err
	}
	for _, v := range vs {
		if v.Serial != sr.Serial {
			continue
		}
		certs, err := pemio.ParseCertificatesPEM(v.CertificatePEM)
		if err != nil || len(certs) == 0 {
			return false, fmt.Errorf("%w: version %d of certificate %s is unreadable", localstore.ErrCorrupt, v.Number, certID)
		}
		sr.DER, sr.NotBefore, sr.NotAfter = certs[0].Raw, certs[0].NotBefore, certs[0].NotAfter
		return true, nil
	}
	return false, nil
}

// IsBase64URL reports whether s is made only of the base64url alphabet
// (RFC 4648 section 5), without padding: what RFC 7515 and RFC 9773 allow
// in a JWS member or a certID part, before any decoding.
func IsBase64URL(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// KindReplacement indexes, by endpoint and certID, the order that replaces
// a certificate (RFC 9773 section 5), so that a second order replacing it
// is refused (alreadyReplaced) while the first may still succeed.
const KindReplacement = "acme-replacement"

// Replacement is the order that replaces a certificate; Issued once that
// order got its certificate (the order itself may be swept later).
type Replacement struct {
	OrderID string    `json:"orderId"`
	Issued  bool      `json:"issued,omitempty"`
	At      time.Time `json:"at"`
}

// GetReplacement returns the replacement of certID at endpointID (nil when
// none).
func GetReplacement(tx localstore.Tx, endpointID, certID string) (*Replacement, error) {
	r := &Replacement{}
	err := getJSON(tx, KindReplacement, endpointID+"/"+certID, r)
	if errors.Is(err, localstore.ErrNotFound) {
		return nil, nil
	}
	return r, err
}

// PutReplacement records r as the replacement of certID at endpointID.
func PutReplacement(tx localstore.Tx, endpointID, certID string, r *Replacement) error {
	return putJSON(tx, KindReplacement, endpointID+"/"+certID, r, r.At)
}
