package casign

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// RFC 5280 section 5.3.1 CRLReason codes, named as in the SPEC (and AWS).
var reasonCodes = map[string]int{
	"UNSPECIFIED":            0,
	"KEY_COMPROMISE":         1,
	"CA_COMPROMISE":          2,
	"AFFILIATION_CHANGED":    3,
	"SUPERSEDED":             4,
	"CESSATION_OF_OPERATION": 5,
	"CERTIFICATE_HOLD":       6,
	"PRIVILEGE_WITHDRAWN":    9,
	"A_A_COMPROMISE":         10,
}

// reasonNames is the reverse of reasonCodes, indexed by code ("" = no name).
var reasonNames = func() [11]string {
	var names [11]string
	for name, code := range reasonCodes {
		names[code] = name
	}
	return names
}()

// ReasonNames lists the revocation reason names in code order.
func ReasonNames() []string {
	out := make([]string, 0, len(reasonCodes))
	for _, n := range reasonNames {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// ReasonCode maps a revocation reason name (KEY_COMPROMISE, …; case does not
// matter) to its RFC 5280 code.
func ReasonCode(name string) (int, bool) {
	code, ok := reasonCodes[strings.ToUpper(name)]
	return code, ok
}

// ReasonName maps an RFC 5280 reason code to its name, or "" for a code
// certctl does not use (7 is unassigned, 8 removeFromCRL is for delta CRLs).
func ReasonName(code int) string {
	if code < 0 || code >= len(reasonNames) {
		return ""
	}
	return reasonNames[code]
}

// Revoked is one revoked certificate.
type Revoked struct {
	Serial    *big.Int
	RevokedAt time.Time
	Reason    int // RFC 5280 reason code, see ReasonCode
}

// CreateCRL returns a DER-encoded X.509 v2 CRL signed by issuerKey on behalf
// of issuerCert, listing entries, with CRL number number, thisUpdate and
// nextUpdate. The authority key identifier comes from issuerCert. Entries
// with reason UNSPECIFIED carry no reasonCode extension, as RFC 5280
// recommends. The signature algorithm follows the issuer key.
func CreateCRL(issuerCert *x509.Certificate, issuerKey crypto.Signer, entries []Revoked, number *big.Int, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	if issuerCert == nil || issuerKey == nil {
		return nil, errors.New("ca: CRL needs an issuer certificate and key")
	}
	if err := checkCRLNumber(number); err != nil {
		return nil, err
	}
	if !nextUpdate.After(thisUpdate) {
		return nil, errors.New("ca: CRL nextUpdate must be after thisUpdate")
	}
	if issuerCert.KeyUsage&x509.KeyUsageCRLSign == 0 {
		return nil, errors.New("ca: issuer certificate may not sign CRLs (no cRLSign)")
	}
	signerPub, ok := issuerKey.Public().(publicKeyEqual)
	if !ok || !signerPub.Equal(issuerCert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	alg, err := SignatureAlgorithm(issuerKey.Public())
	if err != nil {
		return nil, fmt.Errorf("ca: signing key: %w", err)
	}

	list := make([]x509.RevocationListEntry, len(entries))
	for i, e := range entries {
		if err := checkSerial(e.Serial); err != nil {
			return nil, fmt.Errorf("ca: CRL entry %d: %w", i, err)
		}
		if ReasonName(e.Reason) == "" {
			return nil, fmt.Errorf("ca: CRL entry %d: invalid reason code %d", i, e.Reason)
		}
		list[i] = x509.RevocationListEntry{
			SerialNumber:   e.Serial,
			RevocationTime: e.RevokedAt.UTC().Truncate(time.Second),
			ReasonCode:     e.Reason, // 0 (unspecified) leaves the extension out
		}
	}
	tmpl := &x509.RevocationList{
		SignatureAlgorithm:        alg,
		RevokedCertificateEntries: list,
		Number:                    number,
		ThisUpdate:                thisUpdate.UTC().Truncate(time.Second),
		NextUpdate:                nextUpdate.UTC().Truncate(time.Second),
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuerCert, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("ca: signing CRL: %w", err)
	}
	return der, nil
}

// checkCRLNumber enforces RFC 5280 5.2.3: a non-negative integer of at most
// 20 octets.
func checkCRLNumber(n *big.Int) error {
	if n == nil {
		return errors.New("ca: missing CRL number")
	}
	if n.Sign() < 0 {
		return errors.New("ca: CRL number must not be negative")
	}
	if n.BitLen()/8+1 > maxSerialOctets {
		return errors.New("ca: CRL number longer than 20 octets")
	}
	return nil
}
