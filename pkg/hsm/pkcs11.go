//go:build pkcs11 && cgo

package hsm

import (
	"crypto"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/ThalesGroup/crypto11"
	"github.com/miekg/pkcs11"

	"github.com/certctl/certctl/pkg/errs"
	"github.com/certctl/certctl/pkg/fsutil"
)

const supported = true

// token is a crypto11 context: one module, one token, logged in.
type token struct {
	ctx   *crypto11.Context
	label string
}

// open loads the module, finds the token and logs in with pin; each
// failure names the setting to fix (exit 6).
func open(set Settings, pin []byte) (closer, error) {
	// The module is loaded into this process: nobody else may be able
	// to replace it.
	if err := fsutil.CheckNotWritableByOthers(set.Module); err != nil {
		var ue *fsutil.UnsafeError
		if errors.As(err, &ue) {
			return nil, errs.VaultErrorf("%s: refusing the PKCS#11 module: %v", SettingModule, err).WithHint("%s", ue.Fix)
		}
		// A missing module: crypto11 says so below.
	}
	if err := checkOneToken(set); err != nil {
		return nil, err
	}
	ctx, err := crypto11.Configure(&crypto11.Config{Path: set.Module, TokenLabel: set.TokenLabel, Pin: string(pin)})
	if err != nil {
		return nil, configureError(set, err)
	}
	return &token{ctx: ctx, label: set.TokenLabel}, nil
}

// checkOneToken refuses a label that more than one token of the module
// carries: crypto11 takes the first, whichever it is — a wrong-PIN attempt
// spent on the other token, a key made in it, the CA keys not found
// (tester: two SoftHSM tokens labelled alike). A module that cannot be
// listed here is left to crypto11, which says why.
func checkOneToken(set Settings) error {
	m := pkcs11.New(set.Module)
	if m == nil {
		return nil
	}
	defer m.Destroy()
	if err := m.Initialize(); err != nil {
		return nil
	}
	defer m.Finalize() //nolint:errcheck
	slots, err := m.GetSlotList(true)
	if err != nil {
		return nil
	}
	var serials []string
	for _, sl := range slots {
		info, err := m.GetTokenInfo(sl)
		if err == nil && strings.TrimRight(info.Label, " \x00") == set.TokenLabel {
			serials = append(serials, strings.TrimRight(info.SerialNumber, " \x00"))
		}
	}
	if len(serials) > 1 {
		return errs.VaultErrorf("%s: %d tokens of the PKCS#11 module are labelled %q (serial numbers %s): certctl cannot tell which holds the CA keys",
			SettingTokenLabel, len(serials), set.TokenLabel, strings.Join(serials, ", ")).
			WithHint("give each token a label of its own (e.g. softhsm2-util --init-token, or the token's own tool), and %s the one holding the keys", SettingTokenLabel)
	}
	return nil
}

// configureError maps crypto11.Configure's failures to the setting at
// fault. Its messages never carry the PIN.
func configureError(set Settings, err error) error {
	var p11 pkcs11.Error
	switch {
	case strings.Contains(err.Error(), "failed to create module context"):
		return &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: fmt.Sprintf("%s: the PKCS#11 module %s cannot be loaded", SettingModule, set.Module), Err: err}
	case strings.Contains(err.Error(), "could not find PKCS#11 token"):
		return errs.VaultErrorf("%s: no token labelled %q is present in the PKCS#11 module %s", SettingTokenLabel, set.TokenLabel, set.Module).
			WithHint("is the token inserted and initialised? (softhsm2-util --show-slots, pkcs11-tool --module %s --list-slots)", set.Module)
	case errors.As(err, &p11):
		switch p11 {
		case pkcs11.CKR_PIN_INCORRECT, pkcs11.CKR_PIN_INVALID, pkcs11.CKR_PIN_LEN_RANGE, pkcs11.CKR_PIN_EXPIRED, pkcs11.CKR_PIN_LOCKED:
			return pinRefused(set, ckrName(p11))
		case pkcs11.CKR_TOKEN_NOT_PRESENT, pkcs11.CKR_DEVICE_REMOVED, pkcs11.CKR_TOKEN_NOT_RECOGNIZED, pkcs11.CKR_SLOT_ID_INVALID:
			return errs.VaultErrorf("%s: the token %q is not present (%s)", SettingTokenLabel, set.TokenLabel, ckrName(p11))
		}
	}
	return &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: fmt.Sprintf("the PKCS#11 token %q (%s) is unavailable", set.TokenLabel, SettingTokenLabel), Err: err}
}

// ckrName is the CKR_ name of a PKCS#11 return value.
func ckrName(e pkcs11.Error) string {
	s := e.Error()
	if i := strings.Index(s, "CKR_"); i >= 0 {
		return s[i:]
	}
	return s
}

func (t *token) Close() error { return t.ctx.Close() }

// unavailable wraps an error of the token during an operation.
func (t *token) unavailable(what string, err error) error {
	return &errs.Error{Exit: errs.ExitVaultUnavailable, Msg: fmt.Sprintf("the PKCS#11 token %q (%s): %s", t.label, SettingTokenLabel, what), Err: err}
}

func (t *token) Generate(alg, label string) (crypto.Signer, []byte, error) {
	if label == "" {
		return nil, nil, errs.Invalidf("a token key needs a label")
	}
	have, err := t.ctx.FindKeyPairs(nil, []byte(label))
	if err != nil {
		return nil, nil, t.unavailable("cannot search for keys", err)
	}
	if len(have) > 0 {
		return nil, nil, errs.Refusedf("the PKCS#11 token %q already holds a key labelled %q", t.label, label)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, nil, err
	}
	pub, err := crypto11.NewAttributeSetWithIDAndLabel(id, []byte(label))
	if err != nil {
		return nil, nil, err
	}
	priv := pub.Copy()
	// A CA key signs and does nothing else; it never leaves the token.
	priv.AddIfNotPresent([]*pkcs11.Attribute{
		pkcs11.NewAttribute(pkcs11.CKA_TOKEN, true),
		pkcs11.NewAttribute(pkcs11.CKA_PRIVATE, true),
		pkcs11.NewAttribute(pkcs11.CKA_SIGN, true),
		pkcs11.NewAttribute(pkcs11.CKA_DECRYPT, false),
		pkcs11.NewAttribute(pkcs11.CKA_UNWRAP, false),
		pkcs11.NewAttribute(pkcs11.CKA_DERIVE, false),
		pkcs11.NewAttribute(pkcs11.CKA_SENSITIVE, true),
		pkcs11.NewAttribute(pkcs11.CKA_EXTRACTABLE, false),
	})
	pub.AddIfNotPresent([]*pkcs11.Attribute{pkcs11.NewAttribute(pkcs11.CKA_ENCRYPT, false)})
	var k crypto11.Signer
	switch alg {
	case "RSA_2048", "RSA_3072", "RSA_4096":
		var bits int
		fmt.Sscanf(alg, "RSA_%d", &bits)
		k, err = t.ctx.GenerateRSAKeyPairWithAttributes(pub, priv, bits)
	case "EC_prime256v1":
		k, err = t.ctx.GenerateECDSAKeyPairWithAttributes(pub, priv, elliptic.P256())
	case "EC_secp384r1":
		k, err = t.ctx.GenerateECDSAKeyPairWithAttributes(pub, priv, elliptic.P384())
	case "EC_secp521r1":
		k, err = t.ctx.GenerateECDSAKeyPairWithAttributes(pub, priv, elliptic.P521())
	default:
		return nil, nil, errs.UsageErrorf("key algorithm %q cannot be generated in a token", alg).WithoutHelpHint()
	}
	if err != nil {
		return nil, nil, t.unavailable("cannot generate a "+alg+" key pair", err)
	}
	return k, id, nil
}

func (t *token) Find(label string, id []byte) (crypto.Signer, []byte, error) {
	if label == "" && len(id) == 0 {
		return nil, nil, errs.Invalidf("name the token key by its label")
	}
	keys, err := t.ctx.FindKeyPairs(id, []byte(label))
	if err != nil {
		return nil, nil, t.unavailable("cannot search for keys", err)
	}
	switch len(keys) {
	case 0:
		return nil, nil, errs.NotFoundf("the PKCS#11 token %q holds no key pair labelled %q", t.label, label)
	case 1:
	default:
		return nil, nil, errs.Invalidf("the PKCS#11 token %q holds %d key pairs labelled %q: give each key its own label", t.label, len(keys), label)
	}
	a, err := t.ctx.GetAttribute(keys[0], crypto11.CkaId)
	if err != nil {
		return nil, nil, t.unavailable("cannot read the key's CKA_ID", err)
	}
	return keys[0], a.Value, nil
}

func (t *token) Delete(label string, id []byte) error {
	keys, err := t.ctx.FindKeyPairs(id, []byte(label))
	if err != nil {
		return t.unavailable("cannot search for keys", err)
	}
	for _, k := range keys {
		if err := k.Delete(); err != nil {
			return t.unavailable("cannot delete a key", err)
		}
	}
	return nil
}
