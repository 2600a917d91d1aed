package casign

import (
	"crypto"
	"crypto/dsa"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"fmt"
)

// minRSABits is the smallest RSA modulus the CA signs or signs with.
const minRSABits = 2048

// maxRSABits bounds RSA moduli so that a hostile CSR cannot make signature
// verification arbitrarily slow.
const maxRSABits = 8192

// checkPublicKey accepts the key types certctl issues certificates for: RSA
// of 2048 to 8192 bits and ECDSA on P-256, P-384 or P-521.
func checkPublicKey(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return fmt.Errorf("empty RSA public key")
		}
		if bits := k.N.BitLen(); bits < minRSABits || bits > maxRSABits {
			return fmt.Errorf("unsupported RSA key size %d bits (want %d to %d)", bits, minRSABits, maxRSABits)
		}
		return nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return fmt.Errorf("empty ECDSA public key")
		}
		switch k.Curve {
		case elliptic.P256(), elliptic.P384(), elliptic.P521():
			return nil
		}
		return unsupportedCurve(k.Curve.Params().Name)
	case ed25519.PublicKey:
		return fmt.Errorf("Ed25519 keys are not supported; %s", supportedKeys)
	case *dsa.PublicKey:
		return fmt.Errorf("DSA keys are not supported; %s", supportedKeys)
	case nil:
		return fmt.Errorf("missing public key")
	default:
		return fmt.Errorf("public keys of type %T are not supported; %s", pub, supportedKeys)
	}
}

// supportedKeys names the keys checkPublicKey accepts, for its messages.
const supportedKeys = "use RSA (2048 to 8192 bits) or ECDSA (P-256, P-384 or P-521)"

func unsupportedCurve(name string) error {
	return fmt.Errorf("elliptic curve %s is not supported; use P-256, P-384 or P-521", name)
}

// SignatureAlgorithm returns the signature algorithm a CA whose public key is
// pub signs with. The family always matches the key: RSA PKCS #1 v1.5 with
// SHA-256 (SHA-384 for moduli of 4096 bits and more), ECDSA with the hash
// matching the curve (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512).
func SignatureAlgorithm(pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	if err := checkPublicKey(pub); err != nil {
		return x509.UnknownSignatureAlgorithm, err
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() >= 4096 {
			return x509.SHA384WithRSA, nil
		}
		return x509.SHA256WithRSA, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P384():
			return x509.ECDSAWithSHA384, nil
		case elliptic.P521():
			return x509.ECDSAWithSHA512, nil
		}
		return x509.ECDSAWithSHA256, nil
	}
	return x509.UnknownSignatureAlgorithm, fmt.Errorf("unsupported public key type %T", pub)
}

// SigningAlgorithmName returns the AWS Private CA name of the signing
// algorithm used by a CA whose public key is pub, e.g. "SHA256WITHRSA" or
// "SHA384WITHECDSA".
func SigningAlgorithmName(pub crypto.PublicKey) (string, error) {
	alg, err := SignatureAlgorithm(pub)
	if err != nil {
		return "", err
	}
	switch alg {
	case x509.SHA256WithRSA:
		return "SHA256WITHRSA", nil
	case x509.SHA384WithRSA:
		return "SHA384WITHRSA", nil
	case x509.ECDSAWithSHA256:
		return "SHA256WITHECDSA", nil
	case x509.ECDSAWithSHA384:
		return "SHA384WITHECDSA", nil
	case x509.SHA512WithRSA:
		return "SHA512WITHRSA", nil
	default:
		return "SHA512WITHECDSA", nil
	}
}

// hashFor returns the digest used with a signature algorithm chosen by
// SignatureAlgorithm.
func hashFor(alg x509.SignatureAlgorithm) crypto.Hash {
	switch alg {
	case x509.SHA384WithRSA, x509.ECDSAWithSHA384:
		return crypto.SHA384
	case x509.ECDSAWithSHA512, x509.SHA512WithRSA:
		return crypto.SHA512
	default:
		return crypto.SHA256
	}
}

// SigningAlgorithms are AWS Private CA's signing algorithm names certctl
// signs with.
var SigningAlgorithms = []string{"SHA256WITHRSA", "SHA384WITHRSA", "SHA512WITHRSA", "SHA256WITHECDSA", "SHA384WITHECDSA", "SHA512WITHECDSA"}

var signingAlgorithms = map[string]x509.SignatureAlgorithm{
	"SHA256WITHRSA": x509.SHA256WithRSA, "SHA384WITHRSA": x509.SHA384WithRSA, "SHA512WITHRSA": x509.SHA512WithRSA,
	"SHA256WITHECDSA": x509.ECDSAWithSHA256, "SHA384WITHECDSA": x509.ECDSAWithSHA384, "SHA512WITHECDSA": x509.ECDSAWithSHA512,
}

// ParseSigningAlgorithm maps an AWS Private CA signing algorithm name to
// crypto/x509's, refusing one of another family than the key pub.
func ParseSigningAlgorithm(name string, pub crypto.PublicKey) (x509.SignatureAlgorithm, error) {
	alg, ok := signingAlgorithms[name]
	if !ok {
		return 0, fmt.Errorf("unknown signing algorithm %q", truncate(name))
	}
	return signingAlgorithm(alg, pub)
}

// SigningAlgorithmFamilyOK reports whether the signing algorithm name
// belongs to the family of key algorithm keyAlg (RSA_* or EC_*).
func SigningAlgorithmFamilyOK(name, keyAlg string) bool {
	alg, ok := signingAlgorithms[name]
	if !ok {
		return false
	}
	if family(alg) == x509.RSA {
		return len(keyAlg) > 4 && keyAlg[:4] == "RSA_"
	}
	return len(keyAlg) > 3 && keyAlg[:3] == "EC_"
}

func family(alg x509.SignatureAlgorithm) x509.PublicKeyAlgorithm {
	switch alg {
	case x509.SHA256WithRSA, x509.SHA384WithRSA, x509.SHA512WithRSA:
		return x509.RSA
	case x509.ECDSAWithSHA256, x509.ECDSAWithSHA384, x509.ECDSAWithSHA512:
		return x509.ECDSA
	}
	return x509.UnknownPublicKeyAlgorithm
}
