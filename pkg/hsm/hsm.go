// Package hsm keeps CA signing keys in a PKCS#11 token (an HSM, a smart
// card, SoftHSM2) instead of sealed in the vault: AWS Private CA's key
// storage. A token key never leaves the token; the vault keeps only its
// label and CKA_ID, beside the CA's certificate that holds its public key.
//
// PKCS#11 modules are C libraries, so the backend (pkcs11.go, on
// github.com/ThalesGroup/crypto11) needs cgo and is built only with the
// build tag `pkcs11`: `CGO_ENABLED=1 go build -tags pkcs11 ./cmd/certctl`.
// Without it (the default CGO_ENABLED=0 build) Open reports that this
// build has no PKCS#11 support (exit 6), and every VAULT key works as
// before.
//
// The token is chosen by three settings, named in every error about them:
// pkcs11.module (the module library), pkcs11.token_label and
// pkcs11.pin_file (the user PIN, read from that file only — never from a
// flag, never stored, printed, logged or put in an error message).
//
//	hsm.go        settings, errors, the Token interface, the process's Opener
//	pkcs11.go     the crypto11 backend (build tag pkcs11, cgo)
//	nopkcs11.go   the stand-in of builds without it
package hsm

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
	"github.com/certctl/certctl/pkg/shellarg"
)

// Key storages of a CA (`ca create|import --key-storage`).
const (
	StorageVault  = "VAULT"
	StoragePKCS11 = "PKCS11"
)

// Storages lists the key storages.
var Storages = []string{StorageVault, StoragePKCS11}

// Setting names, as the user writes them in the config file.
const (
	SettingModule     = "pkcs11.module"
	SettingTokenLabel = "pkcs11.token_label"
	SettingPINFile    = "pkcs11.pin_file"
)

// Settings choose the token.
type Settings struct {
	Module     string // path of the PKCS#11 module library
	TokenLabel string
	PINFile    string // file holding the user PIN
	// Warn, when set, is told that the PIN file can be read by every
	// user (fsutil.OpenToAll): the PIN is read all the same (review: the
	// passphrase files' warning did not reach it).
	Warn func(string)
}

// Token is an open, logged-in session with the token.
type Token interface {
	// Generate makes a key pair of keyAlgorithm (RSA_2048, EC_prime256v1…)
	// inside the token, labelled label, the private key sensitive and not
	// extractable. It returns the private key and its new CKA_ID. A key
	// already labelled label is refused (exit 5).
	Generate(keyAlgorithm, label string) (crypto.Signer, []byte, error)
	// Find returns the private key labelled label (and, when id is not
	// empty, with that CKA_ID) and its CKA_ID. None: exit 3; several
	// with that label and no id: exit 4.
	Find(label string, id []byte) (crypto.Signer, []byte, error)
	// Delete removes the key pair labelled label with CKA_ID id.
	Delete(label string, id []byte) error
}

// Supported reports whether this build can use PKCS#11 tokens.
func Supported() bool { return supported }

// ErrUnsupported is the error of a build without PKCS#11 support.
func ErrUnsupported() *errs.Error {
	return errs.VaultErrorf("this certctl was built without PKCS#11 support: CA keys in a token (--key-storage PKCS11) need a build with cgo and the pkcs11 tag").
		WithHint("use a release's linux cgo build, or build one with: CGO_ENABLED=1 go build -tags pkcs11 ./cmd/certctl")
}

// Opener opens the token of its settings once per process and shares the
// session among every signer (a server signs from many goroutines). After
// a failure of the token (removed, reset) the next Open tries again.
type Opener struct {
	Settings Settings

	mu  sync.Mutex
	tok closer
	// refused is the token's refusal of the PIN file as it was: a
	// hardware token locks its PIN after a few wrong ones, so a server
	// does not log in with that PIN again at each request.
	refused *refusal
	// open opens the token (nil: this build's backend).
	open func(Settings, []byte) (closer, error)
	// warned: Settings.Warn was told of the PIN file once.
	warned bool
}

// refusal is a PIN refusal and the PIN file it was read from.
type refusal struct {
	file os.FileInfo
	err  error
}

// pinRefusedError is the token's answer (CKR_PIN_INCORRECT…) to a login.
type pinRefusedError struct{ ckr string }

func (e *pinRefusedError) Error() string { return e.ckr }

// pinRefused is the error of a token that refused the PIN of set's PIN
// file with the PKCS#11 return value ckr; it names the file, never the PIN.
func pinRefused(set Settings, ckr string) error {
	return (&errs.Error{Exit: errs.ExitVaultUnavailable, Err: &pinRefusedError{ckr},
		Msg: fmt.Sprintf("%s: the token %q refused the PIN in %s", SettingPINFile, set.TokenLabel, set.PINFile)}).
		WithHint("a token locks its PIN after a few wrong ones: correct the file before trying again (a running server tries again once the file changes)")
}

// closer is a Token whose session can be closed.
type closer interface {
	Token
	Close() error
}

// Open returns the open token, opening it (and logging in) on first use.
// Errors name the setting to fix and exit 6.
func (o *Opener) Open() (Token, error) {
	if o == nil {
		return nil, errs.VaultErrorf("no PKCS#11 token is configured (set %s, %s and %s)", SettingModule, SettingTokenLabel, SettingPINFile)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.tok != nil {
		return &guarded{o: o, tok: o.tok}, nil
	}
	openToken := o.open
	if openToken == nil {
		if !supported {
			return nil, ErrUnsupported()
		}
		openToken = open
	}
	set := o.Settings
	switch {
	case set.Module == "":
		return nil, errs.VaultErrorf("%s is not set: give the path of the token's PKCS#11 module library", SettingModule).
			WithHint("certctl config set %s /usr/lib/softhsm/libsofthsm2.so (or CERTCTL_PKCS11_MODULE)", SettingModule)
	case set.TokenLabel == "":
		return nil, errs.VaultErrorf("%s is not set: give the label of the token holding the CA keys", SettingTokenLabel).
			WithHint("certctl config set %s LABEL (or CERTCTL_PKCS11_TOKEN_LABEL)", SettingTokenLabel)
	case set.PINFile == "":
		return nil, errs.VaultErrorf("%s is not set: give the file that holds the token's user PIN", SettingPINFile).
			WithHint("certctl config set %s FILE (or CERTCTL_PKCS11_PIN_FILE)", SettingPINFile)
	}
	if _, err := os.Stat(set.Module); err != nil {
		return nil, &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: fmt.Sprintf("%s: the PKCS#11 module cannot be loaded", SettingModule), Err: err}
	}
	fi, _ := os.Stat(set.PINFile)
	if r := o.refused; r != nil {
		if fi != nil && os.SameFile(fi, r.file) && fi.Size() == r.file.Size() && fi.ModTime().Equal(r.file.ModTime()) {
			return nil, r.err
		}
		o.refused = nil
	}
	pin, err := readPIN(set.PINFile)
	if err != nil {
		return nil, err
	}
	if mode, open := fsutil.OpenToAll(set.PINFile); open && set.Warn != nil && !o.warned {
		o.warned = true // once a process (a server opens the token again)
		set.Warn(fsutil.OpenToAllWarning(SettingPINFile, set.PINFile, shellarg.Quote(set.PINFile), mode))
	}
	tok, err := openToken(set, pin)
	clear(pin)
	if err != nil {
		var pe *pinRefusedError
		if errors.As(err, &pe) && fi != nil {
			o.refused = &refusal{file: fi, err: err}
		}
		return nil, err
	}
	o.tok = tok
	return &guarded{o: o, tok: tok}, nil
}

// Reset closes the token session so that the next Open starts afresh.
func (o *Opener) Reset() { o.reset(nil) }

// reset closes the token session if it is failed (any session when failed
// is nil): a failure of a session that was already replaced leaves the
// new one alone.
func (o *Opener) reset(failed Token) {
	if o == nil {
		return
	}
	o.mu.Lock()
	tok := o.tok
	if tok == nil || (failed != nil && Token(tok) != failed) {
		o.mu.Unlock()
		return
	}
	o.tok = nil
	o.mu.Unlock()
	_ = tok.Close()
}

// Close closes the token session, if open.
func (o *Opener) Close() error {
	o.Reset()
	return nil
}

// readPIN reads the PIN from file: its first line, without the line end.
func readPIN(file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		// The path, never the content.
		return nil, &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: fmt.Sprintf("%s: cannot read the token PIN", SettingPINFile), Err: err}
	}
	pin := data
	if i := bytes.IndexAny(pin, "\r\n"); i >= 0 {
		pin = pin[:i]
	}
	out := bytes.Clone(pin)
	clear(data)
	if len(out) == 0 {
		return nil, errs.VaultErrorf("%s: the file %s holds no PIN", SettingPINFile, file)
	}
	return out, nil
}

// guarded is the Opener's token: a failing operation resets the Opener (the
// token may have been removed) and its keys do the same when they fail to
// sign.
type guarded struct {
	o   *Opener
	tok Token
}

func (g *guarded) fail(err error) error {
	if err == nil {
		return nil
	}
	if errs.ExitCodeOf(err) == errs.ExitVaultUnavailable {
		g.o.reset(g.tok)
	}
	return err
}

func (g *guarded) Generate(alg, label string) (crypto.Signer, []byte, error) {
	k, id, err := g.tok.Generate(alg, label)
	if err != nil {
		return nil, nil, g.fail(err)
	}
	return &signer{Signer: k, o: g.o, tok: g.tok, label: g.o.Settings.TokenLabel}, id, nil
}

func (g *guarded) Find(label string, id []byte) (crypto.Signer, []byte, error) {
	k, kid, err := g.tok.Find(label, id)
	if err != nil {
		return nil, nil, g.fail(err)
	}
	return &signer{Signer: k, o: g.o, tok: g.tok, label: g.o.Settings.TokenLabel}, kid, nil
}

func (g *guarded) Delete(label string, id []byte) error { return g.fail(g.tok.Delete(label, id)) }

// signer is a token key whose signing errors say which token failed (exit
// 6) and reset the Opener.
type signer struct {
	crypto.Signer
	o     *Opener
	tok   Token // the session it is a key of
	label string
}

func (s *signer) Sign(rand io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	sig, err := s.Signer.Sign(rand, digest, opts)
	if err != nil {
		s.o.reset(s.tok)
		return nil, &errs.Error{Exit: errs.ExitVaultUnavailable,
			Msg: fmt.Sprintf("the PKCS#11 token %q (%s) could not sign: is it present?", s.label, SettingTokenLabel), Err: err}
	}
	return sig, nil
}
