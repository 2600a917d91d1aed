package hsm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/certctl/certctl/pkg/errs"
)

func TestReadPIN(t *testing.T) {
	dir := t.TempDir()
	for content, want := range map[string]string{"1234\n": "1234", "s3cret\r\n": "s3cret", "nonl": "nonl", "a b\nsecond line\n": "a b"} {
		p := filepath.Join(dir, "pin")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readPIN(p)
		if err != nil || string(got) != want {
			t.Errorf("%q: %q, %v; want %q", content, got, err, want)
		}
	}
	empty := filepath.Join(dir, "empty")
	_ = os.WriteFile(empty, []byte("\n"), 0o600)
	for _, p := range []string{empty, filepath.Join(dir, "absent")} {
		_, err := readPIN(p)
		if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), SettingPINFile) {
			t.Errorf("%s: %v, want exit 6 naming %s", p, err, SettingPINFile)
		}
	}
}

// TestOpenSettings: each missing setting is named (exit 6); a build
// without PKCS#11 support says so whatever the settings.
func TestOpenSettings(t *testing.T) {
	dir := t.TempDir()
	pin := filepath.Join(dir, "pin")
	_ = os.WriteFile(pin, []byte("1234\n"), 0o600)
	mod := filepath.Join(dir, "module.so")
	_ = os.WriteFile(mod, nil, 0o600)
	for _, c := range []struct {
		set  Settings
		want string
	}{
		{Settings{TokenLabel: "t", PINFile: pin}, SettingModule},
		{Settings{Module: mod, PINFile: pin}, SettingTokenLabel},
		{Settings{Module: mod, TokenLabel: "t"}, SettingPINFile},
		{Settings{Module: filepath.Join(dir, "absent.so"), TokenLabel: "t", PINFile: pin}, SettingModule},
		{Settings{Module: mod, TokenLabel: "t", PINFile: filepath.Join(dir, "absent.pin")}, SettingPINFile},
	} {
		_, err := (&Opener{Settings: c.set}).Open()
		want := c.want
		if !Supported() {
			want = "without PKCS#11 support"
		}
		if errs.ExitCodeOf(err) != errs.ExitVaultUnavailable || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: %v, want exit 6 naming %q", c.set, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "1234") {
			t.Errorf("the PIN is in the error: %v", err)
		}
	}
	var none *Opener
	if _, err := none.Open(); errs.ExitCodeOf(err) != errs.ExitVaultUnavailable {
		t.Errorf("no opener: %v", err)
	}
}

// FuzzReadPIN: any PIN file content gives a PIN of its first line (no line
// end in it) or an error naming the setting without the content.
func FuzzReadPIN(f *testing.F) {
	for _, s := range []string{"1234\n", "", "\n", "a\r\nb", "\x00\xff"} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "pin")
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		pin, err := readPIN(p)
		if err != nil {
			if !strings.Contains(err.Error(), SettingPINFile) {
				t.Fatalf("error without the setting: %v", err)
			}
			return
		}
		if len(pin) == 0 || strings.ContainsAny(string(pin), "\r\n") || !strings.HasPrefix(string(data), string(pin)) {
			t.Fatalf("%q gave PIN %q", data, pin)
		}
	})
}
