//go:build pkcs11 && cgo

package hsm

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/internal/testbin"
	"github.com/certctl/certctl/pkg/errs"
)

// softToken makes a SoftHSM2 token in a temporary directory and points
// SOFTHSM2_CONF at it; it skips when SoftHSM2 is absent, unless
// CERTCTL_REQUIRE_INTEROP=1.
func softToken(t *testing.T) (Settings, string) {
	t.Helper()
	tok := testbin.NewSoftToken(t, "unit")
	t.Setenv("SOFTHSM2_CONF", tok.Conf)
	return Settings{Module: tok.Module, TokenLabel: tok.Label, PINFile: tok.PINFile}, tok.PIN
}

func TestTokenKeys(t *testing.T) {
	set, pin := softToken(t)
	o := &Opener{Settings: set}
	defer o.Close()
	tok, err := o.Open()
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte("to be signed"))
	for _, alg := range []string{"RSA_2048", "EC_prime256v1", "EC_secp384r1", "EC_secp521r1"} {
		key, id, err := tok.Generate(alg, "key "+alg)
		if err != nil || len(id) == 0 {
			t.Fatalf("%s: %v", alg, err)
		}
		found, fid, err := tok.Find("key "+alg, nil)
		if err != nil || hex.EncodeToString(fid) != hex.EncodeToString(id) {
			t.Fatalf("find %s: %x %v", alg, fid, err)
		}
		if !found.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(key.Public()) {
			t.Errorf("%s: found another key", alg)
		}
		sig, err := found.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			t.Fatalf("%s sign: %v", alg, err)
		}
		switch pub := found.Public().(type) {
		case *rsa.PublicKey:
			err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
		case *ecdsa.PublicKey:
			if !ecdsa.VerifyASN1(pub, digest[:], sig) {
				err = os.ErrInvalid
			}
		}
		if err != nil {
			t.Errorf("%s: the signature does not verify: %v", alg, err)
		}
	}
	if _, _, err := tok.Generate("EC_prime256v1", "key EC_prime256v1"); errs.ExitCodeOf(err) != errs.ExitRefused {
		t.Errorf("a second key with a label: %v, want exit 5", err)
	}
	if _, _, err := tok.Find("absent", nil); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("absent label: %v, want exit 3", err)
	}
	if err := tok.Delete("key RSA_2048", nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := tok.Find("key RSA_2048", nil); errs.ExitCodeOf(err) != errs.ExitNotFound {
		t.Errorf("deleted key found: %v", err)
	}

	// Wrong PIN and wrong label: exit 6 naming the setting, never the PIN.
	// (The session of o is closed first: PKCS#11 logs in the whole
	// application, so a second login while o is open would not be checked.)
	o.Reset()
	bad := filepath.Join(t.TempDir(), "bad")
	_ = os.WriteFile(bad, []byte("wrong\n"), 0o600)
	for _, c := range []struct {
		set  Settings
		want string
	}{
		{Settings{Module: set.Module, TokenLabel: set.TokenLabel, PINFile: bad}, SettingPINFile},
		{Settings{Module: set.Module, TokenLabel: "other", PINFile: set.PINFile}, SettingTokenLabel},
		{Settings{Module: bad, TokenLabel: set.TokenLabel, PINFile: set.PINFile}, SettingModule},
	} {
		_, err := (&Opener{Settings: c.set}).Open()
		if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), pin) {
			t.Errorf("%+v: %v, want exit 6 naming %s", c.set, err, c.want)
		}
	}

	// The token goes away under an open session: the key fails to sign
	// (exit 6, naming the token), and the next Open reports it missing.
	if tok, err = o.Open(); err != nil {
		t.Fatal(err)
	}
	key, _, err := tok.Find("key EC_prime256v1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("softhsm2-util", "--delete-token", "--token", "unit").CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, err := key.Sign(rand.Reader, digest[:], crypto.SHA256); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), SettingTokenLabel) {
		t.Errorf("sign with a removed token: %v", err)
	}
	if _, err := o.Open(); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), SettingTokenLabel) {
		t.Errorf("open a removed token: %v", err)
	}
}
