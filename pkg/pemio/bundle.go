package pemio

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"fmt"
)

// Bundle is a single PEM file split into its parts.
type Bundle struct {
	Leaf   *x509.Certificate   // the end-entity certificate
	Chain  []*x509.Certificate // the other certificates, leaf's issuer first
	KeyPEM []byte              // the private key block re-encoded as PEM; nil when absent
}

// SplitBundle splits a PEM file holding certificates and at most one private
// key, in any order of blocks.
//
// The leaf is the certificate whose public key matches the private key when
// the key can be read without a passphrase; otherwise the first certificate
// that issues no other certificate of the bundle (non-CA certificates
// preferred). The chain holds the remaining certificates ordered so each
// certifies the one before, the leaf's issuer first; certificates that do
// not fit that path follow in file order (so that import's chain-order rule
// reports them). "EC PARAMETERS" blocks are ignored.
func SplitBundle(data []byte) (Bundle, error) {
	if isBlank(data) {
		return Bundle{}, newErrorf(RuleEmptyFile, "the bundle is empty")
	}
	blocks, err := decodeAll(data)
	if err != nil {
		return Bundle{}, err
	}
	if len(blocks) == 0 {
		if isPKCS12(data) {
			return Bundle{}, newErrorf(RuleCertificateNotPEM, pkcs12Hint)
		}
		return Bundle{}, newErrorf(RuleCertificateNotPEM, "no PEM block found; a bundle is a PEM file")
	}
	var (
		certs   []*x509.Certificate
		keyPEM  []byte
		keySeen bool
		key     *pem.Block
	)
	for _, b := range blocks {
		switch {
		case b.Type == typeCertificate:
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return Bundle{}, newError(RuleInvalidCertificate, fmt.Errorf("certificate %d: %w", len(certs)+1, err))
			}
			certs = append(certs, c)
		case b.Type == typeECParameters:
		case isPrivateKeyType(b.Type):
			if keySeen {
				return Bundle{}, newErrorf(RuleMultiplePrivateKeys, "a bundle must hold exactly one private key")
			}
			keySeen, key = true, b
			keyPEM = pem.EncodeToMemory(b)
		default:
			return Bundle{}, unexpectedBlock(b.Type, "CERTIFICATE or private key")
		}
	}
	if len(certs) == 0 {
		return Bundle{}, newErrorf(RuleNoCertificate, "the bundle holds no CERTIFICATE block")
	}

	leaf := -1
	if key != nil && !isEncrypted(key) {
		if signer, err := parseDERKey(key.Bytes); err == nil {
			leaf = matchKey(certs, signer.Public())
			if leaf < 0 {
				return Bundle{}, newErrorf(RuleKeyMatchesNoCert,
					"the private key does not match any certificate of the bundle")
			}
		}
	}
	if leaf < 0 {
		leaf = guessLeaf(certs)
	}
	return Bundle{Leaf: certs[leaf], Chain: orderChain(certs, leaf), KeyPEM: keyPEM}, nil
}

// matchKey returns the index of the first certificate whose public key is
// pub, or -1.
func matchKey(certs []*x509.Certificate, pub crypto.PublicKey) int {
	eq, ok := pub.(interface{ Equal(crypto.PublicKey) bool })
	if !ok {
		return -1
	}
	for i, c := range certs {
		if eq.Equal(c.PublicKey) {
			return i
		}
	}
	return -1
}

// issued reports whether parent signed child.
func issued(parent, child *x509.Certificate) bool {
	return bytes.Equal(child.RawIssuer, parent.RawSubject) && child.CheckSignatureFrom(parent) == nil
}

// guessLeaf picks the end-entity certificate of a bundle without a usable
// key: the first non-CA certificate that issues no other certificate, else
// the first certificate that issues no other, else the first.
func guessLeaf(certs []*x509.Certificate) int {
	issuesOther := make([]bool, len(certs))
	for i, p := range certs {
		for j, c := range certs {
			if i != j && !bytes.Equal(p.Raw, c.Raw) && issued(p, c) {
				issuesOther[i] = true
				break
			}
		}
	}
	for i, c := range certs {
		if !issuesOther[i] && !c.IsCA {
			return i
		}
	}
	for i := range certs {
		if !issuesOther[i] {
			return i
		}
	}
	return 0
}

// orderChain returns every certificate but certs[leaf], the issuer path from
// the leaf first and the rest in file order.
func orderChain(certs []*x509.Certificate, leaf int) []*x509.Certificate {
	used := make([]bool, len(certs))
	used[leaf] = true
	chain := make([]*x509.Certificate, 0, len(certs)-1)
	cur := certs[leaf]
	for {
		next := -1
		for i, c := range certs {
			if !used[i] && !bytes.Equal(c.Raw, cur.Raw) && issued(c, cur) {
				next = i
				break
			}
		}
		if next < 0 {
			break
		}
		used[next] = true
		chain = append(chain, certs[next])
		cur = certs[next]
	}
	for i, c := range certs {
		if !used[i] {
			chain = append(chain, c)
		}
	}
	return chain
}
