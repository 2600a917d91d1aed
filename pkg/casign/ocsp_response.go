package casign

import (
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"time"

	"golang.org/x/crypto/ocsp"
)

// RFC 6960 ASN.1, response side. golang.org/x/crypto/ocsp cannot put
// extensions in responseExtensions (where the nonce belongs) nor take the
// producedAt time from our clock, so the response is assembled here; the
// signature itself is the CA's crypto.Signer.
type ocspResponseASN1 struct {
	Status   asn1.Enumerated
	Response responseBytesASN1 `asn1:"explicit,tag:0,optional"`
}

type responseBytesASN1 struct {
	ResponseType asn1.ObjectIdentifier
	Response     []byte
}

type basicResponseASN1 struct {
	TBSResponseData    asn1.RawValue
	SignatureAlgorithm pkix.AlgorithmIdentifier
	Signature          asn1.BitString
}

type responseDataASN1 struct {
	Version     int `asn1:"optional,default:0,explicit,tag:0"`
	ResponderID asn1.RawValue
	ProducedAt  time.Time `asn1:"generalized"`
	Responses   []singleResponseASN1
	Extensions  []pkix.Extension `asn1:"explicit,tag:1,optional"`
}

type singleResponseASN1 struct {
	CertID     asn1.RawValue
	Good       asn1.Flag       `asn1:"tag:0,optional"`
	Revoked    revokedInfoASN1 `asn1:"tag:1,optional"`
	Unknown    asn1.Flag       `asn1:"tag:2,optional"`
	ThisUpdate time.Time       `asn1:"generalized"`
	NextUpdate time.Time       `asn1:"generalized,explicit,tag:0,optional"`
}

type revokedInfoASN1 struct {
	RevocationTime time.Time       `asn1:"generalized"`
	Reason         asn1.Enumerated `asn1:"explicit,tag:0,optional"` // 0 (unspecified) is left out
}

var oidOCSPBasic = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 48, 1, 1}

// signatureAlgorithmOIDs are the AlgorithmIdentifiers of the algorithms
// SignatureAlgorithm picks (RFC 4055 / RFC 5758).
var signatureAlgorithmOIDs = map[x509.SignatureAlgorithm]pkix.AlgorithmIdentifier{
	x509.SHA256WithRSA:   {Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, Parameters: asn1.NullRawValue},
	x509.SHA384WithRSA:   {Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, Parameters: asn1.NullRawValue},
	x509.SHA512WithRSA:   {Algorithm: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, Parameters: asn1.NullRawValue},
	x509.ECDSAWithSHA256: {Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}},
	x509.ECDSAWithSHA384: {Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}},
	x509.ECDSAWithSHA512: {Algorithm: asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}},
}

// singleAnswer is the status of one CertID of a request.
type singleAnswer struct {
	id     certID
	status Status
}

// signOCSPResponse builds a successful BasicOCSPResponse for answers, signed
// directly by the issuing CA (responder ID byName = the CA's subject),
// with the CA's signature algorithm (tester: the key's default, whatever
// the CA's --signing-algorithm).
func signOCSPResponse(issuer IssuerInfo, answers []singleAnswer, nonce *pkix.Extension, now time.Time, validity time.Duration) ([]byte, error) {
	alg, err := signingAlgorithm(issuer.SignatureAlgorithm, issuer.Signer.Public())
	if err != nil {
		return nil, err
	}
	algID, ok := signatureAlgorithmOIDs[alg]
	if !ok {
		return nil, fmt.Errorf("no OCSP signature algorithm for %v", alg)
	}
	// producedAt is when it is signed; the status it gives held a
	// moment before (thisUpdate backdated as a certificate's NotBefore
	// is, for clocks running behind), and until validity from now.
	now = now.UTC().Truncate(time.Second)
	data := responseDataASN1{
		ResponderID: asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 1, IsCompound: true, Bytes: issuer.Cert.RawSubject},
		ProducedAt:  now,
	}
	for _, a := range answers {
		r := singleResponseASN1{
			CertID:     asn1.RawValue{FullBytes: a.id.Raw},
			ThisUpdate: now.Add(-Backdate),
			NextUpdate: now.Add(validity),
		}
		if at := a.status.RevokedAt.UTC().Truncate(time.Second); a.status.Revoked && at.After(r.ThisUpdate) {
			// Not before the revocation it reports, nor after now,
			// as the CRL's thisUpdate (authority's crlThisUpdate;
			// tester).
			if at.After(now) {
				at = now
			}
			r.ThisUpdate = at
		}
		switch {
		case !a.status.Known:
			r.Unknown = true
		case a.status.Revoked:
			if a.status.RevokedAt.IsZero() {
				return nil, fmt.Errorf("revoked certificate %x has no revocation time", a.id.Serial)
			}
			r.Revoked = revokedInfoASN1{
				RevocationTime: a.status.RevokedAt.UTC().Truncate(time.Second),
				Reason:         asn1.Enumerated(a.status.Reason),
			}
		default:
			r.Good = true
		}
		data.Responses = append(data.Responses, r)
	}
	if nonce != nil {
		data.Extensions = []pkix.Extension{*nonce}
	}
	tbs, err := asn1.Marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encoding OCSP response: %w", err)
	}
	h := hashFor(alg)
	digest := h.New()
	digest.Write(tbs)
	sig, err := issuer.Signer.Sign(rand.Reader, digest.Sum(nil), h)
	if err != nil {
		return nil, fmt.Errorf("signing OCSP response: %w", err)
	}
	basic, err := asn1.Marshal(basicResponseASN1{
		TBSResponseData:    asn1.RawValue{FullBytes: tbs},
		SignatureAlgorithm: algID,
		Signature:          asn1.BitString{Bytes: sig, BitLength: 8 * len(sig)},
	})
	if err != nil {
		return nil, fmt.Errorf("encoding OCSP response: %w", err)
	}
	return asn1.Marshal(ocspResponseASN1{
		Status:   asn1.Enumerated(ocsp.Success),
		Response: responseBytesASN1{ResponseType: oidOCSPBasic, Response: basic},
	})
}

// issuerHashes returns the CertID issuer name and key hashes of cert under h.
func issuerHashes(cert *x509.Certificate, h crypto.Hash) (nameHash, keyHash []byte, err error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, nil, err
	}
	d := h.New()
	d.Write(cert.RawSubject)
	nameHash = d.Sum(nil)
	d.Reset()
	d.Write(spki.PublicKey.RightAlign())
	return nameHash, d.Sum(nil), nil
}
