package pemio

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
)

// maxPBKDF2Iterations bounds the work an encrypted key file can demand
// before its passphrase is checked (a hostile file could otherwise ask for
// billions of iterations).
const maxPBKDF2Iterations = 10_000_000

var (
	oidPBES2          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACWithSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
)

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt           asn1.RawValue
	IterationCount int
	KeyLength      int                      `asn1:"optional"`
	PRF            pkix.AlgorithmIdentifier `asn1:"optional"`
}

// checkPBES2 inspects the parameters of an encrypted PKCS #8 key before it
// is decrypted, so that unsupported schemes get a clear message instead of
// "incorrect passphrase", and absurd iteration counts are refused. The
// decryption itself is pemutil's.
func checkPBES2(der []byte) error {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return newErrorf(RuleInvalidPrivateKey, "malformed encrypted PKCS #8 structure")
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return newError(RuleUnsupportedEncryption,
			fmt.Errorf("scheme %s is not supported; re-encrypt with: openssl pkcs8 -topk8 -v2 aes-256-cbc", info.Algorithm.Algorithm))
	}
	var params pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &params); err != nil {
		return newErrorf(RuleInvalidPrivateKey, "malformed PBES2 parameters")
	}
	if !params.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return newError(RuleUnsupportedEncryption,
			fmt.Errorf("key derivation %s is not supported, only PBKDF2", params.KeyDerivationFunc.Algorithm))
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(params.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return newErrorf(RuleInvalidPrivateKey, "malformed PBKDF2 parameters")
	}
	if kdf.IterationCount < 1 || kdf.IterationCount > maxPBKDF2Iterations {
		return newError(RuleUnsupportedEncryption,
			fmt.Errorf("PBKDF2 iteration count %d is outside 1..%d", kdf.IterationCount, maxPBKDF2Iterations))
	}
	prf := kdf.PRF.Algorithm
	if len(prf) != 0 && !prf.Equal(oidHMACWithSHA1) && !prf.Equal(oidHMACWithSHA256) {
		return newError(RuleUnsupportedEncryption,
			fmt.Errorf("PBKDF2 PRF %s is not supported, only HMAC-SHA1 and HMAC-SHA256", prf))
	}
	return nil
}
