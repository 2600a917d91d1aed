// Package pemio reads and writes certctl's key material: PEM certificates
// and chains, private keys (plain or encrypted), single-file bundles, and
// the export formats (encrypted PKCS #8 and PKCS #12).
//
// Every parse failure is an *Error naming the rule that was broken, so the
// commands can print "cert.pem: certificate is not PEM: …" and map it to the
// invalid-input exit code. Errors never carry key material or passphrases.
package pemio

import (
	"errors"
	"strings"
)

// Rules named by Error.Rule.
const (
	RuleEmptyFile             = "empty file"
	RuleCertificateNotPEM     = "certificate is not PEM"
	RulePrivateKeyNotPEM      = "private key is not PEM"
	RuleMalformedPEM          = "malformed PEM"
	RuleUnexpectedBlock       = "unexpected PEM block"
	RuleInvalidCertificate    = "invalid certificate"
	RuleInvalidPrivateKey     = "invalid private key"
	RuleNoPrivateKey          = "no private key"
	RuleMultiplePrivateKeys   = "more than one private key"
	RuleUnsupportedKey        = "unsupported key algorithm"
	RuleUnsupportedEncryption = "unsupported private key encryption"
	RuleEncryptedKey          = "private key is encrypted"
	RuleIncorrectPassphrase   = "incorrect passphrase"
	RuleNoCertificate         = "no certificate"
	RuleKeyMatchesNoCert      = "private key matches no certificate"
	RuleEmptyPassphrase       = "empty passphrase"
)

// ErrEncryptedKey is wrapped (inside an *Error with Rule RuleEncryptedKey)
// when a private key is encrypted and no passphrase was given.
var ErrEncryptedKey = errors.New("give its passphrase with --private-key-passphrase-file")

// ErrIncorrectPassphrase is wrapped (inside an *Error with Rule
// RuleIncorrectPassphrase) when the passphrase does not decrypt the key.
var ErrIncorrectPassphrase = errors.New("the passphrase does not decrypt the private key")

// Error is a parse or encode failure: the file it concerns (set by the
// caller, see WithFile), the rule that was broken, and the cause.
type Error struct {
	File string // file name as the user gave it; may be empty
	Rule string // short phrase naming the rule, e.g. "certificate is not PEM"
	Err  error  // detail; may be nil
}

// Error renders "<file>: <rule>: <detail>", omitting empty parts.
func (e *Error) Error() string {
	parts := make([]string, 0, 3)
	if e.File != "" {
		parts = append(parts, e.File)
	}
	if e.Rule != "" {
		parts = append(parts, e.Rule)
	}
	if e.Err != nil {
		parts = append(parts, e.Err.Error())
	}
	return strings.Join(parts, ": ")
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// WithFile returns err with File set to name when err is (or wraps) an
// *Error whose File is empty; other errors are returned unchanged. The
// *Error is copied, never modified in place.
func WithFile(err error, name string) error {
	var pe *Error
	if !errors.As(err, &pe) || pe.File != "" {
		return err
	}
	if pe == err {
		c := *pe
		c.File = name
		return &c
	}
	// err wraps the *Error: keep the outer error, but name the file first.
	return &Error{File: name, Err: err}
}

func newError(rule string, err error) *Error { return &Error{Rule: rule, Err: err} }

func newErrorf(rule, detail string) *Error { return &Error{Rule: rule, Err: errors.New(detail)} }
