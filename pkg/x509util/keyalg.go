// Package x509util names X.509 values the way ACM does (key algorithms,
// signature algorithms, serial numbers, key usages, distinguished names) and
// enforces ACM's rules for importing and reimporting certificates.
//
// It is a foundation package: it imports no CLI or storage code. The
// smallstep package of the same name, where used, is imported as stepx509.
package x509util

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"strings"
)

// Key algorithm names (SPEC section 1).
const (
	RSA1024      = "RSA_1024"
	RSA2048      = "RSA_2048"
	RSA3072      = "RSA_3072"
	RSA4096      = "RSA_4096"
	ECPrime256v1 = "EC_prime256v1"
	ECSecp384r1  = "EC_secp384r1"
	ECSecp521r1  = "EC_secp521r1"
)

// ImportKeyAlgorithms are the key algorithms `import` accepts: all seven.
// Treat as read-only.
var ImportKeyAlgorithms = []string{RSA1024, RSA2048, RSA3072, RSA4096, ECPrime256v1, ECSecp384r1, ECSecp521r1}

// RequestKeyAlgorithms are the key algorithms `request` accepts, the
// default first. Treat as read-only.
var RequestKeyAlgorithms = []string{RSA2048, ECPrime256v1, ECSecp384r1}

// IsKeyAlgorithm reports whether name is one of the seven key algorithms.
func IsKeyAlgorithm(name string) bool {
	for _, a := range ImportKeyAlgorithms {
		if a == name {
			return true
		}
	}
	return false
}

// IsRSA reports whether the key algorithm name is an RSA one (RSA_2048…).
func IsRSA(name string) bool { return strings.HasPrefix(name, "RSA_") }

// KeyAlgorithmOf returns the key algorithm name of pub, or an error when pub
// is not one of the seven algorithms (e.g. RSA 1536 or Ed25519).
func KeyAlgorithmOf(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return "", fmt.Errorf("empty RSA public key")
		}
		switch bits := k.N.BitLen(); bits {
		case 1024:
			return RSA1024, nil
		case 2048:
			return RSA2048, nil
		case 3072:
			return RSA3072, nil
		case 4096:
			return RSA4096, nil
		default:
			return "", fmt.Errorf("RSA key of %d bits is not supported (RSA 1024, 2048, 3072 or 4096 bits only)", bits)
		}
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return "", fmt.Errorf("empty ECDSA public key")
		}
		switch k.Curve {
		case elliptic.P256():
			return ECPrime256v1, nil
		case elliptic.P384():
			return ECSecp384r1, nil
		case elliptic.P521():
			return ECSecp521r1, nil
		}
		return "", fmt.Errorf("elliptic curve %s is not supported (P-256, P-384 or P-521 only)", k.Curve.Params().Name)
	case nil:
		return "", fmt.Errorf("missing public key")
	default:
		return "", fmt.Errorf("%s keys are not supported (RSA or ECDSA only)", publicKeyTypeName(pub))
	}
}

// publicKeyTypeName names a public key type for error messages.
func publicKeyTypeName(pub crypto.PublicKey) string {
	switch t := fmt.Sprintf("%T", pub); t {
	case "ed25519.PublicKey":
		return "Ed25519"
	case "*dsa.PublicKey":
		return "DSA"
	case "*ecdh.PublicKey":
		return "ECDH"
	default:
		return t
	}
}

// GenerateKey generates a key pair for alg, one of RSA_2048, RSA_3072,
// RSA_4096, EC_prime256v1, EC_secp384r1 and EC_secp521r1 (certctl never
// generates RSA_1024 keys).
func GenerateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	case RSA4096:
		return rsa.GenerateKey(rand.Reader, 4096)
	case ECPrime256v1:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case ECSecp384r1:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case ECSecp521r1:
		return ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	case RSA1024:
		return nil, fmt.Errorf("key algorithm %s is too weak to generate", alg)
	default:
		return nil, fmt.Errorf("unknown key algorithm %q", alg)
	}
}
