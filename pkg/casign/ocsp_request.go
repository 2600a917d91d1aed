package casign

import (
	"bytes"
	"crypto"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
)

// oidOCSPNonce is id-pkix-ocsp-nonce (RFC 6960 4.4.1, RFC 8954).
var oidOCSPNonce = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 2}

// maxNonceOctets is RFC 8954's upper bound for a nonce.
const maxNonceOctets = 32

// maxRequestsPerOCSPRequest bounds the work one OCSP request can cause.
const maxRequestsPerOCSPRequest = 16

// RFC 6960 ASN.1, request side. Go's encoding/asn1 tolerates trailing
// elements in a SEQUENCE, so the optional parts we do not use (a
// requestor name of any GeneralName form, singleRequestExtensions) are read
// as raw values or skipped.
type ocspRequestASN1 struct {
	TBSRequest        tbsRequestASN1
	OptionalSignature asn1.RawValue `asn1:"explicit,tag:0,optional"`
}

type tbsRequestASN1 struct {
	Version       int              `asn1:"explicit,tag:0,default:0,optional"`
	RequestorName asn1.RawValue    `asn1:"explicit,tag:1,optional"`
	RequestList   []requestASN1    `asn1:""`
	Extensions    []pkix.Extension `asn1:"explicit,tag:2,optional"`
}

type requestASN1 struct {
	CertID asn1.RawValue // kept raw so the response echoes it byte for byte
}

type certIDASN1 struct {
	HashAlgorithm  pkix.AlgorithmIdentifier
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	SerialNumber   *big.Int
}

// certID is one certificate asked about in an OCSP request.
type certID struct {
	Raw            []byte // DER of the CertID, echoed in the response
	Hash           crypto.Hash
	IssuerNameHash []byte
	IssuerKeyHash  []byte
	Serial         *big.Int
}

// ocspRequest is a parsed OCSP request.
type ocspRequest struct {
	CertIDs []certID
	// Nonce is the request's nonce extension, echoed unchanged in the
	// response; nil when the request had none.
	Nonce *pkix.Extension
}

var hashOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}, crypto.SHA1},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}, crypto.SHA256},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}, crypto.SHA384},
	{asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}, crypto.SHA512},
}

func hashFromOID(oid asn1.ObjectIdentifier) crypto.Hash {
	for _, h := range hashOIDs {
		if h.oid.Equal(oid) {
			return h.hash
		}
	}
	return 0
}

var errMalformedOCSP = errors.New("malformed OCSP request")

// parseOCSPRequest parses a DER OCSPRequest (RFC 6960 4.1.1). Signed
// requests are accepted but their signature is ignored: nothing the
// responder answers depends on who asks.
func parseOCSPRequest(der []byte) (*ocspRequest, error) {
	var req ocspRequestASN1
	rest, err := asn1.Unmarshal(der, &req)
	if err != nil || len(rest) != 0 {
		return nil, errMalformedOCSP
	}
	tbs := req.TBSRequest
	if tbs.Version != 0 || len(tbs.RequestList) == 0 || len(tbs.RequestList) > maxRequestsPerOCSPRequest {
		return nil, errMalformedOCSP
	}
	out := &ocspRequest{CertIDs: make([]certID, 0, len(tbs.RequestList))}
	for _, r := range tbs.RequestList {
		var id certIDASN1
		rest, err := asn1.Unmarshal(r.CertID.FullBytes, &id)
		if err != nil || len(rest) != 0 || id.SerialNumber == nil {
			return nil, errMalformedOCSP
		}
		// The CertID is echoed in the CA-signed response, so it must be
		// exactly what was parsed: encoding/asn1 ignores elements after
		// the last field of a SEQUENCE, which would let a client have the
		// CA sign bytes of its choosing. DER has one encoding, so a
		// re-encoding that differs means the CertID was not DER.
		if !hashParametersOK(id.HashAlgorithm.Parameters) {
			return nil, errMalformedOCSP
		}
		if again, err := asn1.Marshal(id); err != nil || !bytes.Equal(again, r.CertID.FullBytes) {
			return nil, errMalformedOCSP
		}
		h := hashFromOID(id.HashAlgorithm.Algorithm)
		if h == 0 || !h.Available() || len(id.IssuerNameHash) != h.Size() || len(id.IssuerKeyHash) != h.Size() {
			return nil, errMalformedOCSP
		}
		out.CertIDs = append(out.CertIDs, certID{
			Raw:            r.CertID.FullBytes,
			Hash:           h,
			IssuerNameHash: id.IssuerNameHash,
			IssuerKeyHash:  id.IssuerKeyHash,
			Serial:         id.SerialNumber,
		})
	}
	for i, ext := range tbs.Extensions {
		if !ext.Id.Equal(oidOCSPNonce) {
			continue
		}
		if out.Nonce != nil || !validNonce(ext.Value) {
			return nil, errMalformedOCSP
		}
		out.Nonce = &pkix.Extension{Id: oidOCSPNonce, Value: tbs.Extensions[i].Value}
	}
	return out, nil
}

// hashParametersOK accepts the parameters a hash AlgorithmIdentifier may
// have (RFC 5754 2): none, or NULL. Anything else would also be echoed.
func hashParametersOK(p asn1.RawValue) bool {
	return len(p.FullBytes) == 0 || bytes.Equal(p.FullBytes, asn1.NullBytes)
}

// validNonce checks a nonce extension's value. RFC 8954 defines it as an
// OCTET STRING of 1 to 32 octets; some older clients put the raw octets in
// the extension value unwrapped, which is accepted with the same bounds.
func validNonce(value []byte) bool {
	var inner []byte
	if rest, err := asn1.Unmarshal(value, &inner); err == nil && len(rest) == 0 {
		return len(inner) >= 1 && len(inner) <= maxNonceOctets
	}
	return len(value) >= 1 && len(value) <= maxNonceOctets
}
