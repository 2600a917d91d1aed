package pemio

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"

	"go.step.sm/crypto/pemutil"
)

// ParsePrivateKeyPEM parses a PEM file holding exactly one RSA or ECDSA
// private key: PKCS #1 ("RSA PRIVATE KEY"), SEC 1 ("EC PRIVATE KEY", an
// "EC PARAMETERS" block beside it is allowed), PKCS #8 ("PRIVATE KEY"),
// encrypted PKCS #8 ("ENCRYPTED PRIVATE KEY", PBES2 with PBKDF2) or legacy
// encrypted PEM ("Proc-Type: 4,ENCRYPTED").
//
// An encrypted key with a nil passphrase yields an *Error wrapping
// ErrEncryptedKey; a wrong passphrase one wrapping ErrIncorrectPassphrase.
// A passphrase given for a key that is not encrypted is ignored.
func ParsePrivateKeyPEM(data []byte, passphrase []byte) (crypto.Signer, error) {
	block, err := privateKeyBlock(data)
	if err != nil {
		return nil, err
	}
	return parseKeyBlock(block, passphrase)
}

// ParsePrivateKeyPEMSized is ParsePrivateKeyPEM, also returning the size in
// bytes of the key's block as PEM — what ACM's limit on a key's size
// measures — without what surrounds it in the file (openssl pkey -text's
// dump of the key, an EC PARAMETERS block): the same key given so or in a
// bundle has the same size (tester). The file is decoded once.
func ParsePrivateKeyPEMSized(data []byte, passphrase []byte) (crypto.Signer, int, error) {
	block, err := privateKeyBlock(data)
	if err != nil {
		return nil, len(data), err
	}
	key, err := parseKeyBlock(block, passphrase)
	return key, len(pem.EncodeToMemory(block)), err
}

// privateKeyBlock finds the one private key block of data.
func privateKeyBlock(data []byte) (*pem.Block, error) {
	if isBlank(data) {
		return nil, newErrorf(RuleEmptyFile, "no private key found")
	}
	blocks, err := decodeAll(data)
	if err != nil {
		return nil, err
	}
	if len(blocks) == 0 {
		if isPKCS12(data) {
			return nil, newErrorf(RulePrivateKeyNotPEM, pkcs12Hint)
		}
		if _, derErr := parseDERKey(data); derErr == nil || looksLikeDER(data) {
			return nil, newErrorf(RulePrivateKeyNotPEM,
				"the file is DER; PEM is required (convert it with: openssl pkey -inform der -in key.der -out key.pem)")
		}
		return nil, newErrorf(RulePrivateKeyNotPEM, "no PEM block found")
	}
	var key *pem.Block
	for _, b := range blocks {
		switch {
		case b.Type == typeECParameters:
			continue
		case isPrivateKeyType(b.Type):
			if key != nil {
				return nil, newErrorf(RuleMultiplePrivateKeys, "the file must hold exactly one private key")
			}
			key = b
		default:
			return nil, unexpectedBlock(b.Type, "a private key")
		}
	}
	if key == nil {
		return nil, newErrorf(RuleNoPrivateKey, "the file holds no private key block")
	}
	return key, nil
}

// looksLikeDER reports whether data starts like a DER SEQUENCE, which is
// enough to tell the user to convert rather than calling the file garbage.
func looksLikeDER(data []byte) bool { return len(data) > 2 && data[0] == 0x30 }

// isEncrypted reports whether a private key block is encrypted.
func isEncrypted(b *pem.Block) bool {
	return b.Type == typeEncryptedPKCS8 || b.Headers[typeLegacyProcType] == legacyEncryptedFlag
}

// parseKeyBlock decrypts (when needed) and parses one private key block.
func parseKeyBlock(b *pem.Block, passphrase []byte) (crypto.Signer, error) {
	switch b.Type {
	case typeOpenSSHPrivate:
		return nil, newErrorf(RuleUnsupportedKey,
			"OpenSSH private keys are not supported (convert with: ssh-keygen -p -m PEM -f KEY)")
	case typeDSAPrivateKey:
		return nil, newErrorf(RuleUnsupportedKey, "DSA keys are not supported; use RSA or ECDSA")
	}
	der := b.Bytes
	if isEncrypted(b) {
		if passphrase == nil {
			return nil, newError(RuleEncryptedKey, ErrEncryptedKey)
		}
		var err error
		der, err = decrypt(b, passphrase)
		if err != nil {
			return nil, err
		}
	}
	key, err := parseDERKey(der)
	var pe *Error
	if err != nil && isEncrypted(b) && errors.As(err, &pe) && pe.Rule == RuleInvalidPrivateKey {
		// Decryption with a wrong passphrase can yield noise that passes
		// the padding check; it then fails to parse.
		return nil, newError(RuleIncorrectPassphrase, ErrIncorrectPassphrase)
	}
	return key, err
}

// decrypt returns the DER inside an encrypted private key block.
func decrypt(b *pem.Block, passphrase []byte) ([]byte, error) {
	var (
		der []byte
		err error
	)
	if b.Type == typeEncryptedPKCS8 {
		if perr := checkPBES2(b.Bytes); perr != nil {
			return nil, perr
		}
		der, err = pemutil.DecryptPKCS8PrivateKey(bytes.Clone(b.Bytes), passphrase)
	} else {
		c := *b
		c.Bytes = bytes.Clone(b.Bytes)
		der, err = pemutil.DecryptPEMBlock(&c, passphrase)
	}
	switch {
	case err == nil:
		return der, nil
	case errors.Is(err, x509.IncorrectPasswordError):
		return nil, newError(RuleIncorrectPassphrase, ErrIncorrectPassphrase)
	default:
		return nil, newError(RuleUnsupportedEncryption, err)
	}
}

// parseDERKey parses an unencrypted private key in PKCS #8, PKCS #1 or SEC 1
// form, accepting RSA and ECDSA keys only.
func parseDERKey(der []byte) (crypto.Signer, error) {
	k8, err8 := x509.ParsePKCS8PrivateKey(der)
	if isUnknownCurve(err8) {
		return nil, errUnknownCurve(der)
	}
	if k, err := k8, err8; err == nil {
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		default:
			return nil, newErrorf(RuleUnsupportedKey,
				fmt.Sprintf("%s keys are not supported; use RSA or ECDSA", keyTypeName(k)))
		}
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	} else if isUnknownCurve(err) {
		return nil, errUnknownCurve(der)
	}
	if name := readableAlgorithm(pkcs8OID(der)); name != "" {
		// An algorithm crypto/x509 reads, whose key it could not read:
		// damaged, not unsupported (security tester: a changed byte in
		// an RSA key was "keys of algorithm 1.2.840.113549.1.1.1 are
		// not supported; use RSA or ECDSA").
		return nil, newErrorf(RuleInvalidPrivateKey, fmt.Sprintf("the %s private key is damaged: %v", name, err8))
	}
	if name := pkcs8Algorithm(der); name != "" {
		return nil, newErrorf(RuleUnsupportedKey, fmt.Sprintf("%s are not supported; use RSA or ECDSA", name))
	}
	return nil, newErrorf(RuleInvalidPrivateKey, "not a PKCS #8, PKCS #1 or SEC 1 private key")
}

// pkcs8Algorithms name the key algorithms of PKCS #8 keys that crypto/x509
// does not read, by OID.
var pkcs8Algorithms = map[string]string{
	"1.2.840.10040.4.1":     "DSA",
	"1.2.840.113549.1.1.10": "RSA-PSS",
	"1.2.840.113549.1.3.1":  "Diffie-Hellman",
	"1.2.840.10046.2.1":     "Diffie-Hellman",
	"1.3.101.111":           "X448",
	"1.3.101.113":           "Ed448",
	"1.2.643.2.2.19":        "GOST R 34.10-2001",
	"1.2.156.10197.1.301":   "SM2",
}

// readableAlgorithm names the key algorithm of PKCS #8 keys that
// crypto/x509 reads, by OID ("" for another; a switch, not a map: no
// allocation at start-up).
func readableAlgorithm(oid string) string {
	switch oid {
	case "1.2.840.113549.1.1.1":
		return "RSA"
	case "1.2.840.10045.2.1":
		return "EC"
	case "1.3.101.112":
		return "Ed25519"
	case "1.3.101.110":
		return "X25519"
	}
	return ""
}

// pkcs8OID is the key algorithm OID of a well-formed PKCS #8 key ("" when
// der is not one).
func pkcs8OID(der []byte) string {
	var k struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	rest, err := asn1.Unmarshal(der, &k)
	if err != nil || len(rest) > 0 {
		return ""
	}
	return k.Algorithm.Algorithm.String()
}

// pkcs8Algorithm names the keys of the algorithm of a well-formed PKCS #8
// key that crypto/x509 could not read ("DSA keys", else by OID); "" when
// der is not PKCS #8.
func pkcs8Algorithm(der []byte) string {
	oid := pkcs8OID(der)
	if oid == "" {
		return ""
	}
	if name, ok := pkcs8Algorithms[oid]; ok {
		return name + " keys"
	}
	return "keys of algorithm " + oid
}

// errUnknownCurve refuses the EC key der (PKCS #8 or SEC 1) on a curve
// crypto/x509 does not know (secp256k1, a Brainpool curve), or whose curve
// is written out as explicit parameters rather than named — P-256 so is
// refused too, and the hint says how to name it (tester: "not supported"
// for a P-256 key).
func errUnknownCurve(der []byte) error {
	if explicitCurve(der) {
		return newErrorf(RuleUnsupportedKey, "its elliptic curve is given by explicit parameters, not by name; "+
			"name it (openssl ec -in KEY -param_enc named_curve -out NAMED.key) — P-256, P-384 or P-521")
	}
	return newErrorf(RuleUnsupportedKey, "its elliptic curve is not supported; use P-256, P-384 or P-521")
}

// explicitCurve reports whether the EC key der, PKCS #8 or SEC 1, gives its
// curve as an ECParameters SEQUENCE (RFC 3279) instead of a named curve's
// OID (RFC 5480 allows only the name).
func explicitCurve(der []byte) bool {
	var p8 struct {
		Version    int
		Algorithm  pkix.AlgorithmIdentifier
		PrivateKey []byte
	}
	if rest, err := asn1.Unmarshal(der, &p8); err == nil && len(rest) == 0 {
		return isSequence(p8.Algorithm.Parameters)
	}
	var sec1 struct {
		Version    int
		PrivateKey []byte
		Params     asn1.RawValue  `asn1:"optional,tag:0"` // [0] EXPLICIT, unwrapped below
		PublicKey  asn1.BitString `asn1:"optional,explicit,tag:1"`
	}
	if rest, err := asn1.Unmarshal(der, &sec1); err != nil || len(rest) > 0 {
		return false
	}
	var params asn1.RawValue
	rest, err := asn1.Unmarshal(sec1.Params.Bytes, &params)
	return err == nil && len(rest) == 0 && isSequence(params)
}

func isSequence(v asn1.RawValue) bool {
	return v.Class == asn1.ClassUniversal && v.Tag == asn1.TagSequence && v.IsCompound
}

// isUnknownCurve reports whether x509.ParseECPrivateKey failed because the
// curve is not one Go supports.
func isUnknownCurve(err error) bool {
	return err != nil && bytes.Contains([]byte(err.Error()), []byte("unknown elliptic curve"))
}

// keyTypeName names a parsed PKCS #8 key type for error messages.
func keyTypeName(k any) string {
	switch fmt.Sprintf("%T", k) {
	case "ed25519.PrivateKey":
		return "Ed25519"
	case "*ecdh.PrivateKey":
		return "X25519"
	}
	return fmt.Sprintf("%T", k)
}

// EncodePKCS8 encodes key as an unencrypted PKCS #8 "PRIVATE KEY" PEM block.
func EncodePKCS8(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, newError(RuleUnsupportedKey, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typePrivateKey, Bytes: der}), nil
}

// EncodeEncryptedPKCS8 encodes key as an "ENCRYPTED PRIVATE KEY" PEM block:
// PKCS #8 with PBES2, AES-256-CBC and PBKDF2-HMAC-SHA256, as read by
// `openssl pkey -passin`. An empty passphrase is refused.
func EncodeEncryptedPKCS8(key crypto.Signer, passphrase []byte) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, newErrorf(RuleEmptyPassphrase, "a passphrase is required to encrypt the private key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, newError(RuleUnsupportedKey, err)
	}
	block, err := pemutil.EncryptPKCS8PrivateKey(rand.Reader, der, passphrase, x509.PEMCipherAES256)
	if err != nil {
		return nil, fmt.Errorf("encrypt private key: %w", err)
	}
	return pem.EncodeToMemory(block), nil
}
