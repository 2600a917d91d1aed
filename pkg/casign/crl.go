package casign

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
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

// ReasonCode maps a revocation reason name (KEY_COMPROMISE, …, exactly as
// ReasonNames spells it) to its RFC 5280 code.
func ReasonCode(name string) (int, bool) {
	code, ok := reasonCodes[name]
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
// nextUpdate. The authority key identifier is issuerCert's (IssuerKeyID). Entries
// with reason UNSPECIFIED carry no reasonCode extension, as RFC 5280
// recommends. The signature algorithm follows the issuer key.
func CreateCRL(issuerCert *x509.Certificate, issuerKey crypto.Signer, entries []Revoked, number *big.Int, thisUpdate, nextUpdate time.Time) ([]byte, error) {
	return CreateCRLWith(issuerCert, issuerKey, entries, number, thisUpdate, nextUpdate, CRLOptions{})
}

// CRLOptions are a CA's CRL settings.
type CRLOptions struct {
	// SignatureAlgorithm, when set, is the CA's signing algorithm (of the
	// key's family).
	SignatureAlgorithm x509.SignatureAlgorithm
	// DistributionPoint, when set, makes the CRL a partition: a critical
	// Issuing Distribution Point extension names this URL, the one the
	// partition's certificates carry as their CRL distribution point.
	DistributionPoint string
}

// CreateCRLWith is CreateCRL with a CA's CRL options.
func CreateCRLWith(issuerCert *x509.Certificate, issuerKey crypto.Signer, entries []Revoked, number *big.Int, thisUpdate, nextUpdate time.Time, opts CRLOptions) ([]byte, error) {
	var l CRLEntries
	for i, e := range entries {
		if err := checkSerial(e.Serial); err != nil {
			return nil, fmt.Errorf("CRL entry %d: %w", i, err)
		}
		if err := l.Add(e.Serial.Bytes(), e.RevokedAt, e.Reason); err != nil {
			return nil, err
		}
	}
	return SignCRL(issuerCert, issuerKey, &l, number, thisUpdate, nextUpdate, opts)
}

// SignCRL returns the DER-encoded X.509 v2 CRL listing l's entries, as
// CreateCRLWith does. A large CRL is built in l's buffer: once signed, l
// takes no more entries and signs no other CRL.
func SignCRL(issuerCert *x509.Certificate, issuerKey crypto.Signer, l *CRLEntries, number *big.Int, thisUpdate, nextUpdate time.Time, opts CRLOptions) ([]byte, error) {
	if l.signed {
		return nil, errSigned
	}
	if issuerCert == nil || issuerKey == nil {
		return nil, errors.New("CRL needs an issuer certificate and key")
	}
	if err := checkCRLNumber(number); err != nil {
		return nil, err
	}
	if !nextUpdate.After(thisUpdate) {
		return nil, errors.New("CRL nextUpdate must be after thisUpdate")
	}
	if !MaySignCRLs(issuerCert) {
		return nil, ErrNoCRLSign
	}
	signerPub, ok := issuerKey.Public().(publicKeyEqual)
	if !ok || !signerPub.Equal(issuerCert.PublicKey) {
		return nil, ErrKeyMismatch
	}
	issuerCert, err := crlIssuer(issuerCert)
	if err != nil {
		return nil, err
	}
	alg, err := signingAlgorithm(opts.SignatureAlgorithm, issuerKey.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.RevocationList{
		SignatureAlgorithm: alg,
		Number:             number,
		ThisUpdate:         thisUpdate.UTC().Truncate(time.Second),
		NextUpdate:         nextUpdate.UTC().Truncate(time.Second),
	}
	if opts.DistributionPoint != "" {
		idp, err := issuingDistributionPoint(opts.DistributionPoint)
		if err != nil {
			return nil, err
		}
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, idp)
	}
	if l.n < fastCRLMin {
		tmpl.RevokedCertificateEntries = l.small
	} else if signerOpts, ok := crlSignerOpts(alg); ok {
		der, err := createCRLSpliced(tmpl, issuerCert, issuerKey, l, signerOpts)
		l.signed = err == nil
		return der, err
	} else {
		return nil, fmt.Errorf("signing CRL: no list encoding for %s", alg)
	}
	der, err := x509.CreateRevocationList(rand.Reader, tmpl, issuerCert, issuerKey)
	if err != nil {
		return nil, fmt.Errorf("signing CRL: %w", err)
	}
	l.signed = true
	return der, nil
}

// ErrNoCRLSign is returned by SignCRL for an issuer whose certificate's Key
// Usage lacks cRLSign (see MaySignCRLs).
var ErrNoCRLSign = errors.New("issuer certificate may not sign CRLs (its Key Usage lacks cRLSign)")

// crlIssuer is issuerCert as x509.CreateRevocationList wants it: with a
// subject key identifier (withKeyID) and, for a certificate without a Key
// Usage extension, which RFC 5280 allows every usage, cRLSign.
func crlIssuer(issuerCert *x509.Certificate) (*x509.Certificate, error) {
	c, err := withKeyID(issuerCert)
	if err != nil {
		return nil, err
	}
	if c.KeyUsage&x509.KeyUsageCRLSign == 0 {
		cp := *c
		cp.KeyUsage |= x509.KeyUsageCRLSign
		c = &cp
	}
	return c, nil
}

// checkCRLNumber enforces RFC 5280 5.2.3: a non-negative integer of at most
// 20 octets.
func checkCRLNumber(n *big.Int) error {
	if n == nil {
		return errors.New("missing CRL number")
	}
	if n.Sign() < 0 {
		return errors.New("CRL number must not be negative")
	}
	if !fitsSerialOctets(n.BitLen()) {
		return errors.New("CRL number longer than 20 octets")
	}
	return nil
}

// issuingDistributionPoint is RFC 5280 5.2.5's critical extension naming
// one distribution point by URI (fullName), no other field set:
//
//	IssuingDistributionPoint ::= SEQUENCE {
//	     distributionPoint          [0] DistributionPointName OPTIONAL, ... }
//	DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
func issuingDistributionPoint(uri string) (pkix.Extension, error) {
	if !isASCII(uri) {
		return pkix.Extension{}, errors.New("distribution point URI is not ASCII")
	}
	name := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 6, Bytes: []byte(uri)}
	nameDER, err := asn1.Marshal(name)
	if err != nil {
		return pkix.Extension{}, err
	}
	fullName := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: nameDER}
	fullDER, err := asn1.Marshal(fullName)
	if err != nil {
		return pkix.Extension{}, err
	}
	dp := asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: fullDER}
	dpDER, err := asn1.Marshal(dp)
	if err != nil {
		return pkix.Extension{}, err
	}
	v, err := asn1.Marshal(asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagSequence, IsCompound: true, Bytes: dpDER})
	if err != nil {
		return pkix.Extension{}, err
	}
	return pkix.Extension{Id: oidIDP, Critical: true, Value: v}, nil
}
